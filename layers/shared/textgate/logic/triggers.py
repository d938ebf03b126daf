"""EventBridge triggers: an event whose DetailType names an operation starts it, exactly as the HTTP route would.

The client is `eventbridge:<Source>`; an `idempotency_key` in the detail makes a re-delivered event act once.
A refused event queues nothing; it is logged and announced as `trigger.rejected` so the sender can see why.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from textgate import log, metrics
from textgate.dal import events
from textgate.errors import ApiError, ValidationFailed
from textgate.logic import contactatonce, idempotency, interact, ogangi, pins, protexting
from textgate.models import Operation
from textgate.schemas.contactatonce import InitiateConversationRequest
from textgate.schemas.ogangi import FireMessageRequest, SendPinRequest, SendSmsRequest
from textgate.schemas.protexting import OptInRequest
from textgate.validation import validate

logger = log.get_logger(__name__)


@dataclass(frozen=True)
class Acceptor:
    model: type[BaseModel]
    accept: Callable[[str, Any], Operation]


ACCEPTORS: dict[str, Acceptor] = {
    "ogangi.send_sms": Acceptor(SendSmsRequest, ogangi.accept_sms),
    "ogangi.send_pin": Acceptor(SendPinRequest, pins.accept_pin),
    "ogangi.fire_message": Acceptor(FireMessageRequest, ogangi.accept_fire_message),
    "contactatonce.initiate_conversation": Acceptor(InitiateConversationRequest, contactatonce.accept_conversation),
    "protexting.opt_in": Acceptor(OptInRequest, protexting.accept_opt_in),
}
CAMPAIGN_SMS = "interact.send_campaign_sms"
OPERATIONS = (*ACCEPTORS, CAMPAIGN_SMS)


def _accept(client: str, operation: str, detail: dict[str, Any]) -> Operation:
    if operation == CAMPAIGN_SMS:
        body = dict(detail)
        campaign_id, request = interact.parse_request(str(body.pop("campaign_id", "")), body)
        return interact.accept_campaign_sms(client, campaign_id, request)
    acceptor = ACCEPTORS.get(operation)
    if acceptor is None:
        raise ValidationFailed(
            f"unknown operation {operation}", errors=[{"field": "detail-type", "message": "is not an operation"}]
        )
    return acceptor.accept(client, validate(acceptor.model, detail))


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
