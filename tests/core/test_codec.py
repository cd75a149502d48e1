"""The payload encryption codec (B3): sealed, rotatable, tamper-evident, and transparent to
histories recorded before it was switched on."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload

from core.codec import EncryptionCodec, UnknownEncryptionKey, generate_key, parse_key

SECRET = Payload(metadata={"encoding": b"json/plain"}, data=b'{"body": "my address is 1 Elm St"}')


async def test_payloads_are_sealed_and_open_again() -> None:
    codec = EncryptionCodec(parse_key(generate_key()))
    sealed = await codec.encode([SECRET])
    assert sealed[0].metadata["encoding"] == b"binary/encrypted"
    assert b"Elm St" not in sealed[0].SerializeToString()
    assert await codec.decode(sealed) == [SECRET]


async def test_a_rotated_key_still_opens_older_payloads() -> None:
    old, new = parse_key(generate_key()), parse_key(generate_key())
    sealed_before = await EncryptionCodec(old).encode([SECRET])
    after_rotation = EncryptionCodec(new, old_keys=[old])
    assert await after_rotation.decode(sealed_before) == [SECRET]
    with pytest.raises(UnknownEncryptionKey):
        await EncryptionCodec(new).decode(sealed_before)


async def test_tampering_is_detected() -> None:
    codec = EncryptionCodec(parse_key(generate_key()))
    sealed = (await codec.encode([SECRET]))[0]
    flipped = bytearray(sealed.data)
    flipped[-1] ^= 1
    sealed.data = bytes(flipped)
    with pytest.raises(InvalidTag):
        await codec.decode([sealed])


async def test_unencrypted_payloads_pass_through() -> None:
    codec = EncryptionCodec(parse_key(generate_key()))
    assert await codec.decode([SECRET]) == [SECRET]


@pytest.mark.parametrize("text", ["not base64!", "c2hvcnQ="])
def test_keys_must_be_base64_aes256(text: str) -> None:
    with pytest.raises(ValueError, match="PII_ENCRYPTION_KEY"):
        parse_key(text)
