"""make bench prices batch calls as DynamoDB bills them: each item of a BatchWriteItem as its own put, each key of
a BatchGetItem as its own read (at least one unit, even when missing; half when eventually consistent)."""

from __future__ import annotations

from typing import Any

from textgate_local.bench_cost import Meter
from textgate_local.template import Template

TEMPLATE = Template.read()
# The local stack names each table after its logical id (resources.create_tables).
TEMPLATE.refs.update({name: name for name in TEMPLATE.of_type("AWS::DynamoDB::Table")})
OPERATIONS, SUPPRESSION = "OperationsTable", "SuppressionTable"


def meter() -> Meter:
    return Meter([], functions=None, template=TEMPLATE)


def item(identifier: str, text_bytes: int) -> dict[str, Any]:
    return {"id": {"S": identifier}, "payload": {"S": "x" * text_bytes}}


def test_each_item_of_a_batch_write_costs_its_own_units_and_unprocessed_ones_nothing() -> None:
    counting = meter()
    small, large, left = item("op_1", 100), item("op_2", 1500), item("op_3", 100)
    params = {"RequestItems": {OPERATIONS: [{"PutRequest": {"Item": it}} for it in (small, large, left)]}}
    parsed = {"UnprocessedItems": {OPERATIONS: [{"PutRequest": {"Item": left}}]}}

    counting._dynamodb("BatchWriteItem", params, parsed)

    assert counting.counts.write_units == 1 + 2
    assert counting.counts.dynamodb == {"Operations.BatchWriteItem": 1}


def test_each_key_of_a_batch_get_is_a_read_found_or_not() -> None:
    counting = meter()
    keys = [{"phone": {"S": f"+1305555000{n}"}} for n in range(3)]
    found = {"phone": {"S": "+13055550000"}, "opted_out": {"BOOL": True}}
    consistent = {"RequestItems": {SUPPRESSION: {"Keys": keys, "ConsistentRead": True}}}
    counting._dynamodb("BatchGetItem", consistent, {"Responses": {SUPPRESSION: [found]}})
    assert counting.counts.read_units == 3

    eventually = {"RequestItems": {OPERATIONS: {"Keys": [{"id": {"S": "op_2"}}], "ConsistentRead": False}}}
    counting._dynamodb("BatchGetItem", eventually, {"Responses": {OPERATIONS: [item("op_2", 5000)]}})
    assert counting.counts.read_units == 3 + 1  # two 4 KB units, halved
    assert counting.counts.dynamodb == {"Suppression.BatchGetItem": 1, "Operations.BatchGetItem": 1}
