"""Validation with field-level errors: a pydantic failure becomes a 422 naming every bad field (at most 50)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from textgate.errors import MAX_ERRORS, ApiError, ValidationFailed
from textgate.sendable import NOT_SENDABLE, SENDABLE_PATTERN

EXTRA_FORBIDDEN = "Extra inputs are not permitted"


def field_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"] if part != "__root__")
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        elif error["type"] == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == SENDABLE_PATTERN:
            message = NOT_SENDABLE
        errors.append({"field": prefix + location if location else prefix.rstrip(".") or "body", "message": message})
    return errors


def invalid(errors: list[dict[str, str]], total: int | None = None) -> ApiError:
    """The 422 for these field errors (`total` of them in all): the answer lists the first 50, and says so."""
    fields = sorted({error["field"] for error in errors[:MAX_ERRORS]})
    more = (len(errors) if total is None else total) - MAX_ERRORS
    return ValidationFailed(
        "invalid " + ", ".join(fields) + (f" (and {more} more errors)" if more > 0 else ""), errors=errors
    )


def _known_fields(model: type[BaseModel]) -> frozenset[str] | None:
    """The keys a model takes, when it refuses every other one (None: it does not)."""
    if model.model_config.get("extra") != "forbid":
        return None
    names = set(model.model_fields)
    names.update(info.alias for info in model.model_fields.values() if info.alias)
    return frozenset(names)


def validate[M: BaseModel](model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise ValidationFailed(
            "the body must be a JSON object", errors=[{"field": "body", "message": "must be a JSON object"}]
        )
    known = _known_fields(model)
    unknown = [key for key in data if key not in known] if known is not None else []
    if known is not None and unknown:
        # Named here, cheaply, rather than by pydantic, which would build one error per unknown key (a body of
        # 600,000 of them took seconds); only the known fields go through the model, for their own errors.
        errors = [{"field": str(key), "message": EXTRA_FORBIDDEN} for key in unknown[:MAX_ERRORS]]
        try:
            model.model_validate({key: value for key, value in data.items() if key in known})
        except ValidationError as exc:
            errors = field_errors(exc) + errors
        raise invalid(errors, total=len(errors) + len(unknown) - len(unknown[:MAX_ERRORS]))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(field_errors(exc)) from None
