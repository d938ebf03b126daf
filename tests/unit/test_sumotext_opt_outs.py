"""The suppression list's logic without AWS: the {phone} of a route, the answer's shape, record_opt_out."""

from __future__ import annotations

from typing import Any

import pytest

from textgate.dal.suppression import SuppressionEntry
from textgate.errors import ApiError
from textgate.logic import opt_outs


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+12125551212", None, "+12125551212"),
        ("%2B12125551212", None, "+12125551212"),
        ("%2b12125551212", None, "+12125551212"),
        (" 12125551212", None, "+12125551212"),
        ("2125551212", "US", "+12125551212"),
        ("4165551234", "CA", "+14165551234"),
    ],
)
def test_the_phone_of_a_route(raw: str, country: str | None, expected: str) -> None:
    assert opt_outs.parse_phone(raw, country) == expected


@pytest.mark.parametrize(("raw", "country"), [("2125551212", None), ("+1555", None), ("abc", "US"), ("", None)])
def test_a_phone_that_cannot_be_read_is_422(raw: str, country: str | None) -> None:
    with pytest.raises(ApiError) as raised:
        opt_outs.parse_phone(raw, country)
    assert raised.value.status == 422 and raised.value.errors[0]["field"] == "phone"


def test_a_number_never_listed_is_not_opted_out() -> None:
    assert opt_outs.view("+12125551212", None).model_dump() == {
        "phone": "+12125551212",
        "opted_out": False,
        "source": None,
        "changed_by": None,
        "updated_at": None,
    }
    entry = SuppressionEntry(
        phone="+12125551212", opted_out=True, source="api", changed_by="local", updated_at=1_795_860_000.9
    )
    shown = opt_outs.view("+12125551212", entry)
    assert shown.updated_at == "2026-11-28T10:00:00Z" and shown.changed_by == "local"


def test_record_opt_out_takes_e164_or_international_digits(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        opt_outs,
        "set_opted_out",
        lambda number, out, *, source, changed_by: calls.append((number, out, source, changed_by)),
    )
    opt_outs.record_opt_out("+16465550123", source="protexting")
    opt_outs.record_opt_out("16465550123", source="protexting")
    opt_outs.record_opt_out("not a number", source="protexting")
    assert calls == [("+16465550123", True, "protexting", "protexting")] * 2
