"""AWS clients built once per container and reused (their connection pools with them).

They come from botocore directly: boto3's own import (with s3transfer) would add ~35 ms to every cold start
for nothing we use. Locally, AWS_ENDPOINT_URL points every client at the local AWS endpoint.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, cast

import botocore.session
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"max_attempts": 3, "mode": "standard"},
    max_pool_connections=50,
)


@lru_cache(maxsize=1)
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def region() -> str:
    """The functions' region (AWS_REGION in Lambda and in the local stack)."""
    name: str | None = _session().get_config_variable("region")
    return name or "us-east-1"


@lru_cache(maxsize=1)
def dynamodb() -> DynamoDBClient:
    return cast("DynamoDBClient", _session().create_client("dynamodb", config=_CONFIG))


@lru_cache(maxsize=1)
def sqs() -> SQSClient:
    return cast("SQSClient", _session().create_client("sqs", config=_CONFIG))


@lru_cache(maxsize=1)
def events() -> EventBridgeClient:
    return cast("EventBridgeClient", _session().create_client("events", config=_CONFIG))


@lru_cache(maxsize=1)
def secretsmanager() -> SecretsManagerClient:
    return cast("SecretsManagerClient", _session().create_client("secretsmanager", config=_CONFIG))


@lru_cache(maxsize=1)
def scheduler() -> EventBridgeSchedulerClient:
    return cast("EventBridgeSchedulerClient", _session().create_client("scheduler", config=_CONFIG))


def reset() -> None:
    """Forget every client (tests that point AWS somewhere else between cases)."""
    for factory in (_session, dynamodb, sqs, events, secretsmanager, scheduler):
        factory.cache_clear()
