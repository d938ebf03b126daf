"""The per-provider delivery queues. A message names an operation; the record holds everything else."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from textgate import aws, clock, log
from textgate.dal import UNPROCESSED_ATTEMPTS, backoff
from textgate.registry import Provider
from textgate.settings import get_settings

MAX_DELAY_SECONDS = 900  # SQS's ceiling for DelaySeconds
SEND_BATCH_SIZE = 10  # SendMessageBatch's most entries per call
logger = log.get_logger(__name__)


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


def enqueue_many(provider: Provider, operation_ids: Sequence[str]) -> list[str]:
    """Queue a message for each operation with SendMessageBatch, 10 to a call; the ids that could not be queued.

    Entries SQS failed on its side are sent again with backoff; entries it refused as the sender's fault, and
    whole calls that keep failing, are reported so the caller can settle those operations (never raised: the
    messages already sent are real sends)."""
    failed: list[str] = []
    unique = list(dict.fromkeys(operation_ids))
    for start in range(0, len(unique), SEND_BATCH_SIZE):
        failed.extend(_send_batch(queue_url(provider), unique[start : start + SEND_BATCH_SIZE]))
    return failed


def _send_batch(url: str, operation_ids: list[str]) -> list[str]:
    # Entry ids are the position in this chunk: SQS allows only letters, digits, '-' and '_' in them.
    pending = {str(position): value for position, value in enumerate(operation_ids)}
    refused: list[str] = []
    for attempt in range(UNPROCESSED_ATTEMPTS):
        if attempt:
            clock.sleep(backoff(attempt))
        entries: list[Any] = [{"Id": entry, "MessageBody": message_body(value)} for entry, value in pending.items()]
        try:
            answer = aws.sqs().send_message_batch(QueueUrl=url, Entries=entries)
        except ClientError:
            logger.exception("could not send a batch of queue messages")
            continue
        retry: dict[str, str] = {}
        for failure in answer.get("Failed", []):
            value = pending[failure["Id"]]
            if failure.get("SenderFault"):
                logger.error("the queue refused a message: %s", failure.get("Code"))
                refused.append(value)
            else:
                retry[failure["Id"]] = value
        pending = retry
        if not pending:
            break
    return refused + list(pending.values())


def operation_id_of(body: str) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get("operation_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None
