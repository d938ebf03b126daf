"""Batches: many items of one operation in one request, each its own operation, for a fraction of the cost.

Each item is judged exactly as its route judges a request (the same request model and payload, the suppression
list, the recipient's daily limit); the good ones are accepted, each bad one gets the problem its route would
have answered. The work is done in bulk: the suppression list read 100 numbers a call, one limit write per
distinct number, records written 25 a call, messages sent 10 a call.

Never lost, never twice, in this order: the Idempotency-Key reserves the batch id (and so every item's operation
id, derived from it) → the batch record → the operation records → the queue messages → the answer. A batch that
dies half way (its function timed out or crashed) keeps its key claimed; once the key's lock runs out, a retry
with the same key takes the claim over with the same ids, finds the records already written (they skip the
checks and the limit: they were accepted), writes the missing ones and queues every operation still `queued`
(a second message for a queued operation is harmless: delivery acts on it once). Failures that the batch
survives (records or messages that could not be written after retries) settle those items as refused with a
503 problem, never leaving an operation `queued` without a message; only a batch that accepted nothing
answers 503 as a whole.
"""

from __future__ import annotations

import contextvars
import gzip
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from textgate import clock, log, metrics, registry
from textgate.dal import batches as batch_records
from textgate.dal import limits, queue
from textgate.dal import operations as records
from textgate.errors import (
    ApiError,
    BatchRefused,
    InternalError,
    ServiceUnavailable,
    ValidationFailed,
    clip,
)
from textgate.logic import idempotency, recipients
from textgate.models import (
    TRANSACTIONAL,
    Operation,
    Status,
    batch_operation_id,
    new_batch_id,
)
from textgate.payloads import Payload
from textgate.registry import OperationName, Provider
from textgate.sms import SmsInfo
from textgate.validation import validate

if TYPE_CHECKING:  # the functions validate with them
    from textgate.logic.scheduling import SendPlan
    from textgate.schemas.batches import BatchRequest

logger = log.get_logger(__name__)

LIMIT_WORKERS = 16  # concurrent limit writes (one per distinct number)
GROUP_SIZE = 50  # items recorded (two BatchWriteItem calls) then queued (five SendMessageBatch calls) together
GROUP_WORKERS = 8  # groups settled concurrently
DETAILED_REFUSALS = 50  # an all-or-nothing refusal names each item's field and message up to this many
ITEM_ERRORS = 5  # field errors shown in one item's problem
ITEM_DETAIL = 300  # characters of one item's problem detail
# What a batch's answer may weigh, compressed, to be kept under its Idempotency-Key (DynamoDB's items stop at
# 400 KB, and the kept answer wraps the body with its status and headers).
ANSWER_BUDGET = 300 * 1024
SHORT_DETAIL = 80  # characters of a detail or message when the answer must be shortened
SHORT_FIELD = 64  # characters of a field name then


# ---------------------------------------------------------------- what a batch may hold


# How each batchable operation (the registry's `batchable` column) turns one item into what it stores: its route's
# own step, after its row's request model. The routes' logic is imported by the batch that needs it.


def _ogangi_sms(request: Any, _campaign_id: str | None) -> tuple[Payload, SmsInfo | None]:
    from textgate.logic import ogangi  # noqa: PLC0415

    return ogangi.sms_payload(request)


def _interact_campaign_sms(request: Any, campaign_id: str | None) -> tuple[Payload, SmsInfo | None]:
    from textgate.logic import interact  # noqa: PLC0415

    return interact.campaign_sms_payload(campaign_id or "", request), None


def _protexting_opt_in(request: Any, _campaign_id: str | None) -> tuple[Payload, SmsInfo | None]:
    from textgate.logic import protexting  # noqa: PLC0415

    return protexting.opt_in_payload(request), None


