"""The status-callback signing secret as the API shows it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from textgate.models import OperationView, Timestamp

SECRET_PATTERN = r"^whsec_[A-Za-z0-9+/]{32,}={0,2}$"  # noqa: S105 - the form of a secret, not one


class WebhookSecret(BaseModel):
    """The client's own secret: every status callback is signed with it (Standard Webhooks)."""

    secret: str = Field(
        pattern=SECRET_PATTERN,
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw5y1C7G8Yq0A="],
        description="whsec_ + Base64 of 32 random bytes; give it to any Standard Webhooks verifier",
    )
    created_at: Timestamp
    previous_secret_expires_at: Timestamp | None = Field(
        default=None,
        description="after a rotation, the previous secret keeps signing beside this one (two signatures) until then",
    )


class StatusCallbackEvent(BaseModel):
    """What textgate POSTs to an operation's status_callback when it reaches a final status."""

    type: str = Field(
        pattern=r"^operation\.(succeeded|failed|unknown|canceled)$",
        examples=["operation.succeeded"],
        description="operation. + the final status",
    )
    timestamp: Timestamp = Field(description="when the operation reached that status")
    data: OperationView = Field(description="the operation as GET /v1/operations/{id} shows it")
