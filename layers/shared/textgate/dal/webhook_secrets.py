"""Each client's status-callback signing secret: one item per client, the secrets as KMS ciphertext.

Encrypted under the stack's WebhookSecretKey with the client as encryption context: a ciphertext decrypts only
for the client it was made for, so an item copied or read under another client's name gives that client nothing.
Decrypted values are cached per container by their ciphertext (a rotation writes a new one, so the cache never
hides it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from textgate import aws
from textgate.dal import conditional_failed
from textgate.settings import get_settings

_lock = threading.Lock()
_plaintexts: dict[bytes, bytes] = {}
_MAX_CACHED = 1000


@dataclass(frozen=True)
class StoredSecrets:
    client: str
    current: bytes  # ciphertext
    created_at: float
    previous: bytes | None = None  # ciphertext, signing beside the current one until previous_until
    previous_until: float | None = None
    # The rotations of the last day made under an Idempotency-Key: its hash -> (the secret it made, as ciphertext,
    # and when), so the same key answers the same secret however many rotations came after it.
    rotations: dict[str, tuple[bytes, float]] = field(default_factory=dict)


def _table() -> str:
    return get_settings().webhook_secrets_table


def _context(client: str) -> dict[str, str]:
    return {"textgate:client": client}


def encrypt(client: str, plaintext: bytes) -> bytes:
    answer = aws.kms().encrypt(
        KeyId=get_settings().webhook_secret_key_id, Plaintext=plaintext, EncryptionContext=_context(client)
    )
    return answer["CiphertextBlob"]


def decrypt(client: str, ciphertext: bytes) -> bytes:
    with _lock:
        cached = _plaintexts.get(ciphertext)
    if cached is not None:
        return cached
    plaintext = aws.kms().decrypt(
        CiphertextBlob=ciphertext, KeyId=get_settings().webhook_secret_key_id, EncryptionContext=_context(client)
    )["Plaintext"]
    with _lock:
        if len(_plaintexts) >= _MAX_CACHED:
            _plaintexts.clear()
        _plaintexts[ciphertext] = plaintext
    return plaintext


def clear_cache() -> None:
    with _lock:
        _plaintexts.clear()


def get(client: str) -> StoredSecrets | None:
    item = aws.dynamodb().get_item(TableName=_table(), Key={"client": {"S": client}}, ConsistentRead=True).get("Item")
    return _from_item(item) if item else None


def _from_item(item: dict[str, Any]) -> StoredSecrets:
    return StoredSecrets(
        client=item["client"]["S"],
        current=bytes(item["current"]["B"]),
        created_at=float(item["created_at"]["N"]),
        previous=bytes(item["previous"]["B"]) if "previous" in item else None,
        previous_until=float(item["previous_until"]["N"]) if "previous_until" in item else None,
        rotations={
            key: (bytes(entry["M"]["secret"]["B"]), float(entry["M"]["at"]["N"]))
            for key, entry in item.get("rotations", {}).get("M", {}).items()
        },
    )


def create(client: str, ciphertext: bytes, *, now: float) -> StoredSecrets:
    """The client's first secret; if another request made one first, theirs is kept and answered."""
    try:
        aws.dynamodb().put_item(
            TableName=_table(),
            Item={"client": {"S": client}, "current": {"B": ciphertext}, "created_at": {"N": repr(now)}},
            ConditionExpression="attribute_not_exists(client)",
        )
    except ClientError as exc:
        existing = get(client) if conditional_failed(exc) else None
        if existing is None:
            raise
        return existing
    return StoredSecrets(client=client, current=ciphertext, created_at=now)


def rotate(
    stored: StoredSecrets,
    ciphertext: bytes,
    *,
    now: float,
    previous_until: float,
    rotations: dict[str, tuple[bytes, float]],
) -> StoredSecrets | None:
    """The new secret becomes current and the current one previous, with the rotations to remember; None if
    another rotation got there first."""
    values: dict[str, Any] = {
        ":new": {"B": ciphertext},
        ":old": {"B": stored.current},
        ":now": {"N": repr(now)},
        ":until": {"N": repr(previous_until)},
        ":rotations": {
            "M": {
                key: {"M": {"secret": {"B": secret}, "at": {"N": repr(at)}}} for key, (secret, at) in rotations.items()
            }
        },
    }
    try:
        aws.dynamodb().update_item(
            TableName=_table(),
            Key={"client": {"S": stored.client}},
            UpdateExpression="SET #current = :new, previous = :old, created_at = :now, previous_until = :until, "
            "rotations = :rotations REMOVE rotation_key",
            ConditionExpression="#current = :old",
            ExpressionAttributeNames={"#current": "current"},
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if conditional_failed(exc):
            return None
        raise
    return StoredSecrets(
        client=stored.client,
        current=ciphertext,
        created_at=now,
        previous=stored.current,
        previous_until=previous_until,
        rotations=rotations,
    )
