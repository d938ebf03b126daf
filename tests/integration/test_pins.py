"""PIN checks against the real table: expiry, one verification, concurrent wrong guesses, the hourly limit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from textgate import clock
from textgate.dal import limits, pins
from textgate.dal import operations as records
from textgate.errors import TooManyAttempts, VerificationExpired, VerificationPending
from textgate.logic import pins as logic
from textgate.models import Operation, Status


def sent_pin(pin: str = "846547") -> Operation:
    operation = Operation.new(
        operation="ogangi.send_pin",
        client="c",
        payload={"to": "+13056708084", "carrier": "M", "text": "t", "length": 6, "from": "1"},
    )
    records.create(operation)
    records.claim(operation.id, now=clock.now(), lease_seconds=60)
    records.finish(
        operation.id,
        attempt=1,
        status=Status.SUCCEEDED,
        now=clock.now(),
        result={},
        private=logic.protect(operation, {"pin": pin}),
    )
    return operation


def test_only_a_keyed_hash_is_stored(aws_env: dict[str, str]) -> None:
    operation = sent_pin("846547")
    state = pins.state(operation.id)
    assert state is not None and "846547" not in state.pin_hash and len(state.pin_hash) == 64
    stored = records.get(operation.id)
    assert stored is not None and "846547" not in stored.model_dump_json()


def test_expired_pin_is_gone(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    operation = sent_pin()
    later = clock.now() + logic.PIN_TTL_SECONDS + 1
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(VerificationExpired):
        logic.check("c", operation.id, "846547")


def test_concurrent_wrong_guesses_never_exceed_five(aws_env: dict[str, str]) -> None:
    operation = sent_pin("846547")

    def guess(_: int) -> str:
        try:
            return str(logic.check("c", operation.id, "000000").attempts_left)
        except TooManyAttempts:
            return "locked"

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(guess, range(12)))
    assert sorted(answer for answer in answers if answer != "locked") == ["0", "1", "2", "3", "4"]
    with pytest.raises(TooManyAttempts):
        logic.check("c", operation.id, "846547")


def test_pending_until_sent(aws_env: dict[str, str]) -> None:
    operation = Operation.new(operation="ogangi.send_pin", client="c", payload={})
    records.create(operation)
    with pytest.raises(VerificationPending):
        logic.check("c", operation.id, "1234")


def test_sliding_window_allows_exactly_the_limit_under_concurrency(aws_env: dict[str, str]) -> None:
    now = clock.now()
    key = limits.key("pin", "c", "+1999")
    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(lambda _: limits.take_slot(key, limit=5, window_seconds=3600, now=now), range(10)))
    assert sum(isinstance(slot, limits.Slot) for slot in taken) == 5
    refused = [slot for slot in taken if isinstance(slot, limits.Refused)]
    assert len(refused) == 5 and all(answer.retry_after == 3600 for answer in refused)
    # The window slides: an hour after the first five, a slot is free again (and the list is pruned).
    assert isinstance(limits.take_slot(key, limit=5, window_seconds=3600, now=now + 3601), limits.Slot)


def test_a_released_slot_is_free_again(aws_env: dict[str, str]) -> None:
    now = clock.now()
    key = limits.key("pin", "c", "+1998")
    slots = [limits.take_slot(key, limit=2, window_seconds=3600, now=now + n) for n in range(2)]
    assert isinstance(limits.take_slot(key, limit=2, window_seconds=3600, now=now + 2), limits.Refused)
    assert isinstance(slots[1], limits.Slot)
    limits.release_slot(slots[1])
    assert isinstance(limits.take_slot(key, limit=2, window_seconds=3600, now=now + 3), limits.Slot)


def test_counter_keys_of_different_parts_never_collide() -> None:
    assert limits.key("pin", "a#b", "c") != limits.key("pin", "a", "b#c")
    assert limits.key("pin", "a", "b") != limits.key("daily", "a", "b")
