"""Answers are built from the models the OpenAPI document shows, so the two cannot drift."""

from __future__ import annotations

from textgate.errors import Problem, RecipientLimitReached
from textgate.models import Operation, OperationError, OperationView, Status
from textgate.openapi import document_for
from textgate.registry import OperationName
from textgate.sms import describe


def test_an_operation_is_shown_as_its_view() -> None:
    operation = Operation.new(operation="ogangi.send_sms", client="c", payload={"to": "+1"})
    shown = operation.public()
    optional = {"dead_lettered_at", "send_at", "deferred_for", "status_callback", "batch_id"}
    assert OperationView.model_validate(shown).model_dump(mode="json", exclude=optional) == shown
    assert not optional & set(shown) and "payload" not in shown and "client" not in shown
    scheduled = Operation.new(
        operation=OperationName.OGANGI_SEND_SMS,
        client="c",
        payload={"to": "+1"},
        send_at=1_795_860_000.0,
        deferred_for="quiet_hours",
    ).public()
    assert scheduled["status"] == "scheduled"
    assert (scheduled["send_at"], scheduled["deferred_for"]) == ("2026-11-28T10:00:00Z", "quiet_hours")
    ended = operation.model_copy(
        update={
            "status": Status.FAILED,
            "error": OperationError(code="recipient_opted_out", message="m"),
            "sms": describe("Hello"),
            "dead_lettered_at": 1_795_860_000.0,
        }
    )
    shown = ended.public()
    assert shown["status"] == "failed" and shown["error"] == {
        "code": "recipient_opted_out",
        "message": "m",
        "retryable": False,
    }
    assert shown["dead_lettered_at"] == "2026-11-28T10:00:00Z" and shown["sms"]["segments"] == 1


def test_a_problem_is_the_documented_problem() -> None:
    answer = RecipientLimitReached("too many", headers={"Retry-After": "60"}).problem()
    assert Problem.model_validate(answer).model_dump() == answer
    documented = document_for("rest")["components"]["schemas"]
    assert set(answer) == set(documented["Problem"]["properties"])
    assert set(OperationView.model_fields) == set(documented["OperationView"]["properties"])
