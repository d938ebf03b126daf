"""Each client's status-callback signing secret: made on first use, shown only to its client, rotated with a
day's overlap (both secrets sign while the receiver moves to the new one)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

from textgate import clock, log
from textgate.dal import webhook_secrets as store
from textgate.errors import ServiceUnavailable

PREFIX = "whsec_"
SECRET_BYTES = 32
PREVIOUS_VALID_SECONDS = 86_400.0


@dataclass(frozen=True)
class ClientSecret:
    secret: str
    created_at: float
    previous_secret_expires_at: float | None


def secret_text(raw: bytes) -> str:
    return PREFIX + base64.b64encode(raw).decode("ascii")


def _stored(client: str) -> store.StoredSecrets:
    found = store.get(client)
    if found is not None:
        return found
    return store.create(client, store.encrypt(client, secrets.token_bytes(SECRET_BYTES)), now=clock.now())


def _shown(stored: store.StoredSecrets, now: float) -> ClientSecret:
    text = secret_text(store.decrypt(stored.client, stored.current))
    log.register_secret_values([text, text.removeprefix(PREFIX)])  # whatever field it lands in, no log shows it
    overlap = stored.previous_until if stored.previous_until is not None and stored.previous_until > now else None
    return ClientSecret(secret=text, created_at=stored.created_at, previous_secret_expires_at=overlap)


def current(client: str) -> ClientSecret:
    return _shown(_stored(client), clock.now())


def _rotation_key(client: str, idempotency_key: str) -> str:
    return hashlib.sha256(f"{client}\n{idempotency_key}".encode()).hexdigest()


def rotate(client: str, idempotency_key: str | None = None) -> tuple[ClientSecret, bool]:
    """(the new secret, whether this was a replay): the same Idempotency-Key rotates once and then answers the
    secret it made, without keeping the secret anywhere but in its own table."""
    key = _rotation_key(client, idempotency_key) if idempotency_key is not None else None
    for _ in range(3):
        stored = _stored(client)
        if key is not None and stored.rotation_key == key:
            return _shown(stored, clock.now()), True
        now = clock.now()
        new = store.encrypt(client, secrets.token_bytes(SECRET_BYTES))
        rotated = store.rotate(stored, new, now=now, previous_until=now + PREVIOUS_VALID_SECONDS, rotation_key=key)
        if rotated is not None:
            return _shown(rotated, now), False
    raise ServiceUnavailable("the secret is being rotated by another request; try again")


def signing_keys(client: str) -> list[bytes]:
    """The keys that sign a callback now: the current secret, and the previous one during its day of overlap."""
    stored = _stored(client)
    keys = [store.decrypt(client, stored.current)]
    if stored.previous is not None and stored.previous_until is not None and stored.previous_until > clock.now():
        keys.append(store.decrypt(client, stored.previous))
    return keys