PAYLOADS: dict[OperationName, Callable[[Any, str | None], tuple[Payload, SmsInfo | None]]] = {
    OperationName.OGANGI_SEND_SMS: _ogangi_sms,
    OperationName.INTERACT_SEND_CAMPAIGN_SMS: _interact_campaign_sms,
    OperationName.PROTEXTING_OPT_IN: _protexting_opt_in,
}
# Interact's campaign is its route's path parameter: a batch names it once, beside its items.
CAMPAIGN_OPERATIONS = frozenset({OperationName.INTERACT_SEND_CAMPAIGN_SMS})


# ---------------------------------------------------------------- accepting


class _Item:
    """One item on its way through the batch (a plain class, not a dataclass: a dataclass is generated when the
    module is imported, at every cold start)."""

    __slots__ = (
        "handset",
        "index",
        "operation_id",
        "payload",
        "plan",
        "problem",
        "slot",
        "sms",
        "status_callback",
        "stored",
    )

    def __init__(self, index: int, operation_id: str) -> None:
        self.index = index
        self.operation_id = operation_id
        self.payload: dict[str, Any] | None = None
        self.sms: SmsInfo | None = None
        self.handset: recipients.Handset | None = None
        self.problem: ApiError | None = None
        self.plan: SendPlan | None = None  # at once, at its send_at, or after the recipient's quiet hours
        self.status_callback: str | None = None  # the item's own, else the batch's
        self.stored: Operation | None = None  # the record, once written (or found written by an earlier attempt)
        self.slot: tuple[str, float] | None = None  # (limit key, moment) of the daily slot it holds


def _give_back(items: list[_Item]) -> None:
    """Give back the daily slots of items that do not become operations, a write per counter."""
    per_counter = Counter(item.slot for item in items if item.slot is not None)
    for (key, moment), count in per_counter.items():
        try:
            limits.release_slots(limits.Slots(key, moment, count))
        except Exception:  # a missed release only makes the limit stricter for a while
            logger.exception("could not give back limit slots")
    for item in items:
        item.slot = None


def accept(client: str, request: BatchRequest) -> dict[str, Any]:
    """Accept a batch: the answer's body (202), or raise for a batch refused as a whole."""
    operation = request.operation
    provider = registry.spec(operation).provider
    campaign_id = _campaign_id(request)
    reserved = idempotency.reserved_operation_id()
    batch_id = "bat_" + reserved.removeprefix("op_") if reserved else new_batch_id()
    now = clock.now()
    items = [
        _Item(index=index, operation_id=batch_operation_id(batch_id, index)) for index in range(len(request.items))
    ]

    if idempotency.resumed():
        _find_written(items, client, operation)
    pending = [item for item in items if item.stored is None]
    resumed = len(pending) < len(items)
    # The batch keeps the time of the attempt that created its first operations.
    created_at = min((item.stored.created_at for item in items if item.stored is not None), default=now)
    for item in pending:
        _prepare(item, operation, request.items[item.index], campaign_id, now)
        item.status_callback = item.status_callback or request.status_callback
    try:
        _refuse_opted_out(pending)
        _take_daily_slots(pending, now)
    except Exception:
        _give_back(pending)
        raise
    refused = [item for item in items if item.problem is not None]
    # A batch resumed with operations already recorded (and maybe sent) was past this decision: its items that
    # are refused now (an opt-out since) are refused alone.
    if request.all_or_nothing and refused and not resumed:
        _give_back(pending)
        raise _refuse_batch(refused)

    record = batch_records.BatchRecord(
        id=batch_id,
        client=client,
        operation=request.operation,
        created_at=created_at,
        size=len(items),
        refused=tuple(item.index for item in refused),
    )
    try:
        batch_records.put(record)
    except Exception:
        _give_back(pending)
        raise
    # From here on operations exist: nothing raises until every item is settled.
    _record_and_queue(
        items,
        client=client,
        operation=operation,
        provider=provider,
        batch_id=batch_id,
        now=now,
    )

    refused = [item for item in items if item.problem is not None]
    if len(refused) > len(record.refused):
        _note_refused(record, refused)
    accepted = [item for item in items if item.problem is None]
    if not accepted and any(item.problem.status >= 500 for item in refused if item.problem is not None):
        raise ServiceUnavailable("the batch could not be recorded or queued; nothing was sent, try again")
    _count(operation, accepted, refused)
    logger.info(
        "batch accepted",
        extra={
            "batch_id": batch_id,
            "operation": operation.value,
            "accepted": len(accepted),
            "refused": len(refused),
        },
    )
    return {
        "id": batch_id,
        "operation": operation.value,
        "accepted": len(accepted),
        "refused": len(refused),
        "items": _within_budget([_answer(item) for item in items]),
        "created_at": clock.rfc3339(created_at),
    }


