"""GET /v1/openapi.json serves the document the layer's build wrote, or builds it where there is none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textgate import openapi_served
from textgate.openapi import PROTOCOLS, document_for, shipped_name, write_shipped


@pytest.fixture(autouse=True)
def fresh() -> None:
    openapi_served.served_document.cache_clear()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_shipped_file_is_served_for_the_deployments_protocol(
    protocol: str, tmp_path: Path, unit_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERACT_PROTOCOL", protocol)
    write_shipped(str(tmp_path))
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(shipped_name(name) for name in PROTOCOLS)
    monkeypatch.setattr(openapi_served, "__file__", str(tmp_path / "openapi_served.py"))
    served = openapi_served.served_document()
    assert served == json.loads(json.dumps(document_for(protocol)))
    master = served["components"]["schemas"]["SendCampaignSmsRequest"]["properties"]["send_from_master_account"]
    assert ("const" in master) is (protocol == "rest")


def test_without_a_shipped_file_the_document_is_built(unit_settings: dict[str, str]) -> None:
    assert not Path(openapi_served.__file__).with_name(shipped_name("rest")).exists()
    assert openapi_served.served_document() == document_for("rest")
