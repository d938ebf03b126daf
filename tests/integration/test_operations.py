"""Every operation of the registry, started from a document and delivered by its provider's function alone."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from textgate import aws, openapi
from textgate.dal import operations as records
from textgate.delivery import DeliveryConfig, deliver_message
from textgate.logic import operations, triggers
from textgate.models import Status
from textgate.registry import OperationName, Provider

# What HTTP reads from the path, and a document carries as a field.
PATH_FIELDS: dict[OperationName, dict[str, Any]] = {OperationName.INTERACT_SEND_CAMPAIGN_SMS: {"campaign_id": "c-7"}}


def queued(provider: Provider) -> list[str]:
    url = os.environ[f"{provider.upper()}_QUEUE_URL"]
    ids = []
    while messages := aws.sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            ids.append(json.loads(message["Body"])["operation_id"])
            aws.sqs().delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return ids


def example(operation: OperationName) -> dict[str, Any]:
    [route] = [route for route in openapi.ROUTES if route.operation_id == operation]
    assert route.example is not None
    return {**route.example, **PATH_FIELDS.get(operation, {})}


@pytest.fixture
def sender(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OGANGI_FROM", "19893653744")  # the examples leave the sender to the deployment's default


@pytest.mark.parametrize("operation", list(OperationName), ids=str)
def test_every_operation_starts_from_its_documented_example_onto_its_providers_queue(
    sender: None, operation: OperationName
) -> None:
    provider = Provider(operation.partition(".")[0])
    queued(provider)
    started = operations.accept_document("client-a", operation, example(operation))
    assert (started.operation, started.provider, started.status) == (operation, provider, Status.QUEUED)
    assert queued(provider) == [started.id]
    stored = records.get(started.id)
    assert stored is not None and stored.operation is operation  # read back from its string, as the enum


def test_an_event_naming_no_operation_is_rejected_and_queues_nothing(aws_env: dict[str, str]) -> None:
    before = {provider: queued(provider) for provider in Provider}
    answer = triggers.handle(
        {"id": "evt-9", "source": "billing", "detail-type": "ogangi.send_mms", "detail": {"to": "+13056708084"}}
    )
    assert answer["status"] == "rejected" and answer["problem"]["errors"][0]["field"] == "detail-type"
    assert all(queued(provider) == [] for provider in before)


def test_an_interact_event_takes_its_campaign_from_the_detail(aws_env: dict[str, str]) -> None:
    queued(Provider.INTERACT)
    detail = {"campaign_id": "spring-sale", "caller_id": "+972544696388", "jp_token": "t"}
    answer = triggers.handle(
        {"id": "evt-10", "source": "crm", "detail-type": "interact.send_campaign_sms", "detail": detail}
    )
    assert answer["status"] == "accepted"
    stored = records.get(answer["operation"]["id"])
    assert stored is not None and stored.payload["campaign_id"] == "spring-sale"
    # Without it, one 422 names it beside any bad field of the body.
    refused = triggers.handle(
        {"id": "evt-11", "source": "crm", "detail-type": "interact.send_campaign_sms", "detail": {"caller_id": "1"}}
    )
    assert refused["status"] == "rejected"
    assert {"campaign_id", "caller_id", "jp_token"} <= {error["field"] for error in refused["problem"]["errors"]}


def test_an_operation_on_another_providers_queue_is_not_sent_by_its_function(sender: None) -> None:
    queued(Provider.OGANGI)
    started = operations.accept_document(
        "client-a", OperationName.OGANGI_SEND_SMS, example(OperationName.OGANGI_SEND_SMS)
    )
    [message] = queued(Provider.OGANGI)
    # The Interact function has no Ogangi executor: nothing is sent, and the attempt is given back to retry.
    assert deliver_message(json.dumps({"operation_id": message}), DeliveryConfig.of(Provider.INTERACT))
    stored = records.get(started.id)
    assert stored is not None and stored.status is Status.RETRYING
    assert stored.error is not None and stored.error.code == "not_attempted"
