"""Validation with field-level errors: a pydantic failure becomes a 422 naming every bad field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from textgate.errors import ValidationFailed


def field_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"] if part != "__root__")
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        errors.append({"field": prefix + location if location else prefix.rstrip(".") or "body", "message": message})
    return errors


def validate[M: BaseModel](model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise ValidationFailed(
            "the body must be a JSON object", errors=[{"field": "body", "message": "must be a JSON object"}]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise ValidationFailed(
            "invalid " + ", ".join(sorted({error["field"] for error in errors})), errors=errors
        ) from None
