"""EventBridge Scheduler's one-time schedules, locally: moto keeps them, this fires the due ones.

Each second it lists the schedule groups' schedules, reads the new ones once (`at(...)` in its zone and the
target), and when one is due puts the target's Input on the target's SQS queue as Scheduler would, then deletes
it when its ActionAfterCompletion says DELETE. A target that cannot be reached is tried again the next second.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

logger = logging.getLogger("textgate_local.scheduler")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")


@dataclass(frozen=True)
class OneTimeSchedule:
    group: str
    name: str
    due: float  # epoch seconds
    target_arn: str
    payload: str
    delete_after: bool


def due_time(expression: str, zone: str | None) -> float | None:
    """Epoch seconds of an `at(yyyy-mm-ddThh:mm:ss)` expression in its zone (UTC when none); None for a
    recurring schedule, which textgate never makes."""
    match = _AT.match(expression)
    if match is None:
        return None
    return datetime.fromisoformat(match.group(1)).replace(tzinfo=ZoneInfo(zone or "UTC")).timestamp()


class ScheduleFirer:
    def __init__(self, groups: list[str], scheduler: Any, sqs: Any, *, interval: float = 1.0) -> None:
        self.groups = groups
        self.scheduler = scheduler
        self.sqs = sqs
        self.interval = interval
        self._known: dict[tuple[str, str], OneTimeSchedule | None] = {}
        self._queue_urls: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.fire_due(time.time())
            except Exception:
                if not self._stop.is_set():
                    logger.exception("firing due schedules failed")

    def fire_due(self, now: float) -> int:
        """Fire every schedule due at `now`; how many fired."""
        fired = 0
        listed: set[tuple[str, str]] = set()
        for group in self.groups:
            for summary in self._list(group):
                key = (group, summary["Name"])
                listed.add(key)
                if key not in self._known:
                    self._known[key] = self._read(group, summary["Name"])
                schedule = self._known[key]
                if schedule is not None and schedule.due <= now and summary.get("State", "ENABLED") == "ENABLED":
                    self._fire(schedule)
                    fired += 1
        for key in set(self._known) - listed:
            del self._known[key]
        return fired

    def _list(self, group: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {"GroupName": group}
        while True:
            answer = self.scheduler.list_schedules(**request)
            found.extend(answer.get("Schedules", []))
            if not answer.get("NextToken"):
                return found
            request["NextToken"] = answer["NextToken"]

    def _read(self, group: str, name: str) -> OneTimeSchedule | None:
        spec = self.scheduler.get_schedule(GroupName=group, Name=name)
        due = due_time(spec["ScheduleExpression"], spec.get("ScheduleExpressionTimezone"))
        if due is None:
            return None
        target = spec["Target"]
        return OneTimeSchedule(
            group=group,
            name=name,
            due=due,
            target_arn=target["Arn"],
            payload=target.get("Input", "{}"),
            delete_after=spec.get("ActionAfterCompletion") == "DELETE",
        )

    def _fire(self, schedule: OneTimeSchedule) -> None:
        if not schedule.target_arn.startswith("arn:aws:sqs:"):
            raise ValueError(f"the local scheduler only delivers to SQS queues, not {schedule.target_arn}")
        self.sqs.send_message(QueueUrl=self._queue_url(schedule.target_arn), MessageBody=schedule.payload)
        if schedule.delete_after:
            # Already gone: canceled while it fired, and the operation's record decides.
            with contextlib.suppress(self.scheduler.exceptions.ResourceNotFoundException):
                self.scheduler.delete_schedule(GroupName=schedule.group, Name=schedule.name)
        # A one-time schedule kept after it ran (no DELETE action) never runs again.
        self._known[(schedule.group, schedule.name)] = None

    def _queue_url(self, arn: str) -> str:
        if arn not in self._queue_urls:
            name = arn.rsplit(":", 1)[1]
            self._queue_urls[arn] = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return self._queue_urls[arn]
