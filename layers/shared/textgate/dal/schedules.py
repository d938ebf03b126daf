"""EventBridge Scheduler: one one-time schedule per scheduled operation, named after it.

At its time the schedule puts the operation's message (the body delivery reads) on its provider's queue, then
deletes itself (ActionAfterCompletion DELETE). It runs with a role that may only send to the delivery queues;
what it cannot deliver after its retries reaches its own dead-letter queue, which raises an alarm.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from textgate import aws
from textgate.dal import queue
from textgate.registry import Provider
from textgate.settings import get_settings

# Scheduler retries a failed delivery to SQS for up to a day before giving it to the dead-letter queue.
_MAX_EVENT_AGE_SECONDS = 86_400
_MAX_RETRIES = 185


def expression(send_at: float) -> str:
    """`at(...)` in UTC, to the second: Scheduler fires within the minute that holds it."""
    return "at(" + datetime.fromtimestamp(send_at, UTC).strftime("%Y-%m-%dT%H:%M:%S") + ")"


def queue_arn(provider: Provider) -> str:
    """The ARN of a delivery queue, from its URL (`…/{account}/{name}`) and the functions' region."""
    path = urlparse(queue.queue_url(provider)).path.strip("/").split("/")
    account, name = path[-2], path[-1]
    return f"arn:aws:sqs:{aws.region()}:{account}:{name}"


def create(operation_id: str, provider: Provider, send_at: float) -> None:
    """Schedule the operation's message. A schedule that already exists (a retried request) is the same one."""
    settings = get_settings()
    try:
        aws.scheduler().create_schedule(
            Name=operation_id,
            GroupName=settings.schedule_group_name,
            ScheduleExpression=expression(send_at),
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            ClientToken=operation_id,
            Target={
                "Arn": queue_arn(provider),
                "RoleArn": settings.scheduler_role_arn,
                "Input": queue.message_body(operation_id),
                "DeadLetterConfig": {"Arn": settings.scheduler_dead_letter_queue_arn},
                "RetryPolicy": {
                    "MaximumEventAgeInSeconds": _MAX_EVENT_AGE_SECONDS,
                    "MaximumRetryAttempts": _MAX_RETRIES,
                },
            },
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConflictException":
            raise


def delete(operation_id: str) -> None:
    """Remove the operation's schedule; one that already fired (and deleted itself) is fine."""
    try:
        aws.scheduler().delete_schedule(Name=operation_id, GroupName=get_settings().schedule_group_name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
