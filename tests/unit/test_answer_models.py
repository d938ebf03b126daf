"""Answers are built from the models the OpenAPI document shows, so the two cannot drift."""

from __future__ import annotations

from textgate.errors import Problem, RecipientLimitReached
from textgate.models import Operation, OperationError, OperationView, Status
from textgate.openapi import document_for
from textgate.sms import describe


def test_an_operation_is_shown_as_its_view() -> None:
    operation = Operation.new(operation="ogangi.send_sms", client="c", payload={"to": "+1"})
    shown = operation.public()
    assert (
        OperationView.model_validate(shown).model_dump(mode="json", exclude={"dead_lettered_at", "batch_id"}) == shown
    )
    assert (
        "dead_lettered_at" not in shown and "batch_id" not in shown and "payload" not in shown and "client" not in shown
    )
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
