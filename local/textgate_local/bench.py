"""`make bench`: figures for where users pay — cold start imports, API latency, delivery throughput.

Everything runs on this machine: moto server as AWS, the Ogangi sandbox answering after a fixed latency.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from textgate_local.template import ROOT, Template

PROVIDER_LATENCY = 0.2  # seconds the sandbox takes per call, like a real provider's processing time
ACCEPTS = 100
BATCHES = 5


def cold_starts() -> list[tuple[str, float]]:
    """Import time of each handler in a fresh interpreter (what a cold start pays before the first request)."""
    template = Template.read()
    env = {**os.environ, **dict.fromkeys(_required_settings(), "dummy"), "OGANGI_BASE_URL": "http://x"}
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    results = []
    for name, spec in sorted(template.of_type("AWS::Serverless::Function").items()):
        properties = spec["Properties"]
        module = properties["Handler"].rsplit(".", 1)[0]
        path = os.pathsep.join([str(ROOT / properties["CodeUri"]), str(ROOT / "layers" / "shared")])
        code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        timings = []
        for _ in range(3):
            completed = subprocess.run(
                [sys.executable, "-c", code],
                env={**env, "PYTHONPATH": path},
                capture_output=True,
                text=True,
                check=True,
            )
            timings.append(float(completed.stdout.strip()))
        results.append((name, min(timings)))
    return results


def _required_settings() -> list[str]:
    sys.path.insert(0, str(ROOT / "layers" / "shared"))
    from textgate.settings import Settings

    return [info.alias or name for name, info in Settings.model_fields.items() if info.is_required()]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def accept_latency(stack: Any) -> dict[str, float]:
    """POST /v1/ogangi/sms one after another: what a caller waits for its 202."""
    import requests

    session = requests.Session()
    headers = {"x-api-key": "bench-key"}
    latencies = []
    for n in range(ACCEPTS):
        started = time.perf_counter()
        answer = session.post(
            f"{stack.api_url}/v1/ogangi/sms",
            headers=headers,
            json={"to": "+13056708084", "text": f"bench {n}"},
            timeout=30,
        )
        latencies.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 202, answer.text
    return {"p50_ms": statistics.median(latencies), "p95_ms": _percentile(latencies, 0.95)}


def batch_delivery(stack: Any, concurrency: int) -> float:
    """Seconds for the Ogangi delivery function to deliver BATCHES full batches of 10 (provider latency fixed)."""
    from textgate import delivery
    from textgate.dal import operations as records
    from textgate.models import Operation
    from textgate.settings import get_settings

    os.environ["DELIVERY_CONCURRENCY"] = str(concurrency)
    get_settings.cache_clear()
    delivery._pool = None  # the pool is sized once per container: this is a new one
    batches = []
    for _ in range(BATCHES):
        records_in = []
        for n in range(10):
            operation = Operation.new(
                operation="ogangi.send_sms",
                provider="ogangi",
                client="bench",
                payload={"to": "+13056708084", "text": f"batch {n}", "from": "1", "carrier": None, "flags": None},
            )
            records.create(operation)
            records_in.append({"messageId": operation.id, "body": json.dumps({"operation_id": operation.id})})
        batches.append({"Records": records_in})
    started = time.perf_counter()
    for event in batches:
        assert stack.functions.invoke("OgangiDeliveryFunction", event) == {"batchItemFailures": []}
    return time.perf_counter() - started


def with_stack() -> dict[str, Any]:
    from textgate_local.stack import LocalStack, StackConfig

    config = StackConfig(
        port=0,
        aws_port=0,
        api_keys={"local": "bench-key"},
        callback_token="bench",
        environment={"LOG_LEVEL": "WARNING"},
    )
    stack = LocalStack(config).start()
    try:
        figures: dict[str, Any] = {"accept": accept_latency(stack)}
        for poller in stack.pollers:  # from here on the benchmark drives delivery itself
            poller.stop()
        stack.sandboxes["ogangi"].latency_seconds = PROVIDER_LATENCY
        figures["sequential_seconds"] = batch_delivery(stack, 1)
        figures["concurrent_seconds"] = batch_delivery(stack, 10)
        return figures
    finally:
        stack.stop()


def layer_size() -> str:
    built = ROOT / ".aws-sam" / "build" / "SharedLayer"
    if not built.exists():
        return "not built (run `make build` to measure the arm64 layer)"
    size = sum(path.stat().st_size for path in built.rglob("*") if path.is_file())
    return f"{size / 1024 / 1024:.1f} MiB unzipped"


def main() -> int:
    print("textgate benchmark (this machine; the local stack)\n")
    print("cold start: handler import time, best of 3, in a fresh interpreter")
    for name, seconds in cold_starts():
        print(f"  {name:<45} {seconds * 1000:7.1f} ms")
    figures = with_stack()
    accept = figures["accept"]
    print(
        f"\nPOST /v1/ogangi/sms answered 202 (record, queue): p50 {accept['p50_ms']:.1f} ms, "
        f"p95 {accept['p95_ms']:.1f} ms over {ACCEPTS} requests"
    )
    operations = BATCHES * 10
    for label, key in (("one call at a time", "sequential_seconds"), ("concurrent in the batch", "concurrent_seconds")):
        seconds = figures[key]
        print(
            f"delivery, {label:<24} {operations} operations in {seconds:5.2f} s = {operations / seconds:6.1f}/s "
            f"(provider answers in {PROVIDER_LATENCY * 1000:.0f} ms)"
        )
    speed_up = figures["sequential_seconds"] / figures["concurrent_seconds"]
    print(f"speed-up from calling the provider concurrently: {speed_up:.1f}x")
    print(f"\nshared layer: {layer_size()}")
    Path(ROOT / ".test-reports").mkdir(exist_ok=True)
    (ROOT / ".test-reports" / "bench.json").write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
