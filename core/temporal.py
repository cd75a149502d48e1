"""The one way the product builds its Temporal client: worker, webhooks and CLI must agree on
the data converter, or one side could not read what the other wrote."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from core.codec import EncryptionCodec, parse_key
from core.settings import Settings


def codec_for(settings: Settings) -> EncryptionCodec | None:
    if settings.pii_encryption_key is None:
        return None
    return EncryptionCodec(
        parse_key(settings.pii_encryption_key.get_secret_value()),
        [parse_key(old.get_secret_value()) for old in settings.pii_old_encryption_keys],
    )


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic models in and out, sealed by the encryption codec when a key is set (B3)."""
    codec = codec_for(settings)
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
    )
