"""What one send costs on AWS: every billed request of an accepted-and-delivered POST /v1/ogangi/sms, counted
through the local stack and priced with AWS's us-east-1 list prices (docs/cost.md keeps the table and its date).

Counted as they happen: the AWS calls of the functions (botocore hooks on textgate's clients) and of Lambda's SQS
event source (the pollers' client), the invocations and how long each ran, the bytes the functions logged. API
Gateway bills one request per POST. DynamoDB capacity is reckoned from the items as DynamoDB sizes them:
a write unit per started KB of the larger of the item before and after, a read unit per started 4 KB (half of
one when not strongly consistent); a write that fails its condition still costs its units.
"""

from __future__ import annotations

import io
import json
import logging
import math
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from textgate_local.template import Template

# us-east-1 list prices, USD (docs/cost.md: the same table, its date and its sources).
PRICES_DATE = "2025-06"
PRICES: dict[str, float] = {
    "api_gateway_rest_request": 3.50 / 1e6,  # REST API, first 333 million a month
    "lambda_request": 0.20 / 1e6,
    "lambda_arm_gb_second": 0.0000133334,  # arm64, first 7.5 billion GB-s a month
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand read request unit
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB chunk of a request
    "eventbridge_event": 1.00 / 1e6,  # custom event, per 64 KB chunk of an entry
    "secrets_manager_call": 0.05 / 1e4,
    "kms_request": 0.03 / 1e4,  # symmetric key requests (Encrypt, Decrypt, GenerateDataKey)
    "logs_ingested_gb": 0.50,  # CloudWatch Logs (Lambda logs), first 10 TB a month
    "xray_trace_recorded": 5.00 / 1e6,
}
# X-Ray's default sampling rule: the first request each second, then 5% of the rest. At the volumes where
# delivery batches fill up, that is about 5% of traces; a trickle of requests is traced almost entirely. It is what
# the API gets without a sampling rule of the template's, and what Lambda applies, unconfigurably, to the
# invocations no traced request starts (the queue-triggered ones).
XRAY_DEFAULT_SHARE = 0.05
# What API Gateway's access log holds for one request, as typical values of the $context variables.
ACCESS_LOG_VALUES = {
    "requestId": "3f9d5c1e-6a2b-4c8d-9e0f-1a2b3c4d5e6f",
    "requestTime": "29/Nov/2025:08:12:01 +0000",
    "identity.sourceIp": "203.0.113.10",
    "identity.apiKeyId": "k3x9q2w8e1",
    "httpMethod": "POST",
    "resourcePath": "/v1/ogangi/sms",
    "status": "202",
    "protocol": "HTTP/1.1",
    "responseLength": "412",
    "responseLatency": "48",
    "integrationLatency": "45",
    "integration.status": "200",
    "error.responseType": "-",
    "error.messageString": "-",
    "xrayTraceId": "1-6749a7b1-5ac6c58f5b5daa6532e4f2e8",
}
# Lambda writes three lines of its own per invocation (START, END, REPORT) beside the function's logs.
PLATFORM_LOG_LINES = (
    "START RequestId: 3f9d5c1e-6a2b-4c8d-9e0f-1a2b3c4d5e6f Version: $LATEST\n"
    "END RequestId: 3f9d5c1e-6a2b-4c8d-9e0f-1a2b3c4d5e6f\n"
    "REPORT RequestId: 3f9d5c1e-6a2b-4c8d-9e0f-1a2b3c4d5e6f\tDuration: 123.45 ms\tBilled Duration: 124 ms\t"
    "Memory Size: 256 MB\tMax Memory Used: 92 MB\t\n"
)
CHUNK = 64 * 1024


def api_sampled_share(template: Template) -> float:
    """The share of the API's requests X-Ray traces: the FixedRate of the template's sampling rule for API Gateway
    stages when it keeps no per-second reservoir (then the share is the same at every volume), else the default's."""
    for spec in template.of_type("AWS::XRay::SamplingRule").values():
        rule = spec.get("Properties", {}).get("SamplingRule", {})
        if rule.get("ServiceType") == "AWS::ApiGateway::Stage" and int(template.resolve(rule["ReservoirSize"])) == 0:
            return float(template.resolve(rule["FixedRate"]))
    return XRAY_DEFAULT_SHARE


def access_log_line(template_format: str) -> str:
    """API Gateway's access log format with typical values in place of its $context variables."""
    line = " ".join(str(template_format).split())
    for name in sorted(ACCESS_LOG_VALUES, key=len, reverse=True):
        line = line.replace(f"$context.{name}", ACCESS_LOG_VALUES[name])
    return line


