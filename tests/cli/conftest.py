from tests.e2e.conftest import stack  # noqa: F401  (the whole stack on loopback)
