"""POST /v1/batches: many items of one operation in one request, each validated as its own route would."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictBool

from textgate.models import Status
from textgate.schemas.common import RequestModel, Text

MAX_ITEMS = 1000
BATCHABLE = ("ogangi.send_sms", "interact.send_campaign_sms", "protexting.opt_in")


class BatchRequest(RequestModel):
    operation: Literal["ogangi.send_sms", "interact.send_campaign_sms", "protexting.opt_in"] = Field(
        examples=["ogangi.send_sms"], description="what every item does"
    )
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
    all_or_nothing: StrictBool = Field(
        default=False, description="true: one refused item refuses the whole batch (422) and nothing is queued"
    )


class BatchOperationsQuery(RequestModel):
    status: Status | None = Field(default=None, description="only operations in this status")
    limit: int = Field(default=50, ge=1, le=100, description="Items per page, 1 to 100")
    cursor: Text | None = Field(default=None, min_length=1, max_length=2048, description="`next_cursor` of a page")
