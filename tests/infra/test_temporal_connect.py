"""How smsdesk reaches Temporal: the SDK's environment configuration (address, namespace, API
key, TLS and mTLS, profiles in a TOML file), from the environment or `.env`, with what the
product's own settings name explicitly winning. (The dev server cannot serve TLS, so these
check the mapping the SDK is handed, not a TLS handshake.)"""

from __future__ import annotations

from pathlib import Path

from temporalio.service import TLSConfig

from core.settings import Settings
from infra.temporal import connect_config

NOTHING = Path("/nonexistent/.env")


def _settings(**given: object) -> Settings:
    return Settings(_env_file=None, **given)  # type: ignore[arg-type]


def test_nothing_configured_means_the_local_dev_server() -> None:
    config = connect_config(_settings(), environ={}, env_file=NOTHING)
    assert config == {"target_host": "localhost:7233", "namespace": "default"}


def test_temporal_cloud_with_an_api_key() -> None:
    environ = {
        "TEMPORAL_ADDRESS": "eu-west-1.aws.api.temporal.io:7233",
        "TEMPORAL_NAMESPACE": "smsdesk-prod.a1b2c",
        "TEMPORAL_API_KEY": "key-123",
    }
    config = connect_config(_settings(), environ=environ, env_file=NOTHING)
    assert config["target_host"] == "eu-west-1.aws.api.temporal.io:7233"
    assert config["namespace"] == "smsdesk-prod.a1b2c"
    assert config["api_key"] == "key-123"
    assert config["tls"] is True  # an API key always travels over TLS


def test_temporal_cloud_with_mtls(tmp_path: Path) -> None:
    (tmp_path / "client.pem").write_text("CERT")
    (tmp_path / "client.key").write_text("KEY")
    environ = {
        "TEMPORAL_ADDRESS": "smsdesk-prod.a1b2c.tmprl.cloud:7233",
        "TEMPORAL_NAMESPACE": "smsdesk-prod.a1b2c",
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(tmp_path / "client.pem"),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(tmp_path / "client.key"),
    }
    tls = connect_config(_settings(), environ=environ, env_file=NOTHING)["tls"]
    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key) == (b"CERT", b"KEY")


def test_a_self_hosted_cluster_with_its_own_ca(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("CA")
    environ = {
        "TEMPORAL_ADDRESS": "temporal.internal:7233",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(tmp_path / "ca.pem"),
        "TEMPORAL_TLS_SERVER_NAME": "temporal.internal",
    }
    tls = connect_config(_settings(), environ=environ, env_file=NOTHING)["tls"]
    assert isinstance(tls, TLSConfig)
    assert (tls.server_root_ca_cert, tls.domain) == (b"CA", "temporal.internal")


def test_a_profile_from_a_toml_file(tmp_path: Path) -> None:
    profiles = tmp_path / "temporal.toml"
    profiles.write_text(
        '[profile.prod]\naddress = "prod.example:7233"\nnamespace = "smsdesk"\n'
        'api_key = "from-file"\n'
    )
    environ = {"TEMPORAL_CONFIG_FILE": str(profiles), "TEMPORAL_PROFILE": "prod"}
    config = connect_config(_settings(), environ=environ, env_file=NOTHING)
    assert (config["target_host"], config["namespace"]) == ("prod.example:7233", "smsdesk")
    assert config["api_key"] == "from-file"


def test_env_file_values_count_and_the_environment_wins_over_them(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("TEMPORAL_API_KEY=from-dotenv\nTEMPORAL_NAMESPACE=dotenv-ns\n")
    config = connect_config(
        _settings(), environ={"TEMPORAL_NAMESPACE": "env-ns"}, env_file=env_file
    )
    assert config["api_key"] == "from-dotenv" and config["namespace"] == "env-ns"


def test_an_address_the_settings_name_explicitly_wins() -> None:
    config = connect_config(
        _settings(temporal_address="127.0.0.1:7999"),
        environ={"TEMPORAL_ADDRESS": "elsewhere:7233"},
        env_file=NOTHING,
    )
    assert config["target_host"] == "127.0.0.1:7999"