def _campaign_id(request: BatchRequest) -> str | None:
    if request.operation not in CAMPAIGN_OPERATIONS:
        if request.campaign_id is not None:
            raise ValidationFailed(
                "invalid campaign_id",
                errors=[{"field": "campaign_id", "message": "is only for interact.send_campaign_sms"}],
            )
        return None
    if request.campaign_id is None:
        raise ValidationFailed(
            "invalid campaign_id",
            errors=[{"field": "campaign_id", "message": "is required for interact.send_campaign_sms"}],
        )
    from textgate.schemas.interact import CampaignPath  # noqa: PLC0415

    return validate(CampaignPath, {"campaign_id": request.campaign_id}).campaign_id


def _find_written(items: list[_Item], client: str, operation: OperationName) -> None:
    """A retry of a batch that died half way: the operations its first attempt already recorded."""
    found = records.get_many([item.operation_id for item in items])
    for item in items:
        stored = found.get(item.operation_id)
        if stored is not None:
            if stored.client != client or stored.operation != operation:
                raise InternalError("an operation id was reused")  # never hand out another request's record
            item.stored = stored


def _prepare(item: _Item, operation: OperationName, body: Any, campaign_id: str | None, now: float) -> None:
    """Judge one item as its route judges a body: its row's request model, the route's own payload step, and
    when it goes (`send_at`, `purpose` and the recipient's quiet hours)."""
    from textgate.logic import scheduling  # noqa: PLC0415 - loaded by the first batch, not at every cold start

    try:
        request = validate(registry.load(registry.spec(operation).request), body)
        payload, item.sms = PAYLOADS[operation](request, campaign_id)
        item.payload = payload.stored()
        item.plan = scheduling.plan(
            operation,
            item.payload,
            now,
            send_at=getattr(request, "send_at", None),
            purpose=getattr(request, "purpose", None),
        )
        item.status_callback = getattr(request, "status_callback", None)
    except ApiError as error:
        item.problem = error
        return
    item.handset = recipients.texted_handset(operation, item.payload)


def _refuse_opted_out(items: list[_Item]) -> None:
    texting = [item for item in items if item.problem is None and item.handset is not None]
    opted_out = recipients.opted_out_among(item.handset.number for item in texting if item.handset is not None)
    for item in texting:
        if item.handset is not None and item.handset.number in opted_out:
            item.problem = recipients.opted_out(item.handset)


def _take_daily_slots(items: list[_Item], now: float) -> None:
    """One limit write per distinct number, concurrently; items past a number's limit are refused in index order."""
    by_number: dict[str, list[_Item]] = defaultdict(list)
    for item in items:
        # A send for later takes its slot when it fires (the limit counts what a handset receives in 24 hours).
        later = item.plan is not None and item.plan.send_at is not None
        if item.problem is None and item.handset is not None and not later:
            by_number[item.handset.number].append(item)
    if not by_number:
        return

    def take(number: str) -> tuple[str, limits.Slots, ApiError | None]:
        taken, refusal = recipients.take_daily_slots(number, len(by_number[number]), now)
        return number, taken, refusal

    with ThreadPoolExecutor(max_workers=min(LIMIT_WORKERS, len(by_number))) as pool:
        # Each in a copy of this context: the invocation's log keys and metrics reach the threads.
        futures = [pool.submit(contextvars.copy_context().run, take, number) for number in by_number]
        failure: BaseException | None = None
        for future in futures:
            try:
                number, taken, refusal = future.result()
            except Exception as exc:  # give back what the others took, then fail the batch
                logger.exception("could not take a recipient's daily slots")
                failure = failure or exc
                continue
            for position, item in enumerate(by_number[number]):
                if position < taken.taken:
                    item.slot = (taken.key, taken.moment)
                else:
                    item.problem = refusal
    if failure is not None:
        raise failure


