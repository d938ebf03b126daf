"""Standard Webhooks signatures (https://www.standardwebhooks.com): a few lines of hmac, so the layer carries no
library for them. Tests verify every signature with the reference verifier (`standardwebhooks`), never with this.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def signature(keys: Iterable[bytes], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,` + Base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, one per key,
    separated by spaces (the current secret first, then the previous one while it is still valid)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii") for key in keys
    )
