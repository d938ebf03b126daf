"""EventBridge triggers: an event whose DetailType names an operation starts it, exactly as the HTTP route would.

The client is `eventbridge:<Source>`; an `idempotency_key` in the detail makes a re-delivered event act once.
A refused event queues nothing; it is logged and announced as `trigger.rejected` so the sender can see why.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from textgate import log, metrics
from textgate.dal import events
from textgate.errors import ApiError, ValidationFailed
from textgate.logic import idempotency
from textgate.models import Operation
from textgate.validation import validate

logger = log.get_logger(__name__)

# operation -> (its request model, its acceptor), as "module:name". An event names one operation: only that
# operation's models and logic are imported, when its first event arrives, not all six at every cold start.
ACCEPTORS: dict[str, tuple[str, str]] = {
    "ogangi.send_sms": ("textgate.schemas.ogangi:SendSmsRequest", "textgate.logic.ogangi:accept_sms"),
    "ogangi.send_pin": ("textgate.schemas.ogangi:SendPinRequest", "textgate.logic.pins:accept_pin"),
    "ogangi.fire_message": ("textgate.schemas.ogangi:FireMessageRequest", "textgate.logic.ogangi:accept_fire_message"),
    "contactatonce.initiate_conversation": (
        "textgate.schemas.contactatonce:InitiateConversationRequest",
        "textgate.logic.contactatonce:accept_conversation",
    ),
    "protexting.opt_in": ("textgate.schemas.protexting:OptInRequest", "textgate.logic.protexting:accept_opt_in"),
}
CAMPAIGN_SMS = "interact.send_campaign_sms"
OPERATIONS = (*ACCEPTORS, CAMPAIGN_SMS)


def load(reference: str) -> Any:
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def _accept(client: str, operation: str, detail: dict[str, Any]) -> Operation:
    if operation == CAMPAIGN_SMS:
        from textgate.logic import interact  # noqa: PLC0415 - see ACCEPTORS

        body = dict(detail)
        campaign_id, request = interact.parse_request(str(body.pop("campaign_id", "")), body)
        return interact.accept_campaign_sms(client, campaign_id, request)
    acceptor = ACCEPTORS.get(operation)
    if acceptor is None:
        raise ValidationFailed(
            f"unknown operation {operation}", errors=[{"field": "detail-type", "message": "is not an operation"}]
        )
    model, accept = (load(reference) for reference in acceptor)
    accepted: Operation = accept(client, validate(model, detail))
    return accepted


def handle(event: dict[str, Any]) -> dict[str, Any]:
    source = str(event.get("source") or "unknown")
    operation = str(event.get("detail-type") or "")
    detail = event.get("detail")
    client = f"eventbridge:{source}"
    token = log.bind(trigger_source=source, operation=operation, event_id=event.get("id"))
    try:
        if not isinstance(detail, dict):
            raise ValidationFailed("detail must be an object", errors=[{"field": "detail", "message": "not an object"}])
        body = dict(detail)
        # EventBridge delivers at least once: without a key of the sender's, the event's own id is the key.
        key = body.pop("idempotency_key", None) or event.get("id")

        def run() -> dict[str, Any]:
            return {"statusCode": 202, "operation": _accept(client, operation, body).public()}

        if key is None:
            answer = run()
        else:
            fingerprint = idempotency.request_hash("EVENT", operation, json.dumps(body, sort_keys=True))
            answer, replayed = idempotency.run_once(client, str(key), fingerprint, run)
            if replayed:
                logger.info("trigger replayed: this idempotency key already started an operation")
        logger.info("trigger accepted", extra={"operation_id": answer["operation"]["id"]})
        return {"status": "accepted", "operation": answer["operation"]}
    except ApiError as error:
        if error.status >= 500:
            raise  # ours, not the event's: let Lambda retry it (and its on-failure destination keep it)
        logger.warning("trigger refused: %s", error.code)
        metrics.refused(operation, error.code)
        problem = error.problem()
        events.publish(
            "trigger.rejected",
            {"source": source, "operation": operation, "problem": problem, "event_id": event.get("id")},
        )
        return {"status": "rejected", "problem": problem}
    finally:
        log.unbind(token)
