"""Each client's status-callback signing secret against moto: made on first use, encrypted under the stack's key
with the client as its context, shown only to its client, rotated with a day of overlap."""

from __future__ import annotations

import base64
import importlib
import itertools
import json
import os
import sys
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from textgate import aws, clock
from textgate.dal import webhook_secrets as store
from textgate.logic import webhook_secrets
from textgate_local.template import ROOT

_clients = itertools.count()


def new_client() -> str:
    return f"client-{next(_clients)}"


def invoke(method: str, path: str, client: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    folder = str(ROOT / "functions" / "webhook_secret")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    event = {
        "httpMethod": method,
        "path": path,
        "headers": headers or {},
        "requestContext": {"requestId": "r", "identity": {"apiKeyId": client}},
    }
    answer: dict[str, Any] = importlib.import_module("webhook_secret").handler(event, None)
    return answer


def test_each_client_gets_its_own_secret_and_keeps_it(aws_env: dict[str, str]) -> None:
    first, other = new_client(), new_client()
    shown = invoke("GET", "/v1/webhook-secret", first)
    assert shown["statusCode"] == 200 and shown["headers"]["Cache-Control"] == "no-store"
    body = json.loads(shown["body"])
    assert body["secret"].startswith("whsec_") and len(base64.b64decode(body["secret"][6:])) == 32
    assert body["previous_secret_expires_at"] is None
    assert json.loads(invoke("GET", "/v1/webhook-secret", first)["body"])["secret"] == body["secret"]
    assert json.loads(invoke("GET", "/v1/webhook-secret", other)["body"])["secret"] != body["secret"]


def test_the_table_holds_only_ciphertext_bound_to_its_client(aws_env: dict[str, str]) -> None:
    client, thief = new_client(), new_client()
    secret = webhook_secrets.current(client).secret
    raw = base64.b64decode(secret.removeprefix("whsec_"))
    item = aws.dynamodb().get_item(TableName=aws_env["WEBHOOK_SECRETS_TABLE"], Key={"client": {"S": client}})["Item"]
    stored = json.dumps(
        {name: base64.b64encode(value["B"]).decode() if "B" in value else value for name, value in item.items()}
    )
    assert secret not in stored and base64.b64encode(raw).decode() not in stored
    assert raw not in bytes(item["current"]["B"])
    store.clear_cache()
    # The same ciphertext under another client's name decrypts to nothing: the client is its encryption context.
    with pytest.raises(ClientError):
        store.decrypt(thief, bytes(item["current"]["B"]))


def test_rotation_signs_with_both_secrets_for_a_day(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    client = new_client()
    before = webhook_secrets.current(client).secret
    rotated = invoke("POST", "/v1/webhook-secret/rotate", client)
    body = json.loads(rotated["body"])
    assert rotated["statusCode"] == 200 and body["secret"] != before
    assert clock.parse_rfc3339(body["previous_secret_expires_at"]) == pytest.approx(clock.now() + 86_400, abs=5)
    keys = webhook_secrets.signing_keys(client)
    assert [webhook_secrets.secret_text(key) for key in keys] == [body["secret"], before]
    assert json.loads(invoke("GET", "/v1/webhook-secret", client)["body"])["secret"] == body["secret"]
    later = clock.now() + 86_401
    monkeypatch.setattr(clock, "now", lambda: later)
    assert [webhook_secrets.secret_text(key) for key in webhook_secrets.signing_keys(client)] == [body["secret"]]
    assert json.loads(invoke("GET", "/v1/webhook-secret", client)["body"])["previous_secret_expires_at"] is None


def test_an_idempotency_key_rotates_once_and_keeps_no_secret(aws_env: dict[str, str]) -> None:
    client = new_client()
    headers = {"Idempotency-Key": "rotate-1"}
    first = invoke("POST", "/v1/webhook-secret/rotate", client, headers)
    again = invoke("POST", "/v1/webhook-secret/rotate", client, headers)
    assert json.loads(again["body"])["secret"] == json.loads(first["body"])["secret"]
    assert again["headers"].get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first["headers"]
    # The idempotency table was never used: nothing there holds the secret.
    items = aws.dynamodb().scan(TableName=aws_env["IDEMPOTENCY_TABLE"])["Items"]
    assert json.loads(first["body"])["secret"] not in json.dumps(items, default=str)
    third = invoke("POST", "/v1/webhook-secret/rotate", client, {"Idempotency-Key": "rotate-2"})
    assert json.loads(third["body"])["secret"] != json.loads(first["body"])["secret"]
    too_long = invoke("POST", "/v1/webhook-secret/rotate", client, {"Idempotency-Key": "k" * 256})
    assert too_long["statusCode"] == 422


def test_a_key_replays_its_own_rotation_even_after_later_ones(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client whose answer was lost retries with its key after another rotation: it is answered the secret its
    rotation made (the same answer), and nothing is rotated again; a day later the key is forgotten."""
    client = new_client()
    first = json.loads(invoke("POST", "/v1/webhook-secret/rotate", client, {"Idempotency-Key": "lost"})["body"])
    later = json.loads(invoke("POST", "/v1/webhook-secret/rotate", client)["body"])
    replay = invoke("POST", "/v1/webhook-secret/rotate", client, {"Idempotency-Key": "lost"})
    assert replay["headers"].get("Idempotent-Replayed") == "true"
    assert json.loads(replay["body"]) == first
    assert json.loads(invoke("GET", "/v1/webhook-secret", client)["body"])["secret"] == later["secret"]
    stored = store.get(client)
    assert (
        stored is not None
        and first["secret"].encode()
        not in json.dumps(
            aws.dynamodb().get_item(TableName=aws_env["WEBHOOK_SECRETS_TABLE"], Key={"client": {"S": client}}),
            default=str,
        ).encode()
    )
    now = clock.now()
    monkeypatch.setattr(clock, "now", lambda: now + webhook_secrets.PREVIOUS_VALID_SECONDS + 1)
    after_a_day = invoke("POST", "/v1/webhook-secret/rotate", client, {"Idempotency-Key": "lost"})
    assert "Idempotent-Replayed" not in after_a_day["headers"]
    assert json.loads(after_a_day["body"])["secret"] not in (first["secret"], later["secret"])


def test_an_operator_hands_an_event_client_its_secret(
    aws_endpoint: Any, aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`eventbridge:<Source>` has no API key: `make webhook-secret` shows its secret from outside the API."""
    from textgate_local import webhook_secret

    endpoint, _ = aws_endpoint
    client = f"eventbridge:billing.{new_client()}"
    with mock.patch.dict(os.environ, {"TEXTGATE_AWS_PORT": endpoint.url.rsplit(":", 1)[1]}):
        assert webhook_secret.main(["--client", client]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert webhook_secret.main(["--client", client, "--rotate"]) == 0
        rotated = json.loads(capsys.readouterr().out)
    assert shown["client"] == client and shown["secret"].startswith("whsec_")
    assert rotated["secret"] != shown["secret"] and rotated["previous_secret_expires_at"] is not None
    assert webhook_secrets.current(client).secret == rotated["secret"]
