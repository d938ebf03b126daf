"""The operation record only moves by conditional writes: no double claim, no change after a final state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from textgate import clock
from textgate.dal import operations as records
from textgate.models import Operation, OperationError, Status


def new_operation() -> Operation:
    operation = Operation.new(operation="ogangi.send_sms", client="c", payload={"to": "+13056708084", "text": "hi"})
    records.create(operation)
    return operation


def test_record_round_trips(aws_env: dict[str, str]) -> None:
    operation = new_operation()
    stored = records.get(operation.id)
    assert stored is not None
    assert stored.model_dump() == operation.model_dump()


def test_only_one_of_many_concurrent_claims_wins(aws_env: dict[str, str]) -> None:
    # Many rounds: a check-then-write race (as moto has without the local endpoint's lock) shows up within them.
    for _ in range(40):
        operation = new_operation()
        with ThreadPoolExecutor(8) as pool:
            claims = list(
                pool.map(
                    lambda _, op_id=operation.id: records.claim(op_id, now=clock.now(), lease_seconds=60), range(8)
                )
            )
        winners = [claim for claim in claims if claim is not None]
        assert len(winners) == 1
        assert winners[0].status is Status.SENDING and winners[0].attempts == 1


def test_a_final_state_never_changes(aws_env: dict[str, str]) -> None:
    operation = new_operation()
    claimed = records.claim(operation.id, now=clock.now(), lease_seconds=60)
    assert claimed is not None
    done = records.finish(
        operation.id, attempt=1, status=Status.SUCCEEDED, now=clock.now(), result={"provider_message_id": "-1"}
    )
    assert done is not None and done.status is Status.SUCCEEDED
    again = records.finish(
        operation.id, attempt=1, status=Status.FAILED, now=clock.now(), error=OperationError(code="x", message="y")
    )
    assert again is None
    assert records.claim(operation.id, now=clock.now() + 10_000, lease_seconds=60) is None
    assert records.fail_unsent(operation.id, now=clock.now(), error=OperationError(code="x", message="y")) is None
    stored = records.get(operation.id)
    assert stored is not None and stored.status is Status.SUCCEEDED and stored.error is None


def test_a_retry_is_not_claimable_before_it_is_due(aws_env: dict[str, str]) -> None:
    operation = new_operation()
    now = clock.now()
    records.claim(operation.id, now=now, lease_seconds=60)
    scheduled = records.schedule_retry(operation.id, attempt=1, now=now, next_attempt_at=now + 100, error=None)
    assert scheduled is not None and scheduled.status is Status.RETRYING
    assert records.claim(operation.id, now=now + 50, lease_seconds=60) is None
    second = records.claim(operation.id, now=now + 101, lease_seconds=60)
    assert second is not None and second.attempts == 2


def test_a_rate_limited_attempt_is_refunded(aws_env: dict[str, str]) -> None:
    operation = new_operation()
    now = clock.now()
    records.claim(operation.id, now=now, lease_seconds=60)
    scheduled = records.schedule_retry(
        operation.id, attempt=1, now=now, next_attempt_at=now, error=None, refund_attempt=True
    )
    assert scheduled is not None and scheduled.attempts == 0


def test_an_expired_lease_ends_unknown_but_a_live_one_does_not(aws_env: dict[str, str]) -> None:
    operation = new_operation()
    now = clock.now()
    records.claim(operation.id, now=now, lease_seconds=60)
    error = OperationError(code="delivery_interrupted", message="m")
    assert records.expire_lease(operation.id, now=now + 30, error=error) is None
    ended = records.expire_lease(operation.id, now=now + 61, error=error)
    assert ended is not None and ended.status is Status.UNKNOWN
