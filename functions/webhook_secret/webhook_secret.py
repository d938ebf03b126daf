"""GET /v1/webhook-secret and POST /v1/webhook-secret/rotate: the client's status-callback signing secret."""

import functools
from typing import Any

from textgate import clock
from textgate.http_api import ApiRequest, api_handler, respond, setup_logging
from textgate.logic import idempotency
from textgate.logic.webhook_secrets import ClientSecret, current, rotate
from textgate.schemas.webhooks import WebhookSecret

setup_logging()


def _answer(secret: ClientSecret, headers: dict[str, str] | None = None) -> dict[str, Any]:
    expires = secret.previous_secret_expires_at
    body = WebhookSecret(
        secret=secret.secret,
        created_at=clock.rfc3339(secret.created_at),
        previous_secret_expires_at=clock.rfc3339(expires) if expires is not None else None,
    )
    # Never cached by anything between us and the caller.
    return respond(200, body.model_dump(mode="json"), {"Cache-Control": "no-store", **(headers or {})})


# The answer is a secret: the idempotency table must not keep it, so rotate honours Idempotency-Key itself.
@functools.partial(api_handler, keeps_answers=False)
def handler(request: ApiRequest) -> dict[str, Any]:
    if request.method == "POST":
        key = request.header(idempotency.HEADER)
        if key is not None:
            idempotency.check_key(key)
        secret, replayed = rotate(request.client, key)
        return _answer(secret, {"Idempotent-Replayed": "true"} if replayed else None)
    return _answer(current(request.client))
