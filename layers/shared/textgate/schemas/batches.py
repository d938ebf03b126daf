"""POST /v1/batches: many items of one operation in one request, each validated as its own route would."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, WithJsonSchema

from textgate.errors import Problem
from textgate.models import BATCH_ID_PATTERN, OPERATION_ID_PATTERN, OperationView, Status, Timestamp
from textgate.registry import BATCHABLE, OperationName
from textgate.schemas.common import RequestModel, StatusCallback, Text

MAX_ITEMS = 1000


def _batchable(value: OperationName) -> OperationName:
    if value not in BATCHABLE:
        raise ValueError("must be one of " + ", ".join(sorted(BATCHABLE)))
    return value


# The operations the registry marks `batchable`, and only those, in the document too.
BatchableOperation = Annotated[
    OperationName,
    AfterValidator(_batchable),
    WithJsonSchema({"type": "string", "enum": sorted(BATCHABLE)}),
]


class BatchRequest(RequestModel):
    operation: BatchableOperation = Field(examples=["ogangi.send_sms"], description="what every item does")
    campaign_id: str | None = Field(
        default=None, examples=["campaign1"], description="Interact's campaign (interact.send_campaign_sms only)"
    )
    items: list[Any] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="each the body its route takes (POST /v1/ogangi/sms, /v1/interact/campaigns/{campaign_id}/sms, "
        "/v1/protexting/opt-ins); a bad item is refused alone unless `all_or_nothing`",
        json_schema_extra={"items": {"type": "object"}},
    )
    status_callback: StatusCallback | None = Field(
        default=None,
        description="where every item's final status is POSTed (see Status callbacks), unless the item names its own",
    )
    all_or_nothing: StrictBool = Field(
        default=False, description="true: one refused item refuses the whole batch (422) and nothing is queued"
    )


class BatchOperationsQuery(RequestModel):
    status: Status | None = Field(default=None, description="only operations in this status")
    limit: int = Field(default=50, ge=1, le=100, description="Items per page, 1 to 100")
    cursor: Text | None = Field(default=None, min_length=1, max_length=2048, description="`next_cursor` of a page")


class BatchPath(RequestModel):
    """{id} of /v1/batches/{id} (another value is simply not found)."""

    id: str = Field(pattern=BATCH_ID_PATTERN, examples=["bat_3f9a1c0e5b7d2a4c6e8f0a1b"])


class BatchItemResult(BaseModel):
    """One item of a batch: the operation it became, or the problem its route would have answered."""

    model_config = ConfigDict(defer_build=True)  # built by the OpenAPI document and the tests, not at import

    index: int = Field(ge=0, lt=MAX_ITEMS)
    operation_id: str | None = Field(default=None, pattern=OPERATION_ID_PATTERN)
    problem: Problem | None = None


class BatchView(BaseModel):
    """The answer to POST /v1/batches."""

    model_config = ConfigDict(defer_build=True)  # built by the OpenAPI document and the tests, not at import

    id: str = Field(pattern=BATCH_ID_PATTERN)
    operation: str = Field(examples=["ogangi.send_sms"])
    accepted: int = Field(ge=0, description="items that became operations")
    refused: int = Field(ge=0, description="items refused, each with its problem")
    items: list[BatchItemResult]
    created_at: Timestamp


class BatchSummary(BaseModel):
    """GET /v1/batches/{id}: the batch and its operations counted by status."""

    model_config = ConfigDict(defer_build=True)  # built by the OpenAPI document and the tests, not at import

    id: str = Field(pattern=BATCH_ID_PATTERN)
    operation: str = Field(examples=["ogangi.send_sms"])
    accepted: int = Field(ge=0)
    refused: int = Field(ge=0)
    created_at: Timestamp
    counts: dict[Status, int] = Field(
        examples=[{"queued": 3, "succeeded": 94}], description="operations by status; a status with none is left out"
    )


class BatchOperationsPage(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built by the OpenAPI document and the tests, not at import

    items: list[OperationView]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")