def _refuse_batch(refused: list[_Item]) -> BatchRefused:
    """422 naming every refused item: its field and message while few, only its problem's code when many (the
    answer stays under 64 KiB for a whole batch of refusals)."""
    errors: list[dict[str, str]] = []
    detailed = len(refused) <= DETAILED_REFUSALS
    for item in refused:
        problem = item.problem
        if problem is None:
            continue
        if detailed:
            first = problem.errors[0] if problem.errors else None
            name = f"items[{item.index}]" + (f".{first['field']}" if first else "")
            errors.append(
                {"field": name, "message": f"{problem.code}: {first['message'] if first else problem.detail}"}
            )
        else:
            errors.append({"field": f"items[{item.index}]", "message": problem.code})
    indexes = ", ".join(str(item.index) for item in refused[:20]) + (", …" if len(refused) > 20 else "")
    return BatchRefused(
        f"{len(refused)} items were refused (all_or_nothing): {indexes}; nothing was queued", errors=errors
    )


def _record_and_queue(
    items: list[_Item],
    *,
    client: str,
    operation: OperationName,
    provider: Provider,
    batch_id: str,
    now: float,
) -> None:
    """Record, then queue, a group of items at a time, the groups concurrently: an item is never queued before
    its own record is written, and the batch's round trips overlap instead of following one another."""

    def settle(group: list[_Item]) -> None:
        pending = [item for item in group if item.stored is None and item.problem is None]
        _write_records(
            pending,
            client=client,
            operation=operation,
            batch_id=batch_id,
            now=now,
        )
        _queue(group, provider)

    groups = [items[start : start + GROUP_SIZE] for start in range(0, len(items), GROUP_SIZE)]
    with ThreadPoolExecutor(max_workers=min(GROUP_WORKERS, len(groups))) as pool:
        futures = [pool.submit(contextvars.copy_context().run, settle, group) for group in groups]
        for future in futures:
            future.result()  # settle catches what it can survive; anything else is a bug, and is raised


def _write_records(
    items: list[_Item],
    *,
    client: str,
    operation: OperationName,
    batch_id: str,
    now: float,
) -> None:
    new = {
        item.operation_id: Operation.new(
            operation=operation,
            client=client,
            payload=item.payload or {},
            sms=item.sms,
            operation_id=item.operation_id,
            batch_id=batch_id,
            created_at=now,
            send_at=item.plan.send_at if item.plan else None,
            purpose=item.plan.purpose if item.plan else TRANSACTIONAL,
            deferred_for=item.plan.deferred_for if item.plan else None,
            status_callback=item.status_callback,
        )
        for item in items
        if item.problem is None
    }
    try:
        unwritten = set(records.create_many(list(new.values())))
    except Exception:  # create_many reports what it could not write; this is the unforeseen
        logger.exception("could not write the batch's records")
        try:
            unwritten = set(new) - set(records.get_many(list(new)))
        except Exception:
            # Unknown: none is queued, so none is sent (a record written meanwhile waits, never sent twice).
            logger.exception("could not read the batch's records back")
            unwritten = set(new)
    lost = []
    for item in items:
        if item.operation_id in unwritten:
            item.problem = ServiceUnavailable("the operation could not be recorded; nothing was sent, try again")
            lost.append(item)
        elif item.operation_id in new:
            item.stored = new[item.operation_id]
    _give_back(lost)


