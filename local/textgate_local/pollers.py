"""Lambda's SQS event source, locally: long-poll each queue and invoke its function with real batches.

Up to the template's MaximumConcurrency batches are in flight per queue. Messages are deleted only when the
invocation succeeded, minus the ones it reported in batchItemFailures; the rest come back after their
visibility timeout (and reach the dead-letter queue after maxReceiveCount receives, as in AWS).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from textgate_local.template import QueueSource

logger = logging.getLogger("textgate_local.pollers")
Invoke = Callable[[str, dict[str, Any]], Any]


class QueuePoller:
    def __init__(self, source: QueueSource, queue_url: str, queue_arn: str, sqs: Any, invoke: Invoke) -> None:
        self.source = source
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.sqs = sqs
        self.invoke = invoke
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name=f"poll-{source.queue}-{index}", daemon=True)
            for index in range(max(1, source.max_concurrency))
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 5.0) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                if not self._stop.is_set():
                    logger.exception("polling %s failed", self.source.queue)
                    self._stop.wait(1.0)

    def poll_once(self, wait_seconds: int = 1) -> int:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(10, self.source.batch_size),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._record(message) for message in messages]}
        try:
            result = self.invoke(self.source.function, event)
        except Exception:
            logger.exception("%s raised; the batch will be received again", self.source.function)
            return len(messages)
        failed: set[str] = set()
        if self.source.report_failures and isinstance(result, dict):
            failed = {item.get("itemIdentifier", "") for item in result.get("batchItemFailures") or []}
        done = [message for message in messages if message["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(chunk)],
            )
        return len(messages)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": "us-east-1",
        }


class RulePoller(QueuePoller):
    """An EventBridge rule's target, locally: the rule delivers to a tap queue; each event invokes the function
    once, as an asynchronous invocation would (a failed invocation is tried again after the visibility timeout)."""

    def poll_once(self, wait_seconds: int = 1) -> int:
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        messages = answer.get("Messages", [])
        for message in messages:
            try:
                self.invoke(self.source.function, json.loads(message["Body"]))
            except Exception:
                logger.exception("%s raised on an event; it will be delivered again", self.source.function)
                continue
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)
