"""What POST /v1/batches takes is the registry's `batchable` column, each with its route's own payload step."""

from __future__ import annotations

import pytest

from textgate import registry
from textgate.errors import ValidationFailed
from textgate.logic import batches
from textgate.schemas.batches import BatchRequest
from textgate.validation import validate


def test_every_batchable_operation_has_its_payload_step_and_no_other() -> None:
    assert set(batches.PAYLOADS) == registry.BATCHABLE


@pytest.mark.parametrize("operation", sorted(registry.OperationName))
def test_a_batch_takes_exactly_the_batchable_operations(operation: registry.OperationName) -> None:
    body = {"operation": operation.value, "items": [{}]}
    if operation in registry.BATCHABLE:
        assert validate(BatchRequest, body).operation is operation
    else:
        with pytest.raises(ValidationFailed) as refused:
            validate(BatchRequest, body)
        assert refused.value.errors[0]["field"] == "operation"


def test_the_document_lists_the_batchable_operations() -> None:
    schema = BatchRequest.model_json_schema()
    assert schema["properties"]["operation"]["enum"] == sorted(registry.BATCHABLE)
