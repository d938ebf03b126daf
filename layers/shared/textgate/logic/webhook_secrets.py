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


# Rotations remembered under their Idempotency-Key: those of the last day (a key's life), at most this many.
REMEMBERED_ROTATIONS = 50


def rotate(client: str, idempotency_key: str | None = None) -> tuple[ClientSecret, bool]:
    """(the new secret, whether this was a replay): the same Idempotency-Key rotates once and, for a day, answers
    what that rotation answered, even after later rotations. What it made is kept only in this table, encrypted."""
    key = _rotation_key(client, idempotency_key) if idempotency_key is not None else None
    for _ in range(3):
        stored = _stored(client)
        now = clock.now()
        remembered = {
            name: (secret, at) for name, (secret, at) in stored.rotations.items() if at > now - PREVIOUS_VALID_SECONDS
        }
        if key is not None and key in remembered:
            secret, at = remembered[key]
            return _made(client, secret, at), True
        new = store.encrypt(client, secrets.token_bytes(SECRET_BYTES))
        if key is not None:
            remembered[key] = (new, now)
            newest = sorted(remembered.items(), key=lambda entry: entry[1][1])[-REMEMBERED_ROTATIONS:]
            remembered = dict(newest)
        until = now + PREVIOUS_VALID_SECONDS
        rotated = store.rotate(stored, new, now=now, previous_until=until, rotations=remembered)
        if rotated is not None:
            return _shown(rotated, now), False
    raise ServiceUnavailable("the secret is being rotated by another request; try again")


def _made(client: str, ciphertext: bytes, at: float) -> ClientSecret:
    """The answer a rotation made at `at`, as it was given then."""
    text = secret_text(store.decrypt(client, ciphertext))
    log.register_secret_values([text, text.removeprefix(PREFIX)])
    return ClientSecret(secret=text, created_at=at, previous_secret_expires_at=at + PREVIOUS_VALID_SECONDS)


def signing_keys(client: str) -> list[bytes]:
    """The keys that sign a callback now: the current secret, and the previous one during its day of overlap."""
    stored = _stored(client)
    keys = [store.decrypt(client, stored.current)]
    if stored.previous is not None and stored.previous_until is not None and stored.previous_until > clock.now():
        keys.append(store.decrypt(client, stored.previous))
    return keys
