"""EventBridge triggers: an event whose DetailType names an operation starts it, exactly as the HTTP route would
(`operations.accept_document`, from the operation's row in `textgate.registry`; a name that is no operation is
refused).

The client is `eventbridge:<Source>`; an `idempotency_key` in the detail makes a re-delivered event act once.
A refused event queues nothing; it is logged and announced as `trigger.rejected` so the sender can see why.
"""

from __future__ import annotations

import json
from typing import Any

from textgate import log, metrics, registry
from textgate.dal import events
from textgate.errors import ApiError, ValidationFailed
from textgate.logic import idempotency, operations
from textgate.models import Operation

logger = log.get_logger(__name__)


def _accept(client: str, named: str, detail: dict[str, Any]) -> Operation:
    operation = registry.parse(named)
    if operation is None:
        raise ValidationFailed(
            f"unknown operation {named}", errors=[{"field": "detail-type", "message": "is not an operation"}]
        )
    return operations.accept_document(client, operation, detail)


def handle(event: dict[str, Any]) -> dict[str, Any]:
    source = str(event.get("source") or "unknown")
    named = str(event.get("detail-type") or "")
    detail = event.get("detail")
    client = f"eventbridge:{source}"
    token = log.bind(trigger_source=source, operation=named, event_id=event.get("id"))
    try:
        if not isinstance(detail, dict):
            raise ValidationFailed("detail must be an object", errors=[{"field": "detail", "message": "not an object"}])
        body = dict(detail)
        # EventBridge delivers at least once: without a key of the sender's, the event's own id is the key.
        key = body.pop("idempotency_key", None) or event.get("id")

        def run() -> dict[str, Any]:
            return {"statusCode": 202, "operation": _accept(client, named, body).public()}

        if key is None:
            answer = run()
        else:
            fingerprint = idempotency.request_hash("EVENT", named, json.dumps(body, sort_keys=True))
            answer, replayed = idempotency.run_once(client, str(key), fingerprint, run)
            if replayed:
                logger.info("trigger replayed: this idempotency key already started an operation")
        logger.info("trigger accepted", extra={"operation_id": answer["operation"]["id"]})
        return {"status": "accepted", "operation": answer["operation"]}
    except ApiError as error:
        if error.status >= 500:
            raise  # ours, not the event's: let Lambda retry it (and its on-failure destination keep it)
        logger.warning("trigger refused: %s", error.code)
        metrics.refused(registry.parse(named), error.code)
        problem = error.problem()
        events.publish(
            "trigger.rejected",
            {"source": source, "operation": named, "problem": problem, "event_id": event.get("id")},
        )
        return {"status": "rejected", "problem": problem}
    finally:
        log.unbind(token)