def _queue(items: list[_Item], provider: Provider) -> None:
    """A message for every operation still queued (new ones, and on a retry those an earlier attempt left), ten
    to a call, and a schedule for every one still scheduled; one that can be neither ends `failed`, so no
    operation waits for a message that never comes."""
    recorded = [item for item in items if item.problem is None and item.stored is not None]
    waiting = {item.operation_id: item for item in recorded if item.stored and item.stored.status is Status.QUEUED}
    try:
        failed = queue.enqueue_many(provider, list(waiting))
    except Exception:  # enqueue_many reports what it could not send; this is the unforeseen
        logger.exception("could not queue the batch")
        failed = list(waiting)
    for operation_id in failed:
        _fail_unqueued(waiting[operation_id])
    for item in recorded:
        if item.stored is not None and item.stored.status is Status.SCHEDULED and item.stored.send_at is not None:
            _schedule(item, item.stored, item.stored.send_at)


def _schedule(item: _Item, stored: Operation, send_at: float) -> None:
    """As a single send is scheduled (`operations.schedule`): Scheduler has no batch call, so one each."""
    from textgate.logic import operations  # noqa: PLC0415 - imported by the first batch that schedules

    try:
        operations.schedule(stored, send_at)
    except Exception:
        logger.exception("could not schedule the operation")
        _fail_unqueued(item)


def _fail_unqueued(item: _Item) -> None:
    from textgate.logic import operations  # noqa: PLC0415 - as in `_schedule`

    try:
        settled = operations.fail_unqueued(item.operation_id)
    except Exception:
        logger.exception("could not settle an operation that was not queued")
        return  # still waiting; a retry with the same key queues or schedules it
    if settled is not None:
        item.problem = ServiceUnavailable("the operation could not be queued; nothing was sent, try again")


def _note_refused(record: batch_records.BatchRecord, refused: list[_Item]) -> None:
    try:
        batch_records.put(
            batch_records.BatchRecord(
                id=record.id,
                client=record.client,
                operation=record.operation,
                created_at=record.created_at,
                size=record.size,
                refused=tuple(item.index for item in refused),
            )
        )
    except Exception:  # the operations themselves are right; only the batch's summary is stale
        logger.exception("could not update the batch record")


def _count(operation: OperationName, accepted: list[_Item], refused: list[_Item]) -> None:
    metrics.batch_accepted(operation, len(accepted), len(refused))
    if accepted:
        metrics.accepted(operation, len(accepted))
    for code, count in Counter(item.problem.code for item in refused if item.problem is not None).items():
        metrics.refused(operation, code, count)


def _answer(item: _Item) -> dict[str, Any]:
    if item.problem is not None:
        return {"index": item.index, "problem": _item_problem(item.problem)}
    return {"index": item.index, "operation_id": item.operation_id}


def _within_budget(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items' answers, shortened further when even compressed they would not fit the Idempotency-Key's record
    (refusals that echo long unknown field names do not compress): first to one field error and a short detail,
    then to none. Decided before answering, so a replay gives exactly the first answer."""
    for shorten in (_first_error_only, _no_errors):
        text = json.dumps(answers, ensure_ascii=False).encode()
        if len(text) <= ANSWER_BUDGET or len(gzip.compress(text, mtime=0)) <= ANSWER_BUDGET:
            return answers
        for answer in answers:
            if "problem" in answer:
                shorten(answer["problem"])
    return answers


def _first_error_only(problem: dict[str, Any]) -> None:
    problem["detail"] = clip(problem["detail"], SHORT_DETAIL)
    problem["errors"] = [
        {"field": clip(error["field"], SHORT_FIELD), "message": clip(error["message"], SHORT_DETAIL)}
        for error in problem["errors"][:1]
    ]


def _no_errors(problem: dict[str, Any]) -> None:
    problem["detail"] = clip(problem["detail"], SHORT_DETAIL)
    problem["errors"] = []


def _item_problem(error: ApiError) -> dict[str, Any]:
    """The problem its route would answer, shorter: a thousand of them must fit one answer (Lambda's 6 MB) and
    the Idempotency-Key's record (DynamoDB's 400 KB, compressed). Its first fields still name what is wrong."""
    document = error.problem()
    document["detail"] = clip(document["detail"], ITEM_DETAIL)
    document["errors"] = document["errors"][:ITEM_ERRORS]
    return document
