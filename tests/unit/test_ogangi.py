"""Ogangi without the network: request rules, answers read as Ogangi means them, inbound pages and their dates."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel

from textgate.errors import ValidationFailed
from textgate.logic.inbound import inbound_page, sent_at
from textgate.providers import ogangi
from textgate.providers.outcome import Verdict
from textgate.providers.transport import HttpAnswer
from textgate.schemas.ogangi import ListMoQuery, SendPinRequest, SendSmsRequest
from textgate.validation import validate

# The seed's own sendSMS answer, as the seed prints it.
SEED_SEND_SMS = (
    "<input>sendSMS</input> <status>OK</status> <description>Completed</description> <result> <messages> "
    "<message> <id>-8174720676710228700</id> <carrier>carrierName</carrier> <from>19893653744</from> "
    "<to>13056708084</to> <text>OGANGI TEST MESSAGE</text> <status>SENT_TO_CARRIER</status> "
    "<statusDescription>Sent to Carrier</statusDescription> <encoding>UTF-8</encoding> "
    "<date>2013-09-17T10:13:59.176-04:30</date> <timezone>America/Caracas</timezone> "
    "<clientId>As223sdadq8d8287v5v</clientId> </message> </messages> </result>"
)
# The seed's own getMOMessages answer: its last <MOMessageList> should have been a closing tag.
SEED_MO = (
    "<input>getMOMessages</input> <status>OK</status> <description>Completed</description> <result> "
    "<MOMessageList> <records>17</records> <MessageList> <MOMessage> <text>Test</text> <from>58123456789</from> "
    "<to>19893143924</to> <encoding>UTF-8</encoding> <keyword>^OGANGI.*</keyword> <carrier>Movistar</carrier> "
    "<sendDate>2014-10-13 10:30:51.922</sendDate> </MOMessage> </MessageList> <MOMessageList> </result>"
)
SEED_ITEM = {
    "text": "Test",
    "from": "58123456789",
    "to": "19893143924",
    "encoding": "UTF-8",
    "keyword": "^OGANGI.*",
    "carrier": "Movistar",
    "sent_at": "2014-10-13 10:30:51.922",
    "timezone": None,
}


def refused_fields(model: type[BaseModel], body: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationFailed) as refused:
        validate(model, body)
    return {error["field"] for error in refused.value.errors}


# -- the request: carrier (a name) and carrier_id (an id) ---------------------------------------------------


def test_carrier_id_is_its_own_field_and_needs_no_flags() -> None:
    request = validate(SendSmsRequest, {"to": "+13056708084", "text": "Hello", "carrier_id": "214"})
    assert request.carrier_id == "214" and request.carrier is None and request.flags is None


def test_carrier_with_carrier_id_or_flags_is_refused_naming_them() -> None:
    base = {"to": "+13056708084", "text": "Hello", "carrier": "Movistar"}
    assert refused_fields(SendSmsRequest, {**base, "carrier_id": "214"}) == {"carrier_id"}
    assert refused_fields(SendSmsRequest, {**base, "flags": "x"}) == {"flags"}
    assert refused_fields(SendSmsRequest, {**base, "carrier_id": "214", "flags": "x"}) == {"carrier_id", "flags"}


def test_send_mt_with_a_carrier_id_and_flags_is_accepted() -> None:
    request = validate(SendSmsRequest, {"to": "+13056708084", "text": "Hi", "carrier_id": "214", "flags": "a b"})
    assert (request.carrier_id, request.flags) == ("214", "a b")


@pytest.mark.parametrize("value", [".", "..", "Movi\x00star", "a\x1fb", "tab\there", "line\nbreak", "\x7f", "\x85"])
@pytest.mark.parametrize("field", ["carrier", "carrier_id", "flags", "from"])
def test_path_segment_values_refuse_dot_segments_and_control_characters(field: str, value: str) -> None:
    body = {"to": "+13056708084", "text": "Hello", field: value}
    assert refused_fields(SendSmsRequest, body) == {field}


def test_pin_carrier_and_mo_filter_are_path_segments_too() -> None:
    assert refused_fields(SendPinRequest, {"to": "+13056708084", "text": "c", "carrier": ".."}) == {"carrier"}
    assert refused_fields(ListMoQuery, {"filter": ".."}) == {"filter"}
    assert refused_fields(ListMoQuery, {"filter": "JOIN\x00"}) == {"filter"}


def test_dots_inside_a_value_are_fine() -> None:
    request = validate(SendSmsRequest, {"to": "+13056708084", "text": "x", "carrier": "Movistar.ve"})
    assert request.carrier == "Movistar.ve"
    assert validate(ListMoQuery, {"filter": "..."}).filter == "..."


def test_the_seeds_example_values_are_accepted() -> None:
    request = validate(
        SendSmsRequest, {"to": "+13056708084", "text": "OGANGI TEST MESSAGE", "from": "19893653744", "carrier": "M"}
    )
    assert (request.to, request.sender) == ("+13056708084", "19893653744")


# -- sendSMS: the per-message <status> ----------------------------------------------------------------------


def answer(body: str, status: int = 200) -> HttpAnswer:
    return HttpAnswer(status=status, headers={}, body=body.encode("utf-8"))


def send_sms_answer(message_status: str, description: str = "x") -> HttpAnswer:
    return answer(SEED_SEND_SMS.replace("SENT_TO_CARRIER", message_status).replace("Sent to Carrier", description))


def test_the_seeds_send_sms_answer_is_a_success_with_its_values() -> None:
    outcome = ogangi.interpret(answer(SEED_SEND_SMS), ogangi.read_sms_result)
    assert outcome.verdict is Verdict.SUCCEEDED and outcome.result is not None
    assert outcome.result["provider_message_id"] == "-8174720676710228700"
    assert outcome.result["provider_status"] == "SENT_TO_CARRIER"
    assert outcome.result["status_description"] == "Sent to Carrier"
    assert outcome.result["carrier"] == "carrierName"
    assert outcome.result["date"] == "2013-09-17T10:13:59.176-04:30"
    assert outcome.result["timezone"] == "America/Caracas"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("BLACKLISTED", "recipient_blocked"),
        ("CODE_NOT_ALLOWED", "sender_not_allowed"),
        ("SEGMENTS_EXCEEDED", "message_too_long"),
        ("INVALID_ROUTING", "invalid_routing"),
        ("EXHAUSTED", "message_not_sent"),
        ("REJECTD", "message_not_sent"),
        ("UNDELIV", "message_not_sent"),
        ("EXPIRED", "message_not_sent"),
    ],
)
def test_a_failure_status_of_the_message_is_a_failure_with_ogangis_words(status: str, code: str) -> None:
    outcome = ogangi.interpret(send_sms_answer(status, "Number in black list"), ogangi.read_sms_result)
    assert outcome.verdict is Verdict.REJECTED, outcome
    assert outcome.code == code
    assert outcome.message is not None and status in outcome.message and "Number in black list" in outcome.message


@pytest.mark.parametrize("status", ["SENT_TO_CARRIER", "QUEUE", "DEQUEUED", "INCOMPLETE", "SENT", "ENROUTE", "ACCEPTD"])
def test_statuses_of_a_message_on_its_way_are_success(status: str) -> None:
    outcome = ogangi.interpret(send_sms_answer(status), ogangi.read_sms_result)
    assert outcome.verdict is Verdict.SUCCEEDED and outcome.result is not None
    assert outcome.result["provider_status"] == status


def test_an_unrecognised_status_is_kept_and_not_reported_as_a_failure() -> None:
    outcome = ogangi.interpret(send_sms_answer("PENDING_REVIEW", "Held"), ogangi.read_sms_result)
    assert outcome.verdict is Verdict.SUCCEEDED and outcome.result is not None
    assert outcome.result["provider_status"] == "PENDING_REVIEW"
    assert outcome.result["status_description"] == "Held"
    assert outcome.result["provider_status_recognised"] is False


# -- getMOMessages: one unreadable message does not hide the page -------------------------------------------


def mo_page(*messages: str, records: int = 3) -> HttpAnswer:
    return answer(
        "<input>getMOMessages</input> <status>OK</status> <description>Completed</description> <result> "
        f"<MOMessageList> <records>{records}</records> <MessageList> {' '.join(messages)} </MessageList> "
        "</MOMessageList> </result>"
    )


def message(text: str = "Hi", sender: str = "58123456789", date: str = "2014-10-13 10:30:51.922") -> str:
    return (
        f"<MOMessage> <text>{text}</text> <from>{sender}</from> <to>19893143924</to> <encoding>UTF-8</encoding> "
        f"<keyword>HI</keyword> <carrier>Movistar</carrier> <sendDate>{date}</sendDate> </MOMessage>"
    )


def listed(page: HttpAnswer) -> dict[str, Any]:
    outcome = ogangi.interpret(page, ogangi.read_mo_list_result, ogangi.parse_mo_answer)
    assert outcome.verdict is Verdict.SUCCEEDED, outcome
    assert outcome.result is not None
    return outcome.result


def test_the_seeds_malformed_sample_is_read_and_nothing_is_unreadable() -> None:
    result = listed(answer(SEED_MO))
    assert result["total"] == 17 and result["unreadable"] == 0
    assert [{key: item[key] for key in SEED_ITEM} for item in result["items"]] == [SEED_ITEM]


def test_an_invalid_xml_character_spoils_only_its_own_message() -> None:
    result = listed(mo_page(message("first"), message("bad \x01 one"), message("third")))
    assert [item["text"] for item in result["items"]] == ["first", "bad \ufffd one", "third"]
    assert result["unreadable"] == 1
    assert [item["readable"] for item in result["items"]] == [True, False, True]
    assert result["items"][1]["from"] == "58123456789"  # what could be read is listed


def test_an_invalid_character_reference_spoils_only_its_own_message() -> None:
    result = listed(mo_page(message("ok"), message("bell &#7; rings")))
    assert result["unreadable"] == 1 and len(result["items"]) == 2
    assert result["items"][1]["from"] == "58123456789"


def test_a_broken_element_keeps_the_fields_that_can_be_read() -> None:
    broken = (
        "<MOMessage> <text>Hello</txet> <from>58123456789</from> <to>19893143924</to> <encoding>UTF-8</encoding> "
        "<keyword>HI</keyword> <carrier>Digitel & Co</carrier> <sendDate>2014-10-13 10:30:51.922</sendDate> "
        "</MOMessage>"
    )
    result = listed(mo_page(message("before"), broken, message("after")))
    assert [item["text"] for item in result["items"]] == ["before", None, "after"]
    bad = result["items"][1]
    assert (bad["from"], bad["to"], bad["keyword"], bad["carrier"]) == ("58123456789", "19893143924", "HI", None)
    assert bad["sent_at"] == "2014-10-13 10:30:51.922"
    assert result["unreadable"] == 1 and result["total"] == 3


def test_a_message_cut_short_is_listed_with_what_it_has() -> None:
    cut = "<MOMessage> <text>cut</text> <from>5812"
    result = listed(mo_page(message("whole"), cut))
    assert [item["text"] for item in result["items"]] == ["whole", "cut"]
    assert result["items"][1]["from"] is None and result["unreadable"] == 1


def test_a_timezone_given_with_a_message_is_kept() -> None:
    zoned = message("tz").replace("</sendDate>", "</sendDate> <timezone>America/Caracas</timezone>")
    result = listed(mo_page(zoned))
    assert result["items"][0]["timezone"] == "America/Caracas" and result["unreadable"] == 0


def test_a_page_whose_envelope_cannot_be_read_is_still_malformed() -> None:
    outcome = ogangi.interpret(
        answer("<input>getMOMessages<status>"), ogangi.read_mo_list_result, ogangi.parse_mo_answer
    )
    assert outcome.verdict is Verdict.UNKNOWN and outcome.code == "provider_malformed_answer"


# -- inbound dates: the offset or time zone Ogangi gives is honoured ----------------------------------------


@pytest.mark.parametrize(
    ("date", "zone", "expected"),
    [
        ("2014-10-13 10:30:51.922", None, "2014-10-13T10:30:51Z"),  # no zone given: the account's (UTC here)
        ("2013-09-17T10:13:59.176-04:30", None, "2013-09-17T14:43:59Z"),  # the seed's sendSMS date format
        ("2013-09-17T10:13:59.176-0430", None, "2013-09-17T14:43:59Z"),  # Java's Z pattern
        ("2014-10-13 10:30:51.922 -04:30", None, "2014-10-13T15:00:51Z"),
        ("2014-10-13 10:30:51.922+02:00", None, "2014-10-13T08:30:51Z"),
        ("2014-10-13 10:30:51.922", "America/Caracas", "2014-10-13T15:00:51Z"),  # -04:30 in 2014
        ("2026-11-22 10:30:51.922", "America/Caracas", "2026-11-22T14:30:51Z"),  # -04:00 since 2016
        ("2014-10-13 10:30:51.922", "-03:00", "2014-10-13T13:30:51Z"),
        ("2014-10-13 10:30:51.922", "GMT-03:00", "2014-10-13T13:30:51Z"),
        ("2014-10-13 10:30:51.922", "UTC", "2014-10-13T10:30:51Z"),
        ("2013-09-17T10:13:59.176-04:30", "Europe/Madrid", "2013-09-17T14:43:59Z"),  # the date's own offset wins
    ],
)
def test_sent_at_honours_the_offset_or_zone_given(date: str, zone: str | None, expected: str) -> None:
    assert sent_at(date, zone) == expected


def test_a_date_without_a_zone_is_read_in_the_accounts_zone() -> None:
    # The seed's own sample has neither offset nor <timezone>: OGANGI_TIME_ZONE says where the account is.
    caracas = ZoneInfo("America/Caracas")
    assert sent_at("2026-11-22 10:30:51.922", None, caracas) == "2026-11-22T14:30:51Z"
    assert sent_at("2026-11-22 10:30:51.922", " ", caracas) == "2026-11-22T14:30:51Z"  # a blank <timezone>
    # What Ogangi gives with the message still comes first.
    assert sent_at("2026-11-22 10:30:51.922", "UTC", caracas) == "2026-11-22T10:30:51Z"
    assert sent_at("2026-11-22T10:30:51.922+01:00", None, caracas) == "2026-11-22T09:30:51Z"
    page = inbound_page({"total": 1, "items": [{**SEED_ITEM, "readable": True}]}, ListMoQuery(), caracas)
    assert page.items[0].sent_at == "2014-10-13T15:00:51Z"  # Caracas was -04:30 in 2014


def test_the_account_zone_setting_defaults_to_utc_and_must_be_a_known_zone() -> None:
    from textgate.settings import Settings

    base = {field.alias: "x" for field in Settings.model_fields.values() if field.is_required() and field.alias}
    assert Settings.model_validate(base).ogangi_time_zone == "UTC"
    assert Settings.model_validate({**base, "OGANGI_TIME_ZONE": "America/Caracas"}).ogangi_time_zone == (
        "America/Caracas"
    )
    with pytest.raises(ValueError, match="IANA time zone"):
        Settings.model_validate({**base, "OGANGI_TIME_ZONE": "Mars/Olympus_Mons"})


def test_sent_at_that_cannot_be_read_is_null() -> None:
    assert sent_at("yesterday", None) is None
    assert sent_at("2014-10-13 10:30:51.922", "Mars/Olympus_Mons") is None
    assert sent_at(None, "UTC") is None


def test_the_page_counts_messages_not_read_whole_and_shows_only_the_documented_fields() -> None:
    items = [
        {**SEED_ITEM, "readable": True},
        {**SEED_ITEM, "text": None, "readable": False},
        {**SEED_ITEM, "sent_at": "13/10/2014", "readable": True},  # a date that cannot be read
    ]
    page = inbound_page({"total": 17, "items": items}, ListMoQuery()).model_dump(mode="json", by_alias=True)
    assert page["unreadable"] == 2 and page["total"] == 17 and (page["page"], page["per_page"]) == (1, 50)
    assert set(page["items"][0]) == {"text", "from", "to", "encoding", "keyword", "carrier", "sent_at"}
    assert page["items"][0]["sent_at"] == "2014-10-13T10:30:51Z" and page["items"][2]["sent_at"] is None


def test_the_openapi_document_states_the_path_segment_rule() -> None:
    import re

    from textgate.openapi import document

    schemas = document()["components"]["schemas"]
    for model, field in (("SendSmsRequest", "carrier"), ("SendSmsRequest", "carrier_id"), ("SendSmsRequest", "flags")):
        [schema] = [option for option in schemas[model]["properties"][field]["anyOf"] if option["type"] == "string"]
        pattern = re.compile(schema["pattern"])
        for refused in (".", "..", "a\x00b", "\x85"):
            assert not pattern.search(refused), (field, refused)
        for accepted in ("Movistar", "...", "a.b", "214"):
            assert pattern.search(accepted), (field, accepted)


class RecordingClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def send_sms(self, **kwargs: Any) -> str:
        self.calls.append(("send_sms", kwargs))
        return "sent"

    def send_mt(self, **kwargs: Any) -> str:
        self.calls.append(("send_mt", kwargs))
        return "sent"


@pytest.mark.parametrize(
    ("payload", "call", "carrier", "flags"),
    [
        ({"carrier": "Movistar", "carrier_id": None, "flags": None}, "send_sms", "Movistar", None),
        ({"carrier": None, "carrier_id": "214", "flags": None}, "send_mt", "214", None),
        ({"carrier": None, "carrier_id": "214", "flags": "f"}, "send_mt", "214", "f"),
        ({"carrier": None, "carrier_id": None, "flags": None}, "send_mt", None, None),
        ({"carrier": None}, "send_mt", None, None),  # accepted before carrier_id existed
        ({"carrier": "7", "flags": "f"}, "send_mt", "7", "f"),  # before carrier_id: carrier with flags was the id
    ],
)
def test_the_stored_payload_chooses_the_call(
    monkeypatch: pytest.MonkeyPatch, payload: dict[str, Any], call: str, carrier: str | None, flags: str | None
) -> None:
    from textgate.executors import ogangi as executor
    from textgate.models import Operation

    recording = RecordingClient()
    monkeypatch.setattr(executor, "client", lambda: recording)
    payload = {"to": "+13056708084", "text": "Hello", "from": "19893653744", **payload}
    operation = Operation.new(operation="ogangi.send_sms", client="c", payload=payload)
    executor.send_sms(operation)
    [(made, arguments)] = recording.calls
    assert made == call
    assert arguments.get("carrier", arguments.get("carrier_id")) == carrier
    assert arguments.get("flags") == flags
    assert arguments["mobile"] == "13056708084"


def test_zone_names_are_read_without_a_system_zone_database() -> None:
    # The Lambda runtime may have no /usr/share/zoneinfo: the layer's tzdata package must answer instead.
    import zoneinfo

    zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        assert sent_at("2026-11-22 10:30:51.922", "America/Caracas") == "2026-11-22T14:30:51Z"
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()
