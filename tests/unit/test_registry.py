"""The operation registry: every row names what exists, importing it costs nothing, and its readers agree with it."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from textgate import registry
from textgate.models import OperationView
from textgate.payloads import Payload
from textgate.registry import BATCHABLE, OPERATIONS, SCHEDULABLE, OperationName, OperationSpec, Provider

LAYER = Path(__file__).resolve().parents[2] / "layers" / "shared"
ROWS = list(OPERATIONS.values())


def test_every_operation_has_one_row_under_its_own_name() -> None:
    assert list(OPERATIONS) == list(OperationName)
    assert all(name is row.name for name, row in OPERATIONS.items())
    # The name says whose it is: <provider>.<operation>.
    assert all(row.name.partition(".")[0] == row.provider for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_a_row_names_models_and_functions_that_exist(row: OperationSpec) -> None:
    assert issubclass(registry.load(row.request), BaseModel)
    payload = registry.load(row.payload)
    assert issubclass(payload, Payload)
    accept = list(inspect.signature(registry.load(row.accept)).parameters)
    # Started from a document (an event, a batch) with the request alone, or by a function that reads the rest.
    assert accept == ["client", "request"] if row.accept_document is None else accept[0] == "client"
    if row.accept_document is not None:
        assert list(inspect.signature(registry.load(row.accept_document)).parameters) == ["client", "document"]
    assert list(inspect.signature(registry.load(row.execute)).parameters) == ["operation"]
    assert row.protect is None or callable(registry.load(row.protect))
    # Delivery of one provider loads only its own executors.
    assert row.execute.startswith(f"textgate.executors.{row.provider}:")


@pytest.mark.parametrize("row", [row for row in ROWS if row.handset_field], ids=str)
def test_the_handset_field_is_a_field_of_the_request_and_of_the_payload(row: OperationSpec) -> None:
    request, payload = registry.load(row.request), registry.load(row.payload)
    assert row.handset_field in request.model_fields
    assert row.handset_field in payload.model_fields


def test_which_operations_may_be_batched_or_scheduled() -> None:
    assert {"ogangi.send_sms", "interact.send_campaign_sms", "protexting.opt_in"} == BATCHABLE
    # A PIN is wanted now (it expires 10 minutes after it is sent): every other send may wait for its time.
    assert set(OperationName) - {"ogangi.send_pin"} == SCHEDULABLE


def test_parse_knows_the_operations_and_nothing_else() -> None:
    assert registry.parse("ogangi.send_sms") is OperationName.OGANGI_SEND_SMS
    assert registry.parse("ogangi.send_mms") is None
    assert registry.parse("") is None


def test_importing_the_registry_imports_no_model_logic_or_provider() -> None:
    # Every function may import it: its cold start must not pay for the operations it does not run.
    code = "import sys, json, textgate.registry; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(LAYER)}
    )
    loaded = json.loads(out.stdout)
    assert [name for name in loaded if name.startswith("textgate")] == ["textgate", "textgate.registry"]
    assert not [name for name in loaded if name.split(".")[0] in ("pydantic", "boto3", "botocore", "requests")]


def test_the_openapi_document_has_one_route_per_operation() -> None:
    from textgate import openapi

    # The routes that start one operation (a batch's 202 answers the batch, not an operation).
    started = [route for route in openapi.ROUTES if route.status == 202 and route.response is OperationView]
    assert sorted(route.operation_id for route in started) == sorted(OperationName)
    for route in started:
        row = registry.spec(OperationName(route.operation_id))
        assert (route.method, route.tag, route.request) == ("post", row.provider, registry.load(row.request))
    document = openapi.document_for("rest")
    view = document["components"]["schemas"]["OperationView"]["properties"]
    assert set(document["components"]["schemas"][view["operation"]["$ref"].rsplit("/", 1)[-1]]["enum"]) == set(
        OperationName
    )
    # A daily limit applies to what texts a handset: not to a ContactAtOnce conversation.
    for route in started:
        responses = document["paths"][route.path]["post"]["responses"]
        assert ("429" in responses) is registry.spec(OperationName(route.operation_id)).texts_handset


def test_a_delivery_function_sends_exactly_its_providers_operations() -> None:
    from textgate.delivery import DeliveryConfig

    for provider in Provider:
        config = DeliveryConfig.of(provider)
        assert set(config.executors) == {row.name for row in ROWS if row.provider is provider}
    assert set(DeliveryConfig.of(Provider.OGANGI).protectors) == {OperationName.OGANGI_SEND_PIN}