def item_size(item: dict[str, Any]) -> int:
    """Bytes of a DynamoDB item as DynamoDB bills it: attribute names plus values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    [(kind, data)] = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        digits = str(Decimal(str(data)).normalize()).lstrip("-").replace(".", "").lstrip("0") or "0"
        return 1 + math.ceil(len(digits) / 2)
    if kind == "B":
        return len(data) if isinstance(data, bytes) else len(str(data).encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: element}) for element in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in data)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + _value_size(element) for name, element in data.items())
    return 0


@dataclass
class Counts:
    """Billed units, summed over the sends of one measurement."""

    sends: int = 0
    api_requests: int = 0
    invocations: Counter[str] = field(default_factory=Counter)
    gb_seconds: float = 0.0
    write_units: float = 0.0
    read_units: float = 0.0
    dynamodb: Counter[str] = field(default_factory=Counter)  # "Table.Operation" -> calls
    sqs_requests: int = 0
    sqs: Counter[str] = field(default_factory=Counter)
    events: int = 0
    secret_calls: int = 0
    kms_requests: int = 0
    log_bytes: int = 0
    api_traces: int = 0  # traces the API's requests start, if every one were sampled
    invocation_traces: int = 0  # traces queue-triggered invocations start, likewise
    api_sampled_share: float = XRAY_DEFAULT_SHARE  # the template's sampling rule for the API stage

    def costs(self) -> dict[str, float]:
        """USD per send, by service."""
        per = 1 / max(1, self.sends)
        return {
            "API Gateway": self.api_requests * PRICES["api_gateway_rest_request"] * per,
            "Lambda requests": sum(self.invocations.values()) * PRICES["lambda_request"] * per,
            "Lambda duration": self.gb_seconds * PRICES["lambda_arm_gb_second"] * per,
            "DynamoDB writes": self.write_units * PRICES["dynamodb_write_unit"] * per,
            "DynamoDB reads": self.read_units * PRICES["dynamodb_read_unit"] * per,
            "SQS": self.sqs_requests * PRICES["sqs_request"] * per,
            "EventBridge": self.events * PRICES["eventbridge_event"] * per,
            "Secrets Manager": self.secret_calls * PRICES["secrets_manager_call"] * per,
            "KMS": self.kms_requests * PRICES["kms_request"] * per,
            "CloudWatch Logs": self.log_bytes / 1e9 * PRICES["logs_ingested_gb"] * per,
            "X-Ray": self.sampled_traces() * PRICES["xray_trace_recorded"] * per,
        }

    def sampled_traces(self) -> float:
        return self.api_traces * self.api_sampled_share + self.invocation_traces * XRAY_DEFAULT_SHARE

    def per_million(self) -> float:
        return sum(self.costs().values()) * 1e6

    def to_json(self) -> dict[str, Any]:
        per = 1 / max(1, self.sends)
        return {
            "sends": self.sends,
            "per_send": {
                "api_requests": self.api_requests * per,
                "lambda_invocations": {name: count * per for name, count in self.invocations.items()},
                "lambda_gb_seconds": self.gb_seconds * per,
                "dynamodb_write_units": self.write_units * per,
                "dynamodb_read_units": self.read_units * per,
                "dynamodb_calls": {name: count * per for name, count in self.dynamodb.items()},
                "sqs_requests": self.sqs_requests * per,
                "sqs_calls": {name: count * per for name, count in self.sqs.items()},
                "eventbridge_events": self.events * per,
                "secrets_manager_calls": self.secret_calls * per,
                "kms_requests": self.kms_requests * per,
                "log_bytes": self.log_bytes * per,
                "xray_traces_if_all_sampled": (self.api_traces + self.invocation_traces) * per,
                "xray_traces_sampled": self.sampled_traces() * per,
            },
            "usd_per_million_sends": {name: cost * 1e6 for name, cost in self.costs().items()},
            "total_usd_per_million_sends": self.per_million(),
        }


class _CountingStream(io.TextIOBase):
    def __init__(self, counts: Counts, lock: threading.Lock) -> None:
        self._counts = counts
        self._lock = lock

    def write(self, text: str) -> int:
        with self._lock:
            self._counts.log_bytes += len(text.encode())
        return len(text)


class Meter:
    """Counts what the functions and the event source bill while it is open (a context manager)."""

    def __init__(self, clients: list[Any], functions: Any, template: Template) -> None:
        self.counts = Counts()
        self._clients = clients
        self._functions = functions
        memory = template.function_defaults().get("MemorySize", 128)
        self._memory_mb = {
            name: int(spec["Properties"].get("MemorySize", memory))
            for name, spec in template.of_type("AWS::Serverless::Function").items()
        }
        api = next(iter(template.of_type("AWS::Serverless::Api").values()), {}).get("Properties", {})
        self._api_traced = bool(api.get("TracingEnabled"))
        self._api_routed = {
            name: any(event.get("Type") == "Api" for event in spec["Properties"].get("Events", {}).values())
            for name, spec in template.of_type("AWS::Serverless::Function").items()
        }
        self._functions_traced = template.function_defaults().get("Tracing") == "Active"
        self.counts.api_sampled_share = api_sampled_share(template)
        access_log = api.get("AccessLogSetting", {}).get("Format")
        self.access_log_bytes = len(access_log_line(access_log).encode()) + 1 if access_log else 0
        # physical table name -> (logical name, key attributes)
        self._tables = {
            template.refs[name]: (name, [key["AttributeName"] for key in spec["Properties"]["KeySchema"]])
            for name, spec in template.of_type("AWS::DynamoDB::Table").items()
        }
        self._lock = threading.Lock()
        self._sizes: dict[str, int] = {}  # DynamoDB item sizes last seen, by table and key
        self._streams: list[tuple[logging.StreamHandler[Any], Any]] = []
        self._level = logging.NOTSET
        self._stdout: Any = None

    def __enter__(self) -> Meter:
        for client in self._clients:
            client.meta.events.register("before-parameter-build", self._remember_params, unique_id="bench-params")
            client.meta.events.register("after-call", self._after_call, unique_id="bench-cost")
        self._functions.observers.append(self._invoked)
        root = logging.getLogger()
        self._level = root.level
        root.setLevel(logging.INFO)  # the template's LOG_LEVEL
        stream = _CountingStream(self.counts, self._lock)
        # The functions' log lines and EMF metric documents go to stdout, which Lambda sends to CloudWatch Logs.
        self._stdout, sys.stdout = sys.stdout, stream
        for handler in root.handlers:
            if isinstance(handler, logging.StreamHandler):
                self._streams.append((handler, handler.setStream(stream)))
        return self

    def __exit__(self, *_: object) -> None:
        for client in self._clients:
            client.meta.events.unregister("before-parameter-build", unique_id="bench-params")
            client.meta.events.unregister("after-call", unique_id="bench-cost")
        self._functions.observers.remove(self._invoked)
        logging.getLogger().setLevel(self._level)
        for handler, previous in self._streams:
            handler.setStream(previous)
        sys.stdout = self._stdout

    def api_requests(self, count: int) -> None:
        """API Gateway's part: the requests, their access log lines, and the traces they start."""
        with self._lock:
            self.counts.api_requests += count
            self.counts.log_bytes += count * self.access_log_bytes
            if self._api_traced:
                self.counts.api_traces += count

    def _invoked(self, function: str, seconds: float) -> None:
        billed_ms = math.ceil(seconds * 1000)
        with self._lock:
            self.counts.invocations[function] += 1
            # An invocation from the API is part of the request's trace; one from a queue starts its own.
            if self._functions_traced and not self._api_routed.get(function, False):
                self.counts.invocation_traces += 1
            self.counts.gb_seconds += self._memory_mb.get(function, 128) / 1024 * billed_ms / 1000
            self.counts.log_bytes += len(PLATFORM_LOG_LINES.encode())

    @staticmethod
    def _remember_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = dict(params)

    def _after_call(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        params = context.get("bench_params", {})
        service = model.service_model.endpoint_prefix
        operation = model.name
        with self._lock:
            if service == "dynamodb":
                self._dynamodb(operation, params, parsed)
            elif service == "sqs":
                self.counts.sqs[operation] += 1
                self.counts.sqs_requests += max(1, math.ceil(len(json.dumps(params, default=str)) / CHUNK))
            elif service == "events" and operation == "PutEvents":
                for entry in params.get("Entries", []):
                    self.counts.events += max(1, math.ceil(len(json.dumps(entry)) / CHUNK))
            elif service == "secretsmanager":
                self.counts.secret_calls += 1
            elif service == "kms":
                self.counts.kms_requests += 1

    def _dynamodb(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        if operation in ("BatchWriteItem", "BatchGetItem"):
            for physical in params.get("RequestItems", {}):
                table = self._tables.get(physical, (physical, []))[0]
                self.counts.dynamodb[f"{table.removesuffix('Table')}.{operation}"] += 1
            if operation == "BatchWriteItem":
                self._batch_write(params, parsed)
            else:
                self._batch_get(params, parsed)
            return
        table, key_names = self._tables.get(str(params.get("TableName")), (str(params.get("TableName")), []))
        self.counts.dynamodb[f"{table.removesuffix('Table')}.{operation}"] += 1
        item_key = params.get("Key") or {name: params.get("Item", {}).get(name) for name in key_names}
        key = f"{table}#{json.dumps(item_key, sort_keys=True)}"
        if operation in ("GetItem", "Query"):
            items = [parsed["Item"]] if "Item" in parsed else parsed.get("Items", [])
            size = sum(item_size(item) for item in items)
            if operation == "GetItem" and items:
                self._sizes[key] = size
            units = max(1, math.ceil(size / 4096))
            self.counts.read_units += units if params.get("ConsistentRead") else units / 2
        elif operation == "PutItem":
            size = item_size(params.get("Item", {}))
            self.counts.write_units += max(1, math.ceil(max(size, self._sizes.get(key, 0)) / 1024))
            if "Error" not in parsed:
                self._sizes[key] = size
        elif operation == "UpdateItem":
            after = item_size(parsed["Attributes"]) if "Attributes" in parsed else 0
            self.counts.write_units += max(1, math.ceil(max(self._sizes.get(key, 0), after) / 1024))
            if after:
                self._sizes[key] = after
        elif operation == "DeleteItem":
            self.counts.write_units += max(1, math.ceil(self._sizes.pop(key, 0) / 1024))

    def _batch_write(self, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        """Each item of a BatchWriteItem costs what its own put or delete would; unprocessed ones cost nothing."""
        for physical, requests in params.get("RequestItems", {}).items():
            table, key_names = self._tables.get(physical, (physical, []))
            unprocessed = parsed.get("UnprocessedItems", {}).get(physical, [])
            for request in requests:
                if request in unprocessed:
                    continue
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    key = f"{table}#{json.dumps({name: item.get(name) for name in key_names}, sort_keys=True)}"
                    size = item_size(item)
                    self.counts.write_units += max(1, math.ceil(max(size, self._sizes.get(key, 0)) / 1024))
                    self._sizes[key] = size
                else:
                    key = f"{table}#{json.dumps(request['DeleteRequest']['Key'], sort_keys=True)}"
                    self.counts.write_units += max(1, math.ceil(self._sizes.pop(key, 0) / 1024))

    def _batch_get(self, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        """Each key of a BatchGetItem is its own read: a unit per started 4 KB of the whole item (a projection
        does not make it cheaper), at least one even when the item is missing, half when eventually consistent."""
        for physical, request in params.get("RequestItems", {}).items():
            table, key_names = self._tables.get(physical, (physical, []))
            unprocessed = parsed.get("UnprocessedKeys", {}).get(physical, {}).get("Keys", [])
            found = {
                json.dumps({name: item.get(name) for name in key_names}, sort_keys=True): item
                for item in parsed.get("Responses", {}).get(physical, [])
            }
            share = 1 if request.get("ConsistentRead") else 0.5
            for item_key in request.get("Keys", []):
                if item_key in unprocessed:
                    continue
                text = json.dumps(item_key, sort_keys=True)
                item = found.get(text)
                size = 0 if item is None else max(item_size(item), self._sizes.get(f"{table}#{text}", 0))
                self.counts.read_units += max(1, math.ceil(size / 4096)) * share


def report(counts: Counts, label: str = "cost per million sends") -> list[str]:
    per = counts.to_json()["per_send"]
    lines = [f"{label}: ${counts.per_million():.2f}"]
    detail = {
        "API Gateway": f"{per['api_requests']:.2f} REST requests",
        "Lambda requests": f"{sum(per['lambda_invocations'].values()):.2f} invocations",
        "Lambda duration": f"{per['lambda_gb_seconds'] * 1000:.2f} GB-ms (arm64)",
        "DynamoDB writes": f"{per['dynamodb_write_units']:.2f} write units",
        "DynamoDB reads": f"{per['dynamodb_read_units']:.2f} read units",
        "SQS": f"{per['sqs_requests']:.2f} requests",
        "EventBridge": f"{per['eventbridge_events']:.2f} events",
        "Secrets Manager": f"{per['secrets_manager_calls']:.2f} calls",
        "KMS": f"{per['kms_requests']:.2f} requests",
        "CloudWatch Logs": f"{per['log_bytes']:.0f} bytes",
        "X-Ray": f"{per['xray_traces_if_all_sampled']:.2f} traces, {per['xray_traces_sampled']:.3f} recorded "
        f"(API {counts.api_sampled_share:.0%}, queue-triggered {XRAY_DEFAULT_SHARE:.0%})",
    }
    for name, cost in sorted(counts.costs().items(), key=lambda pair: -pair[1]):
        lines.append(f"  {name:<17} ${cost * 1e6:6.2f}  {detail[name]} per send")
    calls = ", ".join(f"{name} {count:.2g}" for name, count in sorted(per["dynamodb_calls"].items()))
    lines.append(f"  (DynamoDB calls per send: {calls})")
    return lines


def wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
