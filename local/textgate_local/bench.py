"""`make bench`: figures for where users pay — cold start against its floor, API latency, delivery throughput,
and what a send costs on AWS.

Everything runs on this machine: moto server as AWS, the Ogangi sandbox answering after a fixed latency.
BENCH_ROUNDS sets how many fresh interpreters measure each cold start (best of them; 5 by default).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from textgate_local import bench_cold, bench_cost
from textgate_local.template import ROOT

PROVIDER_LATENCY = 0.2  # seconds the sandbox takes per call, like a real provider's processing time
ACCEPTS = 200  # enough for a p99 that is not just the slowest request
BATCHES = 5
BATCH_SIZE = 10  # the template's BatchSize of the delivery functions
BATCH_ITEMS = 1000  # one POST /v1/batches, as large as it may be
BATCH_RECIPIENTS = 5000  # the batch's handsets, apart from those of the single sends
# The headline cost is the best of this many rounds: every count but Lambda's duration is the same in each, and
# that one is mostly this machine's load of the moment (as the cold start is the best of BENCH_ROUNDS).
COST_ROUNDS = 5
REPORTS = ROOT / ".test-reports"


def recipient(n: int) -> str:
    """A different handset for each send, as a campaign has: one number would soon reach its daily limit."""
    return f"+1305670{n % 10_000:04d}"


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
            json={"to": recipient(n), "text": f"bench {n}"},
            timeout=30,
        )
        latencies.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 202, answer.text
    return {
        "p50_ms": statistics.median(latencies),
        "p95_ms": _percentile(latencies, 0.95),
        "p99_ms": _percentile(latencies, 0.99),
        "mean_ms": statistics.fmean(latencies),
    }


def batch_delivery(stack: Any, concurrency: int) -> float:
    """Seconds for the Ogangi delivery function to deliver BATCHES full batches of 10 (provider latency fixed)."""
    from textgate import delivery
    from textgate.dal import operations as records
    from textgate.models import Operation
    from textgate.registry import OperationName
    from textgate.settings import get_settings

    os.environ["DELIVERY_CONCURRENCY"] = str(concurrency)
    get_settings.cache_clear()
    delivery._pool = None  # the pool is sized once per container: this is a new one
    batches = []
    for _ in range(BATCHES):
        records_in = []
        for n in range(10):
            operation = Operation.new(
                operation=OperationName.OGANGI_SEND_SMS,
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


def _drain(stack: Any) -> None:
    """Let the pollers deliver what the latency run queued, stop them, and empty the queues."""
    import boto3

    sqs = boto3.client("sqs", endpoint_url=stack.moto.url, region_name="us-east-1")
    urls = [poller.queue_url for poller in stack.pollers]

    def idle() -> bool:
        for url in urls:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            if any(int(value) for value in attributes.values()):
                return False
        return True

    bench_cost.wait_until(idle, timeout=60)
    for poller in stack.pollers:  # from here on the benchmark drives delivery itself
        poller.stop()
    for poller in stack.pollers:
        poller.join()
    for url in urls:
        sqs.purge_queue(QueueUrl=url)


def send_cost(
    stack: Any, sends: int, *, idempotency_key: bool = False, new_container: bool = False
) -> bench_cost.Counts:
    """Every billed request of `sends` POST /v1/ogangi/sms, accepted and then delivered in batches of up to 10 as
    Lambda's SQS event source hands them over. The containers are warm (the latency run used them, so the
    delivery function's secret is cached, as it is for SECRET_CACHE_SECONDS), or, with `new_container`, the
    delivery container is new and its first batch reads the secret (once, however many of its deliveries
    start together)."""
    from textgate import secrets

    if new_container:
        secrets.clear_cache()
    with _metered(stack) as meter:
        ids = _accept(stack, meter, sends, idempotency_key=idempotency_key)
        _deliver(stack, sends)
    _assert_succeeded(ids)
    meter.counts.sends = sends
    return meter.counts


def _delivery_poller(stack: Any) -> Any:
    return next(poller for poller in stack.pollers if poller.source.function == "OgangiDeliveryFunction")


def _status_callback_poller(stack: Any) -> Any:
    """The event source of the status callbacks' function, once the template has their queue and function."""
    from textgate_local.pollers import QueuePoller

    return next(
        (
            poller
            for poller in stack.pollers
            if isinstance(poller, QueuePoller) and re.search(r"StatusCallback|Webhook", poller.source.function)
        ),
        None,
    )


