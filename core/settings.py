"""One settings object for the whole product, read from the environment or `.env`.

Secrets have no defaults; an empty variable counts as unset. Every base URL can be overridden so
that the same code talks to the real services, regional endpoints or the offline `sandbox/`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.keys import parse_key
from core.phone import require_conversation_number

CommaList = Annotated[list[str], NoDecode]
_BRAND_ID = re.compile(r"[1-9][0-9]*")


def parse_brand_ids(value: str) -> frozenset[int] | None:
    """`ZENDESK_METRICS_BRANDS` (M2): "all" gives None (every brand), else the listed brand ids.

    Raises:
        ValueError: naming the item that is not a brand id, so set-up can say what is wrong.
    """
    if value.strip().lower() == "all":
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise ValueError("ZENDESK_METRICS_BRANDS is empty: use 'all' or a comma list of brand ids")
    for item in items:
        if not _BRAND_ID.fullmatch(item):
            raise ValueError(
                f"ZENDESK_METRICS_BRANDS: {item!r} is not a Zendesk brand id; use 'all' or a "
                "comma list of the numeric ids that GET /api/v2/brands lists"
            )
    return frozenset(int(item) for item in items)


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of smsdesk; field `foo_bar` is read from env var `FOO_BAR`."""

    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    # Temporal
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "smsdesk"
    #: Where operators open a workflow (the dev server's UI; docker-compose.yml serves it on
    #: :8080). Only used to print links.
    temporal_ui_url: str = "http://localhost:8233"
    #: Zendesk activities run on their own queue so one server-side rate limit covers the account.
    zendesk_task_queue: str = "smsdesk-zendesk"
    #: Workflow tasks one worker process runs at once. Python runs them one at a time under the
    #: GIL, so more slots add no speed, only wait: with the SDK's 100, a restarted worker
    #: rebuilding its cache started every task at once, each outlasted the 10 s workflow task
    #: timeout, and the retries (cache gone, full replay) did the same: no conversation moved.
    worker_workflow_task_slots: int = Field(default=10, ge=2)

    # Product database and public address (used to verify Twilio signatures and build callbacks)
    database_url: str = "sqlite:///.smsdesk/smsdesk.db"
    public_base_url: str = "http://127.0.0.1:8000"

    # Zendesk
    zendesk_url: str = "https://acme.zendesk.com"
    zendesk_oauth_token: SecretStr | None = None
    #: An OAuth client (Admin Center > APIs > OAuth clients): with its secret alone smsdesk uses
    #: the client-credentials grant; with a refresh token too, the refresh-token grant.
    zendesk_oauth_client_id: str | None = None
    zendesk_oauth_client_secret: SecretStr | None = None
    zendesk_oauth_refresh_token: SecretStr | None = None
    zendesk_oauth_scope: str = "read write"
    #: Zendesk rotates refresh tokens (each works once): the current one is kept in this file.
    zendesk_oauth_token_file: str = ".smsdesk/zendesk-oauth.json"
    zendesk_email: str | None = None
    zendesk_api_token: SecretStr | None = None
    zendesk_webhook_secret: SecretStr | None = None
    zendesk_sms_brand_id: int | None = None
    zendesk_metrics_brands: str = "all"
    #: Zendesk's budgets (B14), held across every worker process: all requests (the plan's
    #: limit, Enterprise 700), and smsdesk's share of Update Ticket's own 100 a minute per
    #: account, the rest left to agents' saves.
    zendesk_requests_per_minute: int = Field(default=700, ge=1)
    zendesk_update_requests_per_minute: int = Field(default=70, ge=1)

    # SMS provider (Twilio-compatible)
    twilio_base_url: str = "https://api.twilio.com"
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    sms_numbers: CommaList = Field(default_factory=list)

    # Klaviyo
    klaviyo_base_url: str = "https://a.klaviyo.com"
    klaviyo_api_key: SecretStr | None = None
    klaviyo_revision: str = "2026-07-15"
    # Profiles (consent, email, name) are kept this long per worker: Klaviyo allows 700 profile
    # reads a minute, a busy account receives more texts than that. Consent changed by an SMS
    # keyword takes effect at once (the database wins); a change made in Klaviyo, within this.
    klaviyo_profile_cache_seconds: int = Field(default=300, ge=0)

    # Switches chosen at set-up (M2, M3)
    metrics_sync_enabled: bool = True
    sms_sync_enabled: bool = True

    # Conversation behaviour
    sms_sync_enabled_at: datetime | None = None
    auto_responder_text: str = (
        "Thanks for your message. We can only reply to subscribers: text JOIN to subscribe."
    )
    subscribe_keywords: CommaList = Field(default_factory=lambda: ["JOIN"])
    automation_keywords: CommaList = Field(default_factory=list)
    outbound_webhook_secret: SecretStr | None = None
    auto_close_after: timedelta = timedelta(hours=24)
    attribution_window: timedelta = timedelta(hours=24)
    inactivity_close_after: timedelta | None = None
    #: Continue a conversation as new after this many events even before the server suggests
    #: it (bounds history size per run; tests lower it to exercise continue-as-new).
    continue_as_new_after_events: int | None = Field(default=None, ge=1)

    # Privacy: with PII protection on, workflow ids and search attributes hold keyed hashes.
    pii_protection: bool = False
    pii_hash_key: SecretStr | None = None
    #: Set it and every Temporal payload (bodies, numbers) is encrypted (B3): base64, 32 bytes.
    pii_encryption_key: SecretStr | None = None
    #: Keys retired from PII_ENCRYPTION_KEY that older histories were sealed with.
    pii_old_encryption_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    #: Bearer token the Temporal UI (or an operator) presents to the codec endpoint.
    codec_auth_token: SecretStr | None = None
    codec_cors_origins: CommaList = Field(
        default_factory=lambda: ["http://127.0.0.1:8233", "http://localhost:8233"]
    )

    # Agents' pictures texted as MMS (B11): the key that signs their media URLs (unset: none
    # are sent, and the ticket is told why), and how long a signed URL works. The provider
    # fetches a picture as the text is sent; the URL is signed then, not when the reply came.
    media_url_secret: SecretStr | None = None
    media_url_ttl_seconds: int = Field(default=3600, ge=60)

    # Durable intake (B9): how long a webhook waits for Temporal before it journals its event
    # and answers (Temporal may still take it: the journaled copy is then removed); how long
    # Temporal gets before it is thought away (Twilio gives up after 15 s and never re-sends);
    # and how long after a failure the webhooks journal straight away rather than making each
    # caller wait again.
    intake_wait_seconds: float = Field(default=0.1, gt=0, le=10)
    intake_signal_timeout_seconds: float = Field(default=1.0, gt=0, le=10)
    intake_suspect_seconds: float = Field(default=5.0, ge=0)
    # Events each webhook process hands Temporal at a time; one more is journaled at once (a
    # reply storm answers fast, and Temporal is fed no faster than it takes them).
    intake_max_in_flight: int = Field(default=32, ge=1)
    # Reconciler (B1, B10): the `smsdesk-reconcile` schedule's period (ISO 8601, e.g. PT5M).
    reconcile_interval: timedelta = Field(default=timedelta(minutes=5), gt=timedelta(0))
    #: Texts younger than this are left to their webhook, which may still be on its way.
    reconcile_settle_seconds: float = Field(default=15.0, ge=0)

    # Observability: the worker serves its Prometheus counters on this port (the webhook server
    # at its own /metrics); the Temporal SDK's metrics on this address when set.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    temporal_sdk_metrics_bind_address: str | None = None
    # Tracing: set the OTLP/HTTP collector's base URL and every Temporal call, workflow and
    # activity becomes a span (temporalio.contrib.opentelemetry), named after OTEL_SERVICE_NAME.
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = "smsdesk"

    http_timeout_seconds: float = 10.0
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    _split = field_validator(
        "sms_numbers",
        "subscribe_keywords",
        "automation_keywords",
        "pii_old_encryption_keys",
        "codec_cors_origins",
        mode="before",
    )(_split_commas)

    @field_validator("pii_encryption_key")
    @classmethod
    def _encryption_key_is_aes256(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            parse_key(key.get_secret_value())  # refused at start, not at the first text
        return key

    @field_validator("sms_numbers")
    @classmethod
    def _numbers_can_receive_texts(cls, numbers: list[str]) -> list[str]:
        # M6: a branded/alphanumeric sender id cannot receive replies, so it is refused here.
        return [require_conversation_number(number) for number in numbers]

    @field_validator("zendesk_metrics_brands")
    @classmethod
    def _metrics_brands_parse(cls, value: str) -> str:
        # Junk is refused when the process starts, not when the first ticket event arrives.
        parse_brand_ids(value)
        return value

    @model_validator(mode="after")
    def _pii_key_when_protected(self) -> Settings:
        if self.pii_protection and self.pii_hash_key is None:
            raise ValueError("PII_PROTECTION=on needs PII_HASH_KEY (a long random secret)")
        return self

    @model_validator(mode="after")
    def _sms_sync_needs_metrics_sync(self) -> Settings:
        # M3: "Sync SMS conversations" is only allowed while ticket sync is on.
        if self.sms_sync_enabled and not self.metrics_sync_enabled:
            raise ValueError(
                "SMS_SYNC_ENABLED=true needs METRICS_SYNC_ENABLED=true: SMS conversations can "
                "only be synced while ticket sync is on; turn SMS sync off or ticket sync on"
            )
        return self

    @model_validator(mode="after")
    def _oauth_client_complete(self) -> Settings:
        has_id = self.zendesk_oauth_client_id is not None
        if (self.zendesk_oauth_client_secret is not None) != has_id:
            raise ValueError(
                "ZENDESK_OAUTH_CLIENT_ID and ZENDESK_OAUTH_CLIENT_SECRET go together: set both"
            )
        if self.zendesk_oauth_refresh_token is not None and not has_id:
            raise ValueError(
                "ZENDESK_OAUTH_REFRESH_TOKEN needs ZENDESK_OAUTH_CLIENT_ID and "
                "ZENDESK_OAUTH_CLIENT_SECRET (the client it was issued to)"
            )
        return self

    @property
    def zendesk_oauth_client(self) -> bool:
        """Whether tokens come from an OAuth client (client credentials or refresh token)."""
        return self.zendesk_oauth_client_id is not None

    @property
    def zendesk_configured(self) -> bool:
        return (
            self.zendesk_oauth_client
            or self.zendesk_oauth_token is not None
            or (self.zendesk_email is not None and self.zendesk_api_token is not None)
        )

    @property
    def metrics_brand_ids(self) -> frozenset[int] | None:
        """The brands whose tickets become Klaviyo events; None means every brand (M2)."""
        return parse_brand_ids(self.zendesk_metrics_brands)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
