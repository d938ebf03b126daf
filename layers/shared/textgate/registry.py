"""Every asynchronous operation, in one table: what it is called, who carries it out, how it is accepted and sent.

An operation is an `OperationName` (a `StrEnum`, so mypy sees a typo) and one `OperationSpec` row in `OPERATIONS`:
its provider, its request and stored-payload models, its acceptor and executor, the payload field that names the
handset it is about, whether it texts that handset, and whether it may be batched or scheduled. The metrics'
dimensions, the EventBridge triggers, the recipients' protection, delivery, the OpenAPI document and the tests
read this table: adding an operation is one row here plus its own modules.

The row names its models and functions as "module:name" strings, resolved with `load` when first used: importing
this module imports nothing of the schemas, the logic or the providers, so every function may import it at no cost
to its cold start. Stored records keep the operation's name as a string; `models.Operation` parses it to the enum.
"""

from __future__ import annotations

import importlib
from enum import StrEnum
from typing import Any, NamedTuple


class Provider(StrEnum):
    """A provider with a delivery queue of its own (the value names its queue setting: `<value>_queue_url`)."""

    OGANGI = "ogangi"
    CONTACTATONCE = "contactatonce"
    INTERACT = "interact"
    PROTEXTING = "protexting"


class OperationName(StrEnum):
    """An asynchronous operation: accepted (202), recorded, queued to its provider and delivered."""

    OGANGI_SEND_SMS = "ogangi.send_sms"
    OGANGI_SEND_PIN = "ogangi.send_pin"
    OGANGI_FIRE_MESSAGE = "ogangi.fire_message"
    CONTACTATONCE_INITIATE_CONVERSATION = "contactatonce.initiate_conversation"
    INTERACT_SEND_CAMPAIGN_SMS = "interact.send_campaign_sms"
    PROTEXTING_OPT_IN = "protexting.opt_in"


class OperationSpec(NamedTuple):  # not a dataclass: a tenth of the import time, at every cold start
    """One operation's row. References are "module:name", resolved by `load` when first used."""

    name: OperationName
    provider: Provider
    request: str  # the pydantic model of its request body (HTTP and EventBridge alike)
    payload: str  # the `payloads.Payload` its acceptor stores and its executor reads
    # What its HTTP route calls with the validated body (and, before it, any path parameter: Interact's campaign):
    # (client, request) -> models.Operation. It judges the business rules, records and queues.
    accept: str
    # (models.Operation) -> ProviderOutcome: one provider call for a claimed operation.
    execute: str
    # The payload field (the request field of the same name) that holds the number of the handset it is about.
    handset_field: str | None = None
    # Whether it sends that handset a text (then the suppression list and the daily limit protect it).
    texts_handset: bool = False
    # How a JSON document starts it (an EventBridge trigger's detail, one request of a batch): the body, plus what
    # HTTP reads from the path (Interact's campaign_id). (client, document) -> models.Operation; without one,
    # `logic.operations.accept_document` validates the document with `request` and calls `accept`.
    accept_document: str | None = None
    # (models.Operation, private outcome fields) -> what may be stored of them (a PIN becomes its keyed hash).
    protect: str | None = None
    batchable: bool = False  # may be sent as one of a batch of requests
    schedulable: bool = False  # may be accepted now and sent at a time the caller names


_ROWS = (
    OperationSpec(
        OperationName.OGANGI_SEND_SMS,
        Provider.OGANGI,
        request="textgate.schemas.ogangi:SendSmsRequest",
        payload="textgate.payloads:OgangiSms",
        accept="textgate.logic.ogangi:accept_sms",
        execute="textgate.executors.ogangi:send_sms",
        handset_field="to",
        texts_handset=True,
        batchable=True,
        schedulable=True,
    ),
    OperationSpec(
        OperationName.OGANGI_SEND_PIN,
        Provider.OGANGI,
        request="textgate.schemas.ogangi:SendPinRequest",
        payload="textgate.payloads:OgangiPin",
        accept="textgate.logic.pins:accept_pin",
        execute="textgate.executors.ogangi:send_pin",
        handset_field="to",
        texts_handset=True,
        protect="textgate.logic.pins:protect",
        # Not schedulable: a PIN is wanted now, and it expires 10 minutes after it is sent.
    ),
    OperationSpec(
        OperationName.OGANGI_FIRE_MESSAGE,
        Provider.OGANGI,
        request="textgate.schemas.ogangi:FireMessageRequest",
        payload="textgate.payloads:OgangiFireMessage",
        accept="textgate.logic.ogangi:accept_fire_message",
        execute="textgate.executors.ogangi:fire_message",
        # fireMessage injects an inbound message: the campaign it triggers answers the handset.
        handset_field="mobile",
        texts_handset=True,
        schedulable=True,
    ),
    OperationSpec(
        OperationName.CONTACTATONCE_INITIATE_CONVERSATION,
        Provider.CONTACTATONCE,
        request="textgate.schemas.contactatonce:InitiateConversationRequest",
        payload="textgate.payloads:ContactAtOnceConversation",
        accept="textgate.logic.contactatonce:accept_conversation",
        execute="textgate.executors.contactatonce:initiate_conversation",
        # The consumer starts it from a web site and no SMS is sent: no handset to protect.
        schedulable=True,
    ),
    OperationSpec(
        OperationName.INTERACT_SEND_CAMPAIGN_SMS,
        Provider.INTERACT,
        request="textgate.schemas.interact:SendCampaignSmsRequest",
        payload="textgate.payloads:InteractCampaignSms",
        accept="textgate.logic.interact:accept_campaign_sms",
        execute="textgate.executors.interact:send_campaign_sms",
        handset_field="caller_id",
        texts_handset=True,
        # The campaign is the route's path parameter over HTTP, a field of the detail in an event.
        accept_document="textgate.logic.interact:accept_campaign_document",
        batchable=True,
        schedulable=True,
    ),
    OperationSpec(
        OperationName.PROTEXTING_OPT_IN,
        Provider.PROTEXTING,
        request="textgate.schemas.protexting:OptInRequest",
        payload="textgate.payloads:ProTextingOptIn",
        accept="textgate.logic.protexting:accept_opt_in",
        execute="textgate.executors.protexting:opt_in",
        handset_field="phone_number",
        # Every opt-in may text the number: ProTexting sends its call to action to a contact not yet opted in
        # even with SendCTAMessage 0 or absent (seed 003).
        texts_handset=True,
        batchable=True,
        schedulable=True,
    ),
)

OPERATIONS: dict[OperationName, OperationSpec] = {row.name: row for row in _ROWS}
BATCHABLE = frozenset(row.name for row in _ROWS if row.batchable)
SCHEDULABLE = frozenset(row.name for row in _ROWS if row.schedulable)


def spec(name: OperationName) -> OperationSpec:
    return OPERATIONS[name]


def parse(name: str) -> OperationName | None:
    """The operation a string names (an event's detail-type), or None for no operation."""
    try:
        return OperationName(name)
    except ValueError:
        return None


def of_provider(provider: Provider) -> tuple[OperationSpec, ...]:
    return tuple(row for row in _ROWS if row.provider is provider)


def load(reference: str) -> Any:
    """The object a "module:name" reference names, importing its module (once: Python caches it)."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)
