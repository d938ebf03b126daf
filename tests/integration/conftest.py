"""Integration tier: the layer's real boto3 calls against moto in server mode, resources from template.yaml."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from textgate import aws
from textgate_local import resources
from textgate_local.moto_endpoint import MotoEndpoint, free_port
from textgate_local.template import Template

SANDBOX_SECRETS: dict[str, dict[str, Any]] = {
    "OgangiSecret": {"instance_id": "434", "public_key": "pub", "private_key": "priv"},
    "ContactAtOnceSecret": {"provider_id": "1", "username": "u", "password": "p"},
    "InteractSecret": {"account_id": "1", "tenant_id": "t", "application_key": "k", "environment_name": ""},
    "ProtextingSecret": {"access_token": "token"},
    "SumotextSecret": {"token": "current-token", "previous_token": "previous-token"},
    "PinKeySecret": {"key": "0" * 64},
}


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[tuple[MotoEndpoint, dict[str, str]]]:
    endpoint = MotoEndpoint(free_port()).start()
    template = Template.read(overrides={"OgangiBaseUrl": "http://127.0.0.1:9"})
    try:
        resources.create_all(template, endpoint.url, SANDBOX_SECRETS)
        environment = resources.aws_environment(endpoint.url) | resources.function_environment(template)
        yield endpoint, environment
    finally:
        endpoint.stop()


@pytest.fixture
def aws_env(aws_endpoint: tuple[MotoEndpoint, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The function environment of the template, pointed at the local endpoint."""
    _, environment = aws_endpoint
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


def drain_bodies(url: str) -> list[str]:
    """Every message waiting on the queue at `url`, received and deleted, as their bodies."""
    bodies: list[str] = []
    while messages := aws.sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(message["Body"])
            aws.sqs().delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def drain_ids(url: str) -> list[str]:
    """The operation ids of every message waiting on a delivery queue, received and deleted."""
    return [json.loads(body)["operation_id"] for body in drain_bodies(url)]
