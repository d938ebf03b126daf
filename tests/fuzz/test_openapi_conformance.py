"""The API keeps the promises of its OpenAPI document: schemathesis runs every check (server errors, status codes,
content types, response schemas, valid data accepted, invalid data refused, undeclared methods, auth) on a few
hundred property-based cases per operation across its phases (examples, coverage, fuzzing, stateful), against the
local stack started as a user starts it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.conftest import API_KEY, CALLBACK_TOKEN, start_stack, stop_stack

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.mark.timeout(420)
def test_the_api_conforms_to_its_openapi_document(tmp_path: Path) -> None:
    process, stack = start_stack(tmp=tmp_path, log_name="fuzz-stack.log")
    try:
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(HERE / "schemathesis.toml"),
                "run",
                f"{stack.url}/v1/openapi.json",
                "--checks",
                "all",
                "--header",
                f"x-api-key: {API_KEY}",
                "--no-color",
            ],
            cwd=tmp_path,
            env={
                **os.environ,
                "SCHEMATHESIS_HOOKS": "fuzz.hooks",
                "TEXTGATE_FUZZ_CALLBACK_TOKEN": CALLBACK_TOKEN,
                "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT / "layers" / "shared")]),
            },
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
    finally:
        stop_stack(process)
    report = run.stdout + run.stderr
    (tmp_path / "schemathesis.txt").write_text(report)
    assert run.returncode == 0, report[-20_000:]
    assert "Test cases:" in report and " generated" in report, report[-5_000:]
