import pytest
from openapi_spec_validator import validate

from textgate.openapi import document
from textgate.settings import SettingsError, get_settings


def test_missing_settings_fail_loudly_naming_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPERATIONS_TABLE", raising=False)
    with pytest.raises(SettingsError, match="OPERATIONS_TABLE"):
        get_settings()


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
