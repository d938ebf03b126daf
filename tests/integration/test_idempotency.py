"""Idempotency-Key under concurrency: one request acts, the copies replay it or are told it is in flight."""

from __future__ import annotations

import threading
from concurrent.futures import ALL_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

import pytest

from textgate.errors import IdempotencyKeyInUse, IdempotencyKeyReused, ValidationFailed
from textgate.logic import idempotency


def test_concurrent_duplicates_act_once(aws_env: dict[str, str]) -> None:
    runs: list[int] = []
    release = threading.Event()

    def act() -> dict[str, Any]:
        runs.append(1)
        release.wait(10)
        return {"statusCode": 202, "body": "first"}

    def attempt(_: int) -> str:
        try:
            _response, replayed = idempotency.run_once("client-a", "key-1", "hash-1", act)
        except IdempotencyKeyInUse:
            return "in_use"
        return "replayed" if replayed else "ran"

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(attempt, n) for n in range(8)]
        # While the first is held in `act`, every copy is answered "in use" at once, without acting.
        answered, _ = wait(futures, timeout=5, return_when=ALL_COMPLETED)
        early = sorted(future.result() for future in answered)
        release.set()
        outcomes = sorted(future.result() for future in futures)
    assert runs == [1]
    assert early == ["in_use"] * 7
    assert outcomes == ["in_use"] * 7 + ["ran"]
    response, replayed = idempotency.run_once("client-a", "key-1", "hash-1", act)
    assert replayed and response == {"statusCode": 202, "body": "first"} and runs == [1]


def test_another_body_with_the_same_key_is_refused(aws_env: dict[str, str]) -> None:
    idempotency.run_once("client-b", "key-2", "hash-1", lambda: {"statusCode": 202})
    with pytest.raises(IdempotencyKeyReused):
        idempotency.run_once("client-b", "key-2", "hash-2", lambda: {"statusCode": 202})


def test_keys_are_per_client(aws_env: dict[str, str]) -> None:
    idempotency.run_once("client-c", "shared", "hash-1", lambda: {"statusCode": 202, "body": "c"})
    response, replayed = idempotency.run_once("client-d", "shared", "hash-9", lambda: {"statusCode": 202, "body": "d"})
    assert not replayed and response["body"] == "d"


def test_a_server_error_frees_the_key_for_a_retry(aws_env: dict[str, str]) -> None:
    idempotency.run_once("client-e", "key-5", "hash-1", lambda: {"statusCode": 503})
    response, replayed = idempotency.run_once("client-e", "key-5", "hash-1", lambda: {"statusCode": 202})
    assert not replayed and response["statusCode"] == 202


def test_a_crash_frees_the_key(aws_env: dict[str, str]) -> None:
    def crash() -> dict[str, Any]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        idempotency.run_once("client-f", "key-6", "hash-1", crash)
    response, _ = idempotency.run_once("client-f", "key-6", "hash-1", lambda: {"statusCode": 202})
    assert response["statusCode"] == 202


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_key_length_is_checked(aws_env: dict[str, str], key: str) -> None:
    with pytest.raises(ValidationFailed):
        idempotency.run_once("client-g", key, "hash", lambda: {"statusCode": 202})


@pytest.mark.parametrize("status", [409, 429, 503])
def test_answers_that_ask_to_try_again_are_not_replayed(aws_env: dict[str, str], status: int) -> None:
    idempotency.run_once("client-h", f"key-{status}", "hash", lambda: {"statusCode": status})
    response, replayed = idempotency.run_once("client-h", f"key-{status}", "hash", lambda: {"statusCode": 200})
    assert not replayed and response["statusCode"] == 200
