import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from textgate.openapi import document
from textgate.settings import SettingsError, get_settings

ROOT = Path(__file__).resolve().parents[2]


def test_a_name_the_function_was_not_given_fails_loudly_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPERATIONS_TABLE", raising=False)
    monkeypatch.setenv("LIMITS_TABLE", "limits")
    settings = get_settings()  # a function that uses no operations starts
    assert settings.limits_table == "limits"
    with pytest.raises(SettingsError, match="OPERATIONS_TABLE is not set"):
        _ = settings.operations_table


def test_a_name_given_empty_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATIONS_TABLE", " ")
    with pytest.raises(SettingsError, match="OPERATIONS_TABLE"):
        get_settings()


def start(function: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A cold start: the function's module imported in a fresh interpreter, as Lambda's init does."""
    path = [str(ROOT / "layers" / "shared"), str(ROOT / "functions" / function)]
    kept = {name: value for name, value in os.environ.items() if name in ("PATH", "SYSTEMROOT")}
    return subprocess.run(
        [sys.executable, "-c", f"import {function}"],
        env=kept | environment | {"PYTHONPATH": os.pathsep.join(path), "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_bad_environment_fails_the_cold_start_not_each_request() -> None:
    given = {"OPERATIONS_TABLE": "operations"}
    assert start("get_operation", given).returncode == 0

    failed = start("get_operation", given | {"MAX_ATTEMPTS": "0", "PROVIDER_TIMEOUT_SECONDS": "soon"})
    assert failed.returncode != 0
    assert "SettingsError: invalid or missing settings: PROVIDER_TIMEOUT_SECONDS, MAX_ATTEMPTS" in failed.stderr
    (line,) = [json.loads(line) for line in failed.stdout.splitlines() if line.startswith("{")]
    assert line["level"] == "CRITICAL" and "MAX_ATTEMPTS" in line["error"]


def test_settings_are_validated(unit_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_ATTEMPTS", "0")
    with pytest.raises(SettingsError, match="MAX_ATTEMPTS"):
        get_settings()


def test_timeouts_add_up_to_the_provider_timeout(unit_settings: dict[str, str]) -> None:
    connect, read = get_settings().provider_timeouts
    assert connect + read == pytest.approx(10.0) and connect <= 3


def test_openapi_document_is_valid_openapi_3_1() -> None:
    spec = document()
    validate(spec)  # type: ignore[arg-type]
    assert "/v1/ogangi/sms" in spec["paths"]
    assert spec["paths"]["/v1/health"]["get"]["security"] == []


def test_openapi_describes_every_route_of_the_template() -> None:
    from textgate_local.template import Template, api_routes

    paths = document()["paths"]
    for route in api_routes(Template.read()):
        if route.method != "ANY":  # every other method: 405, not an operation
            assert route.method.lower() in paths.get(route.path, {}), f"{route.method} {route.path} is not documented"


def parameter(path: str, method: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in document()["paths"][path][method]["parameters"] if p["name"] == name)
    return found


def test_query_and_path_parameters_carry_the_models_types_bounds_enums_and_patterns() -> None:
    assert parameter("/v1/ogangi/mo", "get", "page")["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100_000,
        "default": 1,
    }
    assert parameter("/v1/sumotext/events", "get", "kind")["schema"]["enum"] == [
        "crm",
        "poll",
        "text4info",
        "mo",
        "dlr",
    ]
    assert parameter("/v1/sumotext/events", "get", "limit")["schema"]["maximum"] == 100
    assert parameter("/v1/sumotext/events", "get", "since")["schema"]["format"] == "date-time"
    assert parameter("/v1/sumotext/callbacks/{kind}", "get", "kind")["schema"]["enum"][0] == "crm"
    assert parameter("/v1/operations/{id}", "get", "id")["schema"]["pattern"] == "^op_[0-9a-f]{24}$"
    assert parameter("/v1/opt-outs/{phone}", "put", "phone")["schema"]["format"] == "phone"
    campaign = parameter("/v1/interact/campaigns/{campaign_id}/sms", "post", "campaign_id")
    assert campaign["required"] and campaign["schema"]["maxLength"] == 256
    assert campaign["schema"]["not"] == {"enum": [".", ".."]}
    for path, operations in document()["paths"].items():
        for operation in operations.values():
            for item in operation["parameters"]:
                assert item["schema"] != {"type": "string"} or path.startswith("/v1/sumotext/callbacks"), item


def test_a_missing_key_is_documented_as_api_gateway_answers_it() -> None:
    spec = document()
    forbidden = spec["paths"]["/v1/ogangi/sms"]["post"]["responses"]["403"]
    assert forbidden["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}}
    assert spec["components"]["schemas"]["GatewayMessage"]["required"] == ["message"]
    callback = spec["paths"]["/v1/sumotext/callbacks/{kind}"]["get"]["responses"]
    assert "token" in callback["403"]["description"] and "400" not in callback
    assert "application/problem+json" in callback["403"]["content"]


def test_the_operation_says_its_statuses_and_times() -> None:
    schemas = document()["components"]["schemas"]
    view = schemas["OperationView"]["properties"]
    assert schemas["Status"]["enum"] == [
        "scheduled",
        "queued",
        "sending",
        "retrying",
        "succeeded",
        "failed",
        "unknown",
        "canceled",
    ]
    assert view["send_at"]["anyOf"][0]["format"] == "date-time"
    assert view["created_at"]["format"] == view["updated_at"]["format"] == "date-time"
    for name in ("/v1/ogangi/sms", "/v1/protexting/opt-ins"):
        assert {"400", "415", "422"} <= set(document()["paths"][name]["post"]["responses"])


def test_rules_between_fields_are_in_the_document_too() -> None:
    schemas = document()["components"]["schemas"]
    sms = schemas["SendSmsRequest"]
    assert {"carrier_id", "flags"} == {rule["not"]["required"][1] for rule in sms["allOf"]}
    assert sms["properties"]["from"]["anyOf"][0]["pattern"] == r"^\+?[0-9A-Za-z]+$"  # the sender's, not looser
    assert len(schemas["InitiateConversationRequest"]["oneOf"]) == 2  # merchant_id or advertiser_id
    # Over REST (the default) sending from the master account is a 422: the document says false is all it takes.
    assert schemas["SendCampaignSmsRequest"]["properties"]["send_from_master_account"]["const"] is False
