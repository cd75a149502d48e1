"""Encryption of Temporal payloads (B3): message bodies and phone numbers never sit readable in
Temporal's history or visibility store.

Every payload the client or worker sends is sealed with AES-256-GCM under `PII_ENCRYPTION_KEY`;
the key's id travels in the payload metadata, so a new key can be introduced while older
histories still decode (old keys in `PII_OLD_ENCRYPTION_KEYS`). Payloads without the encoding
marker pass through untouched: histories recorded before encryption was switched on still
replay. The Temporal UI reads payloads through the authenticated codec endpoint in `webhooks/`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from core.keys import generate_key, parse_key

ENCODING = b"binary/encrypted"
_NONCE_BYTES = 12


class UnknownEncryptionKey(ValueError):
    """A payload was sealed with a key this process does not hold."""


def key_id(key: bytes) -> bytes:
    """A short, non-secret name for a key (safe to store beside each payload)."""
    return hashlib.sha256(b"smsdesk-key-id" + key).hexdigest()[:16].encode()


class EncryptionCodec(PayloadCodec):
    """Seals with the current key; opens with the current or any older key."""

    def __init__(self, key: bytes, old_keys: Iterable[bytes] = ()) -> None:
        self._current_id = key_id(key)
        self._ciphers = {key_id(k): AESGCM(k) for k in (key, *old_keys)}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self._current_id]
        sealed = []
        for payload in payloads:
            nonce = os.urandom(_NONCE_BYTES)
            data = nonce + cipher.encrypt(nonce, payload.SerializeToString(), None)
            sealed.append(
                Payload(
                    metadata={"encoding": ENCODING, "encryption-key-id": self._current_id},
                    data=data,
                )
            )
        return sealed

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        opened = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                opened.append(payload)  # never encrypted: recorded before encryption was on
                continue
            cipher = self._ciphers.get(payload.metadata.get("encryption-key-id", b""))
            if cipher is None:
                raise UnknownEncryptionKey(
                    "payload sealed with an unknown key: add it to PII_OLD_ENCRYPTION_KEYS"
                )
            nonce, sealed = payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:]
            opened.append(Payload.FromString(cipher.decrypt(nonce, sealed, None)))
        return opened


__all__ = ["EncryptionCodec", "UnknownEncryptionKey", "generate_key", "key_id", "parse_key"]
