"""The per-provider delivery queues. A message names an operation; the record holds everything else."""

from __future__ import annotations

import json
import math

from textgate import aws
from textgate.registry import Provider
from textgate.settings import get_settings

MAX_DELAY_SECONDS = 900  # SQS's ceiling for DelaySeconds


def queue_url(provider: Provider) -> str:
    url: str = getattr(get_settings(), f"{provider}_queue_url")
    return url


def enqueue(provider: Provider, operation_id: str, *, delay_seconds: float = 0) -> None:
    # Rounded up: a message must never arrive before the time it waits for.
    delay = max(0, min(MAX_DELAY_SECONDS, math.ceil(delay_seconds)))
    aws.sqs().send_message(
        QueueUrl=queue_url(provider),
        MessageBody=message_body(operation_id),
        DelaySeconds=delay,
    )


def message_body(operation_id: str) -> str:
    """What delivery reads: a schedule's target puts the same body on the queue."""
    return json.dumps({"operation_id": operation_id})


def operation_id_of(body: str) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get("operation_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None