@contextlib.contextmanager
def _metered(stack: Any) -> Iterator[bench_cost.Meter]:
    from textgate import aws

    clients = [aws.dynamodb(), aws.sqs(), aws.events(), aws.secretsmanager()]
    if hasattr(aws, "kms"):  # status callbacks' signing secrets are kept under a KMS key
        clients.append(aws.kms())
    clients += list({id(poller.sqs): poller.sqs for poller in stack.pollers if hasattr(poller, "sqs")}.values())
    with bench_cost.Meter(clients, stack.functions, stack.template) as meter:
        yield meter


def _accept(
    stack: Any, meter: bench_cost.Meter, sends: int, *, idempotency_key: bool = False, **extra: Any
) -> list[str]:
    import requests

    session = requests.Session()
    ids = []
    for n in range(sends):
        headers = {"x-api-key": "bench-key"}
        if idempotency_key:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        answer = session.post(
            f"{stack.api_url}/v1/ogangi/sms",
            headers=headers,
            json={"to": recipient(n), "text": f"Your order {n} has shipped", **extra},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    meter.api_requests(sends)
    return ids


def _deliver(stack: Any, sends: int) -> None:
    poller = _delivery_poller(stack)
    delivered = 0
    for _ in range(10 * sends):
        if delivered >= sends:
            break
        delivered += poller.poll_once(wait_seconds=1)


def _assert_succeeded(ids: list[str]) -> None:
    from textgate.dal import operations as records

    statuses = [getattr(records.get(operation_id), "status", None) for operation_id in ids]
    assert all(status == "succeeded" for status in statuses), statuses


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A caller's endpoint for status callbacks: answers 204 at once and counts what it got."""

    received = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with _Receiver.lock:
            _Receiver.received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def status_callback_cost(stack: Any, sends: int) -> bench_cost.Counts | str:
    """Every billed request of `sends` sends that ask for a status callback, delivered, and their callbacks
    delivered to a receiver that answers 204 at once; or why that could not be measured."""
    poller = _status_callback_poller(stack)
    if poller is None:
        return "not measured: the template has no status-callback queue and function yet"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.received = 0
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/textgate-status"
        with _metered(stack) as meter:
            ids = _accept(stack, meter, sends, status_callback=url)
            _deliver(stack, sends)
            deadline = time.monotonic() + 60
            while _Receiver.received < sends and time.monotonic() < deadline:
                poller.poll_once(wait_seconds=1)
        _assert_succeeded(ids)
    except Exception as exc:  # noqa: BLE001 - the rest of the report stands without this line
        return f"not measured: {type(exc).__name__}: {str(exc)[:200]}"
    finally:
        server.shutdown()
        server.server_close()
    if _Receiver.received < sends:
        return f"not measured: {_Receiver.received} of {sends} status callbacks arrived"
    meter.counts.sends = sends
    return meter.counts


def batch_cost(stack: Any, size: int = BATCH_ITEMS) -> tuple[bench_cost.Counts, float]:
    """Every billed request of one POST /v1/batches of `size` sends, accepted and then delivered in batches of
    up to 10, counted exactly as `send_cost` counts a single send; and the seconds the batch took to answer."""
    import requests

    from textgate import aws
    from textgate.dal import operations as records

    poller = next(poller for poller in stack.pollers if poller.source.function == "OgangiDeliveryFunction")
    clients = [aws.dynamodb(), aws.sqs(), aws.events(), aws.secretsmanager(), poller.sqs]
    items = [{"to": recipient(BATCH_RECIPIENTS + n), "text": f"Your order {n} has shipped"} for n in range(size)]
    with bench_cost.Meter(clients, stack.functions, stack.template) as meter:
        started = time.perf_counter()
        answer = requests.post(
            f"{stack.api_url}/v1/batches",
            headers={"x-api-key": "bench-key"},
            json={"operation": "ogangi.send_sms", "items": items},
            timeout=60,
        )
        seconds = time.perf_counter() - started
        assert answer.status_code == 202, answer.text
        assert answer.json()["accepted"] == size, answer.json()["refused"]
        meter.api_requests(1)
        delivered = 0
        for _ in range(10 * size):
            if delivered >= size:
                break
            delivered += poller.poll_once(wait_seconds=1)
    meter.counts.sends = size
    ids = [item["operation_id"] for item in answer.json()["items"]]
    statuses = records.statuses(ids)
    assert all(status == "succeeded" for status in statuses.values()) and len(statuses) == size, statuses
    return meter.counts, seconds


def with_stack() -> dict[str, Any]:
    from textgate_local.stack import LocalStack, StackConfig

    config = StackConfig(
        port=0,
        aws_port=0,
        api_keys={"local": "bench-key"},
        callback_token="bench",
        # The template's level: what the functions log is part of what a send costs (their output is counted
        # while the cost is measured, and discarded otherwise).
        environment={"LOG_LEVEL": "INFO"},
    )
    stack = LocalStack(config).start()
    try:
        figures: dict[str, Any] = {"accept": accept_latency(stack)}
        _drain(stack)
        stack.sandboxes["ogangi"].latency_seconds = PROVIDER_LATENCY
        costs = {
            "batch": min(
                (send_cost(stack, BATCH_SIZE) for _ in range(COST_ROUNDS)), key=lambda counts: counts.gb_seconds
            ),
            "alone": send_cost(stack, 1, new_container=True),
            "cold_batch": send_cost(stack, BATCH_SIZE, new_container=True),
            "idempotency_key": send_cost(stack, BATCH_SIZE, idempotency_key=True),
        }
        costs["batches"], figures["batch_accept_seconds"] = batch_cost(stack)
        figures["cost"] = costs
        # Two rounds, the cheaper kept: a client's first callback also creates its signing secret (a KMS request
        # and a write), once per client, not per callback.
        rounds = [status_callback_cost(stack, BATCH_SIZE) for _ in range(2)]
        measured = [counts for counts in rounds if not isinstance(counts, str)]
        figures["status_callbacks"] = min(measured, key=lambda counts: counts.per_million()) if measured else rounds[-1]
        figures["sequential_seconds"] = batch_delivery(stack, 1)
        figures["concurrent_seconds"] = batch_delivery(stack, BATCH_SIZE)
        return figures
    finally:
        stack.stop()


def layer_size() -> str:
    built = ROOT / ".aws-sam" / "build" / "SharedLayer"
    if not built.exists():
        return "not built (run `make build` to measure the arm64 layer)"
    size = sum(path.stat().st_size for path in built.rglob("*") if path.is_file())
    compiled = sum(1 for _ in built.rglob("*.pyc"))
    return f"{size / 1e6:.1f} MB unzipped, {compiled} .pyc"


def main() -> int:
    rounds = int(os.environ.get("BENCH_ROUNDS") or 5)
    print("textgate benchmark (this machine; the local stack)\n")
    layer = bench_cold.lay_out_layer()
    print(
        f"cold start: handler import vs its floor (the same non-textgate modules alone), CPU time, best of {rounds} "
        f"fresh interpreters,\nthe layer laid out as sam build lays it ({bench_cold.local_platform_tag()} wheels, "
        "bytecode as shipped);\n'textgate' is the handler imported on top of its floor in the same interpreter, "
        "ratio = (floor + textgate) / floor;\n'apart' divides the import and the floor measured in two interpreters "
        "(on a loaded machine, mostly noise)"
    )
    cold = bench_cold.measure(layer, rounds)
    for line in bench_cold.report(cold):
        print(line)
    # The functions write their log lines and metric documents to stdout, as in Lambda: not into the report.
    with open(os.devnull, "w") as functions_output, contextlib.redirect_stdout(functions_output):
        figures = with_stack()
    accept = figures["accept"]
    print(
        f"\nPOST /v1/ogangi/sms answered 202 (record, queue): p50 {accept['p50_ms']:.1f} ms, "
        f"p95 {accept['p95_ms']:.1f} ms, p99 {accept['p99_ms']:.1f} ms over {ACCEPTS} requests"
    )
    singles_seconds = accept["mean_ms"] * BATCH_ITEMS / 1000
    figures["batch_accept_ratio"] = figures["batch_accept_seconds"] / singles_seconds
    print(
        f"POST /v1/batches of {BATCH_ITEMS} answered 202 in {figures['batch_accept_seconds']:.2f} s; "
        f"{BATCH_ITEMS} single accepts one after another take {singles_seconds:.1f} s (the mean above): "
        f"ratio {figures['batch_accept_ratio']:.3f}"
    )
    operations = BATCHES * BATCH_SIZE
    for label, key in (("one call at a time", "sequential_seconds"), ("concurrent in the batch", "concurrent_seconds")):
        seconds = figures[key]
        print(
            f"delivery, {label:<24} {operations} operations in {seconds:5.2f} s = {operations / seconds:6.1f}/s "
            f"(provider answers in {PROVIDER_LATENCY * 1000:.0f} ms)"
        )
    speed_up = figures["sequential_seconds"] / figures["concurrent_seconds"]
    ideal = BATCH_SIZE / PROVIDER_LATENCY
    achieved = operations / figures["concurrent_seconds"]
    print(f"speed-up from calling the provider concurrently: {speed_up:.1f}x")
    print(
        f"delivery's share of its ideal (one invocation, batch of {BATCH_SIZE} / {PROVIDER_LATENCY * 1000:.0f} ms = "
        f"{ideal:.0f}/s): {achieved / ideal:.2f}"
    )
    costs: dict[str, bench_cost.Counts] = figures.pop("cost")
    print(
        f"\nAWS cost of POST /v1/ogangi/sms accepted and delivered: {BATCH_SIZE} sends in one delivery batch, warm "
        f"containers, best of {COST_ROUNDS} rounds\n(us-east-1 list prices of {bench_cost.PRICES_DATE}, docs/cost.md)"
    )
    for line in bench_cost.report(costs["batch"]):
        print(line)
    print(f"a send alone (a batch of one, a new delivery container): ${costs['alone'].per_million():.2f} per million")
    cold_batch = costs["cold_batch"]
    print(
        f"a batch of {BATCH_SIZE} in a new delivery container: ${cold_batch.per_million():.2f} per million, "
        f"{cold_batch.secret_calls} Secrets Manager call{'s' if cold_batch.secret_calls != 1 else ''} for the batch"
    )
    print(f"with an Idempotency-Key: ${costs['idempotency_key'].per_million():.2f} per million")
    callbacks: bench_cost.Counts | str = figures.pop("status_callbacks")
    if isinstance(callbacks, str):
        print(f"cost per million status callbacks: {callbacks}")
        figures["status_callbacks"] = callbacks
    else:
        # What asking for a callback adds to a send: its queue message, its delivery, its record's update.
        added = callbacks.per_million() - costs["batch"].per_million()
        print(f"cost per million status callbacks: ${added:.2f} (a send with one: ${callbacks.per_million():.2f})")
        figures["status_callbacks"] = callbacks.to_json() | {"usd_per_million_callbacks": added}
    print(
        f"\nAWS cost of sends in batches: one POST /v1/batches of {BATCH_ITEMS}, delivered in batches of {BATCH_SIZE}"
    )
    for line in bench_cost.report(costs["batches"], "cost per million sends in batches"):
        print(line)
    print(f"\nshared layer (sam build): {layer_size()}")
    figures["cold_start"] = [
        {"function": item.function, "import_ms": item.seconds * 1000, "floor_ms": item.floor_seconds * 1000}
        | {"ratio": item.ratio, "textgate_ms": item.own_seconds * 1000, "separate_ratio": item.separate_ratio}
        for item in cold
    ]
    figures["delivery_ratio_to_ideal"] = achieved / ideal
    figures["cost"] = {name: counts.to_json() for name, counts in costs.items()}
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "bench.json").write_text(json.dumps(figures, indent=2))
    from textgate_local import bench_chart

    chart = bench_chart.draw(cold, costs["batch"], REPORTS / "bench.png")
    print(f"chart: {chart.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
