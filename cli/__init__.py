"""The commands of `starter.py`, one module each. A module exposes `register(commands)`, which
adds its sub-parser(s) with `set_defaults(run=<async function(settings, args) -> int>)`."""
