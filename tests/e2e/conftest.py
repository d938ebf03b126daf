"""End-to-end tier: the local stack started as a user starts it (`python -m textgate_local`), over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from textgate_local.moto_endpoint import free_port

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "tg_e2e_local_key"
OTHER_KEY = "tg_e2e_other_key"
CALLBACK_TOKEN = "e2e-callback-token"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("e2e"))


@dataclass
class Stack:
    url: str
    aws_url: str
    session: requests.Session
    log_path: Path

    def call(self, method: str, path: str, *, key: str | None = API_KEY, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if key is not None:
            headers["x-api-key"] = key
        return self.session.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def wait_for(
        self, operation_id: str, *, final: bool = True, timeout: float = 30.0, key: str = API_KEY
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = self.call("GET", f"/v1/operations/{operation_id}", key=key).json()
            if (
                not final
                or body["status"] in ("succeeded", "failed", "unknown", "canceled")
                or time.monotonic() > deadline
            ):
                return body
            time.sleep(0.1)

    def sandbox(self, provider: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.session.get(f"{self.url}/_sandbox/{provider}", timeout=10).json()
        return answer


def assert_never_reached_ogangi(stack: Stack, marker: str) -> None:
    """A refused request queues nothing: once a later valid SMS has gone all the way through, the refused one's
    marker has still not reached the Ogangi sandbox (had it been queued, it would have been delivered first)."""
    probe = stack.call("POST", "/v1/ogangi/sms", json={"to": "+13056708084", "text": f"probe after {marker}"})
    assert stack.wait_for(probe.json()["id"])["status"] == "succeeded"
    acted = stack.sandbox("ogangi")["acted"]
    assert any(f"probe after {marker}" in entry for entry in acted)
    assert not any(entry.endswith(f":{marker}") for entry in acted)


def start_stack(
    extra_env: dict[str, str] | None = None, log_name: str = "stack.log", tmp: Path | None = None
) -> tuple[subprocess.Popen[bytes], Stack]:
    port, aws_port = free_port(), free_port()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OGANGI_", "CONTACTATONCE_", "INTERACT_", "PROTEXTING_", "AWS_"))
        },
        "TEXTGATE_PORT": str(port),
        "TEXTGATE_AWS_PORT": str(aws_port),
        "TEXTGATE_API_KEY": API_KEY,
        "TEXTGATE_API_KEYS": f"other={OTHER_KEY}",
        "SUMOTEXT_CALLBACK_TOKEN": CALLBACK_TOKEN,
        "OGANGI_FROM": "19893653744",
        "RETRY_BASE_SECONDS": "0",
        "MAX_ATTEMPTS": "3",
        "PROVIDER_TIMEOUT_SECONDS": "2",
        "TEXTGATE_SANDBOX_SLOW_SECONDS": "4",
        "LOG_LEVEL": "WARNING",
        # The suites text the sandboxes' few test numbers thousands of times; the daily limit has its own test.
        "RECIPIENT_DAILY_LIMIT": "10000",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "local"), str(ROOT / "layers" / "shared")]),
        **(extra_env or {}),
    }
    log_path = (tmp or Path("/tmp")) / log_name
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "textgate_local"], cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
    )
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
    stack = Stack(
        url=f"http://127.0.0.1:{port}",
        aws_url=f"http://127.0.0.1:{aws_port}",
        session=session,
        log_path=log_path,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the local stack exited: {log_path.read_text(errors='replace')[-3000:]}")
        try:
            if stack.session.get(stack.url + "/v1/health", timeout=1).status_code == 200:
                return process, stack
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the local stack did not answer in 60 s")


def stop_stack(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    process, running = start_stack(tmp=tmp_path_factory.mktemp("stack"))
    try:
        yield running
    finally:
        stop_stack(process)
        assert process.returncode == 0, "Ctrl-C (SIGTERM) must stop the stack cleanly"


StackCall = Callable[..., requests.Response]
