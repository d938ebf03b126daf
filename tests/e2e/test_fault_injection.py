"""Fault injection: 500 operations across the four sending providers, through the local stack, while the
provider sandboxes fail on purpose (about 35% of calls: 5xx, resets before and after acting, hangs before and
after acting, gateway 502/504 and HTML 500 pages and cut-off answers after acting, malformed bodies, 429 with
reset headers).

It asserts what delivery promises: every operation ends final, none is lost, no provider acted on the same
operation twice, and every `succeeded` operation was acted on exactly once. It prints the counts.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from e2e.conftest import Stack, start_stack, stop_stack

PER_PROVIDER = 125
FAULT_RATE = 0.35
FINAL = {"succeeded", "failed", "unknown"}
SUMMARY_DIR = Path(__file__).resolve().parents[2] / ".test-reports"

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("faults")]


@pytest.fixture(scope="module")
def faulty_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    process, stack = start_stack(
        {
            "MAX_ATTEMPTS": "5",
            "RETRY_BASE_SECONDS": "0.5",
            "RETRY_MAX_SECONDS": "2",
            "PROVIDER_TIMEOUT_SECONDS": "1",
            "TEXTGATE_SANDBOX_SLOW_SECONDS": "1.5",
            "TEXTGATE_PROTEXTING_RATE_LIMIT": "40/2",
        },
        log_name="faults.log",
        tmp=tmp_path_factory.mktemp("faults"),
    )
    try:
        for seed, provider in enumerate(("ogangi", "contactatonce", "interact", "protexting"), start=1):
            answer = stack.session.post(
                f"{stack.url}/_sandbox/{provider}/faults", json={"rate": FAULT_RATE, "seed": seed}, timeout=10
            )
            assert answer.status_code == 200, answer.text
        yield stack
    finally:
        stop_stack(process)


def requests_for(run: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """(provider, path, body, marker) for every operation; the marker is what the sandbox records as acted."""
    planned = []
    for n in range(PER_PROVIDER):
        marker = f"{run}-{n:03d}"
        planned.append(("ogangi", "/v1/ogangi/sms", {"to": "+13056708084", "text": marker}, f":{marker}"))
        planned.append(
            (
                "contactatonce",
                "/v1/contactatonce/conversations",
                {"merchant_id": 123, "consumer_phone": "+13056708084", "consumer_question": marker},
                f":{marker}",
            )
        )
        planned.append(
            (
                "interact",
                f"/v1/interact/campaigns/camp-{run}/sms",
                {"caller_id": "+13056708084", "jp_token": marker},
                f":{marker}",
            )
        )
        planned.append(
            (
                "protexting",
                "/v1/protexting/opt-ins",
                {"phone_number": "+13056708084", "group_ids": [1], "cta_message": marker},
                f":{marker}",
            )
        )
    return planned


def wait_all_final(stack: Stack, ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    seen: dict[str, dict[str, Any]] = {}
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        with ThreadPoolExecutor(8) as pool:
            views = list(pool.map(lambda op_id: stack.call("GET", f"/v1/operations/{op_id}").json(), pending))
        for view in views:
            seen[view["id"]] = view
        pending = [view["id"] for view in views if view["status"] not in FINAL]
        if pending:
            time.sleep(1)
    return seen


def write_summary(lines: list[str]) -> None:
    SUMMARY_DIR.mkdir(exist_ok=True)
    (SUMMARY_DIR / "fault-injection.txt").write_text("\n".join(lines) + "\n")


def test_every_operation_ends_final_none_lost_none_twice(faulty_stack: Stack) -> None:
    run = uuid.uuid4().hex[:6]
    planned = requests_for(run)

    def send(item: tuple[str, str, dict[str, Any], str]) -> Any:
        return faulty_stack.call("POST", item[1], json=item[2], headers={"Idempotency-Key": f"{item[0]}{item[3]}"})

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, planned))
    assert [answer.status_code for answer in answers] == [202] * len(planned), [
        answer.text for answer in answers if answer.status_code != 202
    ][:3]
    accepted = {answer.json()["id"]: item for answer, item in zip(answers, planned, strict=True)}
    assert len(accepted) == len(planned)

    final = wait_all_final(faulty_stack, list(accepted), timeout=300)
    elapsed = time.monotonic() - started
    lost = [op_id for op_id in accepted if op_id not in final]
    not_final = [op_id for op_id, view in final.items() if view["status"] not in FINAL]

    sandboxes = {
        provider: faulty_stack.sandbox(provider) for provider in ("ogangi", "contactatonce", "interact", "protexting")
    }
    acted = {
        provider: Counter(entry for entry in info["acted"] if run in entry) for provider, info in sandboxes.items()
    }
    twice, succeeded_not_acted, failed_but_acted = [], [], []
    statuses: dict[str, Counter[str]] = {provider: Counter() for provider in sandboxes}
    for op_id, (provider, _, _, marker) in accepted.items():
        view = final.get(op_id, {"status": "lost"})
        statuses[provider][view["status"]] += 1
        times = sum(count for entry, count in acted[provider].items() if entry.endswith(marker))
        if times > 1:
            twice.append(op_id)
        if view["status"] == "succeeded" and times != 1:
            succeeded_not_acted.append(op_id)
        if view["status"] == "failed" and times != 0:
            failed_but_acted.append(op_id)

    calls = sum(info["requests"] for info in sandboxes.values())
    faults = Counter[str]()
    for info in sandboxes.values():
        faults.update(info["faults_injected"])
    lines = [
        f"fault injection: {len(planned)} operations, {calls} provider calls, "
        f"{sum(faults.values())} faults injected ({sum(faults.values()) / max(calls, 1):.0%}), {elapsed:.1f} s",
        "  faults: " + ", ".join(f"{kind} {count}" for kind, count in sorted(faults.items())),
        *[
            f"  {provider:<14} " + ", ".join(f"{status} {count}" for status, count in sorted(counts.items()))
            for provider, counts in statuses.items()
        ],
        f"  final {len(final) - len(not_final)}/{len(planned)}, lost {len(lost)}, acted twice {len(twice)}, "
        f"succeeded without exactly one act {len(succeeded_not_acted)}, failed yet acted {len(failed_but_acted)}",
    ]
    write_summary(lines)
    print("\n".join(lines))

    assert not lost and not not_final, f"not final: {not_final[:5]} lost: {lost[:5]}"
    assert not twice, f"acted on twice: {twice[:5]}"
    assert not succeeded_not_acted and not failed_but_acted
    assert sum(faults.values()) / calls >= 0.3, "the suite must inject at least 30% transient faults"
    assert all(counts["succeeded"] > 0 for counts in statuses.values())
    retried = [view for view in final.values() if view["attempts"] > 1]
    assert retried, "some operations must have been retried"
    assert all(counts["lost"] == 0 for counts in statuses.values()), statuses
