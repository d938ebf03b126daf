"""The template's promises, checked on the file itself (sam validate --lint and cfn-lint run in `make test`)."""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from textgate.registry import OperationName, Provider
from textgate_local.template import ROOT, Tagged, Template, api_routes, queue_sources

TEMPLATE = Template.read()
FUNCTIONS = TEMPLATE.of_type("AWS::Serverless::Function")
NO_KEY_ROUTES = {
    ("GET", "/v1/health"),
    ("GET", "/v1/sumotext/callbacks/{kind}"),
    ("POST", "/v1/sumotext/callbacks/{kind}"),
    # The 405 for any other method asks for a key where the path's own methods do.
    ("ANY", "/v1/health"),
    ("ANY", "/v1/sumotext/callbacks/{kind}"),
}
SAFE_ACCESS_LOG_VARIABLES = {
    "$context.requestId",
    "$context.requestTime",
    "$context.identity.sourceIp",
    "$context.identity.apiKeyId",
    "$context.httpMethod",
    "$context.resourcePath",
    "$context.status",
    "$context.protocol",
    "$context.responseLength",
    "$context.responseLatency",
    "$context.integrationLatency",
    "$context.integration.status",
    "$context.error.responseType",
    "$context.error.messageString",
    "$context.xrayTraceId",
}


def test_functions_run_python_313_on_arm64_with_the_shared_layer() -> None:
    defaults = TEMPLATE.function_defaults()
    assert defaults["Runtime"] == "python3.13" and defaults["Architectures"] == ["arm64"]
    assert defaults["Layers"] == [Tagged("Ref", "SharedLayer")]
    for name, spec in FUNCTIONS.items():
        assert "Runtime" not in spec["Properties"] and "Architectures" not in spec["Properties"], name


def test_the_layer_is_built_by_its_makefile_for_arm64_python_313() -> None:
    layer = TEMPLATE.resources["SharedLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    makefile = (ROOT / "layers/shared/Makefile").read_text()
    assert "build-SharedLayer:" in makefile and "manylinux2014_aarch64" in makefile
    assert (ROOT / "layers/shared/requirements.txt").exists()


def test_every_function_has_a_handler_file_and_its_own_log_group_with_retention() -> None:
    for name, spec in FUNCTIONS.items():
        properties = spec["Properties"]
        module = properties["Handler"].rsplit(".", 1)[0]
        assert (ROOT / properties["CodeUri"] / f"{module}.py").exists(), name
        group = properties["LoggingConfig"]["LogGroup"]
        assert isinstance(group, Tagged) and group.tag == "Ref"
        log_group = TEMPLATE.resources[group.value]
        assert log_group["Type"] == "AWS::Logs::LogGroup"
        assert log_group["Properties"]["RetentionInDays"] == Tagged("Ref", "LogRetentionDays")
        assert properties.get("Description"), f"{name} needs a description"


def test_handler_module_names_are_unique() -> None:
    modules = [spec["Properties"]["Handler"].rsplit(".", 1)[0] for spec in FUNCTIONS.values()]
    assert len(modules) == len(set(modules))


def test_every_v1_route_but_health_and_the_callback_needs_an_api_key() -> None:
    api = TEMPLATE.resources["Api"]["Properties"]
    assert api["Auth"]["ApiKeyRequired"] is True
    plan = api["Auth"]["UsagePlan"]
    assert plan["CreateUsagePlan"] == "PER_API"
    assert {"RateLimit", "BurstLimit"} <= set(plan["Throttle"]) and plan["Quota"]["Period"] == "DAY"
    for route in api_routes(TEMPLATE):
        assert route.path.startswith("/v1/")
        assert route.api_key == ((route.method, route.path) not in NO_KEY_ROUTES), route


def test_each_provider_has_a_queue_a_dead_letter_queue_and_a_delivery_function() -> None:
    sources = {
        source.queue: source
        for source in queue_sources(TEMPLATE)
        if "DeadLetter" not in source.queue and source.queue != STATUS_CALLBACK_QUEUE
    }
    assert set(sources) == {"OgangiQueue", "ContactAtOnceQueue", "InteractQueue", "ProtextingQueue"}
    for queue, source in sources.items():
        properties = TEMPLATE.properties(queue)
        redrive = properties["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == Tagged("Ref", "MaxAttempts")
        dead_letter = redrive["deadLetterTargetArn"]
        assert TEMPLATE.resources[dead_letter.value.split(".")[0]]["Type"] == "AWS::SQS::Queue"
        timeout = int(FUNCTIONS[source.function]["Properties"].get("Timeout", 10))
        assert int(properties["VisibilityTimeout"]) >= 6 * timeout, queue
        assert source.report_failures, f"{source.function} must report partial batch failures"
        assert source.max_concurrency >= 2


STATUS_CALLBACK_QUEUE = "StatusCallbackQueue"


def test_status_callbacks_have_their_own_queue_dead_letter_queue_and_function() -> None:
    """A slow or dead receiver delays no send: nothing of a provider's delivery is shared with callbacks."""
    [source] = [source for source in queue_sources(TEMPLATE) if source.queue == STATUS_CALLBACK_QUEUE]
    assert source.function == "StatusCallbackFunction" and source.report_failures and source.max_concurrency >= 2
    properties = TEMPLATE.properties(STATUS_CALLBACK_QUEUE)
    assert properties["RedrivePolicy"]["deadLetterTargetArn"] == Tagged("GetAtt", "StatusCallbackDeadLetterQueue.Arn")
    function = FUNCTIONS["StatusCallbackFunction"]["Properties"]
    assert int(properties["VisibilityTimeout"]) >= 6 * int(function["Timeout"])
    # Its 10 s POSTs run concurrently within a batch, well inside its timeout.
    assert int(function["Timeout"]) >= 20
    assert function.get("Architectures", TEMPLATE.function_defaults()["Architectures"]) == ["arm64"]
    granted = {
        (action, resource.value if isinstance(resource, Tagged) else resource)
        for statement in _statements(FUNCTIONS["StatusCallbackFunction"])
        for action in statement["Action"]
        for resource in statement["Resource"]
    }
    assert granted == {
        ("dynamodb:GetItem", "OperationsTable.Arn"),
        ("dynamodb:UpdateItem", "OperationsTable.Arn"),
        ("dynamodb:GetItem", "WebhookSecretsTable.Arn"),
        ("dynamodb:PutItem", "WebhookSecretsTable.Arn"),
        ("kms:Encrypt", "WebhookSecretKey.Arn"),
        ("kms:Decrypt", "WebhookSecretKey.Arn"),
        ("sqs:SendMessage", "StatusCallbackQueue.Arn"),
        ("events:PutEvents", "EventBus.Arn"),
    }
    for name, spec in FUNCTIONS.items():  # only the two functions that show or use a secret may decrypt one
        decrypts = any("kms:Decrypt" in statement["Action"] for statement in _statements(spec))
        assert decrypts == (name in {"StatusCallbackFunction", "WebhookSecretFunction"}), name


def test_every_function_that_ends_an_operation_may_both_publish_its_end_and_queue_its_callback() -> None:
    """`outcomes.announce` does both: a function given only one of them would end operations silently on the
    bus (an accept whose queue refused it) or without their status callback."""
    for name, spec in FUNCTIONS.items():
        actions = {
            (action, resource.value if isinstance(resource, Tagged) else resource)
            for statement in _statements(spec)
            for action in statement["Action"]
            for resource in statement["Resource"]
        }
        queues_callbacks = ("sqs:SendMessage", "StatusCallbackQueue.Arn") in actions
        if queues_callbacks:
            assert ("events:PutEvents", "EventBus.Arn") in actions, name
            assert "EVENT_BUS_NAME" in spec["Properties"]["Environment"]["Variables"], name


def test_each_delivery_function_reserves_as_much_concurrency_as_its_queue_may_use() -> None:
    # Equal: the pollers never ask for more than the reservation (no throttled batches spending receive counts),
    # and the rest of the account never takes it. The dead-letter reader, on four queues, reserves nothing.
    for source in queue_sources(TEMPLATE):
        if source.function == "DeadLetterFunction":
            continue
        properties = FUNCTIONS[source.function]["Properties"]
        (event,) = properties["Events"].values()
        cap = event["Properties"]["ScalingConfig"]["MaximumConcurrency"]
        assert isinstance(cap, Tagged) and cap.value.endswith("MaxConcurrency"), source.function
        assert properties["ReservedConcurrentExecutions"] == cap, source.function


def test_tables_are_on_demand_with_point_in_time_recovery_and_ttl() -> None:
    for name, spec in TEMPLATE.of_type("AWS::DynamoDB::Table").items():
        properties = spec["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", name
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
        assert properties["TimeToLiveSpecification"]["Enabled"] is True, name


def test_secrets_hold_no_value_in_the_template() -> None:
    secrets = TEMPLATE.of_type("AWS::SecretsManager::Secret")
    assert {"OgangiSecret", "ContactAtOnceSecret", "InteractSecret", "ProtextingSecret", "SumotextSecret"} <= set(
        secrets
    )
    for name, spec in secrets.items():
        assert "SecretString" not in spec["Properties"], name
    variables = TEMPLATE.function_defaults()["Environment"]["Variables"]
    assert not any(word in key for key in variables for word in ("PASSWORD", "PRIVATE_KEY", "TOKEN", "APPLICATION_KEY"))


def _statements(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for policy in spec["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            found.extend(policy["Statement"])
    return found


def _named_resources(value: Any) -> set[str]:
    """The logical ids a policy's resources name (!Ref X, !GetAtt X.Arn, !Sub "${X.Arn}/index/*")."""
    if isinstance(value, Tagged):
        if isinstance(value.value, str):
            return {value.value.split(".")[0]} | set(re.findall(r"\$\{(\w+)", value.value))
        return _named_resources(value.value)
    if isinstance(value, dict):
        return set().union(*map(_named_resources, value.values()))
    if isinstance(value, list):
        return set().union(*map(_named_resources, value))
    return set()


def _role_resources(role: str) -> set[str]:
    policies = TEMPLATE.properties(role).get("Policies", [])
    return set().union(
        *(_named_resources(s["Resource"]) for policy in policies for s in policy["PolicyDocument"]["Statement"])
    )


def test_each_function_is_given_the_names_of_exactly_the_resources_its_policy_allows() -> None:
    # settings.py: a function reads only the names it is given; the names it needs are those its policy allows.
    kinds = {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SecretsManager::Secret", "AWS::Events::EventBus"}
    named_kinds = {name for name, spec in TEMPLATE.resources.items() if spec["Type"] in kinds}
    shared = TEMPLATE.function_defaults()["Environment"]["Variables"]
    assert not _named_resources(shared) & named_kinds, "a resource name given to every function"
    for name, spec in FUNCTIONS.items():
        variables = spec["Properties"].get("Environment", {}).get("Variables", {})
        given = _named_resources(variables) & named_kinds
        allowed = set().union(*(_named_resources(s["Resource"]) for s in _statements(spec))) & named_kinds
        # A function that hands Scheduler its role is also given what the schedules it makes name (their
        # dead-letter queue), which Scheduler reaches with that role, not the function.
        passed = set().union(
            *(
                _role_resources(role)
                for statement in _statements(spec)
                if "iam:PassRole" in statement["Action"]
                for role in _named_resources(statement["Resource"])
            )
        )
        assert allowed <= given <= allowed | (passed & named_kinds), name


COLD_STARTS = """
import importlib, json, os, sys
from textgate.settings import get_settings
base = dict(os.environ)
for function, (folder, module, environment) in json.loads(sys.argv[1]).items():
    os.environ.clear()
    os.environ.update(base | environment)
    get_settings.cache_clear()
    sys.path.insert(0, folder)
    try:
        importlib.import_module(module)
    except Exception as exc:
        sys.exit(f"{function}: {exc!r}")
    sys.path.remove(folder)
"""


def _function_plan() -> dict[str, tuple[str, str, dict[str, str]]]:
    """Each function's folder, handler module and environment, as COLD_STARTS takes them."""
    from textgate_local.resources import function_environment

    template = Template.read(overrides={"OgangiBaseUrl": "http://127.0.0.1:9"})
    return {
        name: (
            str(ROOT / spec["Properties"]["CodeUri"]),
            spec["Properties"]["Handler"].rpartition(".")[0],
            function_environment(template, name),
        )
        for name, spec in FUNCTIONS.items()
    }


def test_each_function_starts_with_its_own_environment_alone() -> None:
    plan = _function_plan()
    kept = {name: value for name, value in os.environ.items() if name == "PATH"}
    completed = subprocess.run(
        [sys.executable, "-c", COLD_STARTS, json.dumps(plan)],
        env=kept | {"PYTHONPATH": str(ROOT / "layers" / "shared"), "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_policies_are_least_privilege() -> None:
    for name, spec in FUNCTIONS.items():
        for statement in _statements(spec):
            actions = statement["Action"]
            resources = statement["Resource"]
            assert all("*" not in action for action in actions), name
            assert all(resource != "*" for resource in resources), name
            assert not any(action in ("dynamodb:Scan", "dynamodb:DeleteTable") for action in actions), name


def test_every_dead_letter_queue_is_watched_and_alarmed() -> None:
    watched = {source.queue for source in queue_sources(TEMPLATE) if source.function == "DeadLetterFunction"}
    queues = {name for name in TEMPLATE.of_type("AWS::SQS::Queue") if name.endswith("DeadLetterQueue")}
    # A status callback's dead letter is no operation's: it is alarmed on its own, never marked on the operation.
    assert watched == queues - {"StatusCallbackDeadLetterQueue"} and len(watched) == 4
    callback_alarm = TEMPLATE.properties("StatusCallbackDeadLetterAlarm")
    assert callback_alarm["Dimensions"][0]["Value"] == Tagged("GetAtt", "StatusCallbackDeadLetterQueue.QueueName")
    assert callback_alarm["AlarmActions"] == [Tagged("Ref", "AlarmTopic")]
    alarm = TEMPLATE.properties("DeadLetterAlarm")
    assert alarm["Dimensions"][0]["Value"] == Tagged("Ref", "DeadLetterFunction")
    assert alarm["AlarmActions"] == [Tagged("Ref", "AlarmTopic")]


def test_delivery_functions_read_only_their_own_provider_secret() -> None:
    for source in queue_sources(TEMPLATE):
        if source.function in ("DeadLetterFunction", "StatusCallbackFunction"):
            continue
        provider = source.queue.removesuffix("Queue")
        secrets = [
            resource.value
            for statement in _statements(FUNCTIONS[source.function])
            if "secretsmanager:GetSecretValue" in statement["Action"]
            for resource in statement["Resource"]
        ]
        # Ogangi's delivery also hashes the PINs it receives, with the PIN key.
        expected = [f"{provider}Secret", "PinKeySecret"] if provider == "Ogangi" else [f"{provider}Secret"]
        assert secrets == expected, source.function


@pytest.fixture(scope="module")
def built_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` of the whole template, as `make build` runs it (no Docker): the layer's python/ folder."""
    sam = shutil.which("sam")
    if sam is None:
        pytest.skip("the SAM CLI is installed by `make test` (.venv-sam)")
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    python_dir = Path(sys.executable).parent  # the layer's Makefile wants python3.13 on PATH
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{python_dir}{os.pathsep}{os.environ['PATH']}"}
    completed = subprocess.run(
        [sam, "build", "--build-dir", str(build_dir), "--template-file", str(ROOT / "template.yaml"), "--parallel"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return build_dir / "SharedLayer" / "python"


@pytest.mark.slow
def test_sam_build_makes_an_arm64_python_313_layer(built_layer: Path) -> None:
    layer = built_layer
    assert (layer / "textgate" / "delivery.py").exists()
    [core] = list((layer / "pydantic_core").glob("_pydantic_core*.so"))
    assert "cpython-313-aarch64" in core.name
    assert not (layer / "boto3").exists(), "boto3 comes with the runtime; keep the layer small"
    assert not (layer / "requirements.txt").exists() and not (layer / "Makefile").exists()
    size = sum(path.stat().st_size for path in layer.rglob("*") if path.is_file())
    assert size < 20 * 1000 * 1000, f"{size} bytes unzipped"


@pytest.mark.slow
def test_the_built_layer_ships_libphonenumbers_time_zones_without_its_geocoding(built_layer: Path) -> None:
    """Quiet hours read a number's time zones; the 20 MB of place and carrier names are never read."""
    assert not (built_layer / "phonenumbers" / "geodata").exists()
    assert not (built_layer / "phonenumbers" / "carrierdata").exists()
    completed = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            "import phonenumbers; from phonenumbers.timezone import time_zones_for_number as zones; "
            "print(zones(phonenumbers.parse('+819012345678')))",
        ],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(built_layer)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip() == "('Asia/Tokyo',)"


@pytest.mark.slow
def test_the_built_layer_keeps_what_powertools_imports_at_run_time(built_layer: Path) -> None:
    """The layer's build drops the Powertools utilities textgate does not use: what the Logger, the metrics and
    the Tracer import must still be there (pure Python, so it imports here whatever the layer's platform)."""
    modules = (
        "aws_lambda_powertools.logging",
        "aws_lambda_powertools.logging.formatter",
        "aws_lambda_powertools.logging.lambda_context",
        "aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch",
        "aws_lambda_powertools.tracing",
        "aws_lambda_powertools.utilities.typing",
    )
    completed = subprocess.run(
        [sys.executable, "-S", "-c", f"import {', '.join(modules)}"],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(built_layer)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert not (built_layer / "aws_lambda_powertools" / "event_handler").exists()


@pytest.mark.slow
def test_the_built_layer_ships_hash_based_bytecode_for_every_module(built_layer: Path) -> None:
    """/opt is read-only on Lambda: a .py without its .pyc would be compiled again by every cold start."""
    sources = sorted(built_layer.rglob("*.py"))
    assert len(sources) > 500 and (built_layer / "textgate" / "delivery.py") in sources
    packages = {source.relative_to(built_layer).parts[0] for source in sources}
    assert {"textgate", "pydantic", "pydantic_core", "requests", "urllib3", "phonenumbers"} <= packages
    for source in sources:
        compiled = Path(importlib.util.cache_from_source(str(source)))
        assert compiled.name.endswith(".cpython-313.pyc") and compiled.exists(), source
        data = compiled.read_bytes()
        assert data[:4] == importlib.util.MAGIC_NUMBER, f"{compiled} is not CPython 3.13 bytecode"
        flags = int.from_bytes(data[4:8], "little")
        # Bit 0: hash-based (valid whatever the file times in the zip); bit 1 clear: unchecked (the source is not
        # read and hashed at import: a layer version never changes).
        assert flags == 0b01, f"{compiled} is not unchecked hash-based bytecode (flags {flags})"
        assert data[8:16] == importlib.util.source_hash(source.read_bytes()), f"{compiled} is stale"
        assert isinstance(marshal.loads(data[16:]), types.CodeType), compiled  # noqa: S302 - our own build
    stray = [path for path in built_layer.rglob("*.pyc") if path.parent.name != "__pycache__"]
    assert stray == []


FROM_THE_LAYER = (
    COLD_STARTS
    + """
import importlib.util
from textgate.openapi import PROTOCOLS, document_for
for protocol in PROTOCOLS:
    document_for(protocol)  # every request, answer and event model, built
assert importlib.util.find_spec("pydantic.v1") is None, "pydantic's v1 ships in the layer"
"""
)


@pytest.mark.slow
def test_every_handler_imports_and_every_model_builds_from_the_layer_as_built(tmp_path: Path) -> None:
    """What the layer's build drops (pydantic's v1, Powertools' utilities, libphonenumber's names) is never needed:
    the layer is laid out by its own Makefile for this machine's platform and nothing else of textgate is on the
    path (botocore comes from the runtime, here the virtualenv)."""
    from textgate_local.bench_cold import lay_out_layer

    layer = lay_out_layer(tmp_path)
    plan = _function_plan()
    kept = {name: value for name, value in os.environ.items() if name == "PATH"}
    completed = subprocess.run(
        [sys.executable, "-c", FROM_THE_LAYER, json.dumps(plan)],
        env=kept | {"PYTHONPATH": str(layer), "AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]


@pytest.mark.slow
def test_the_built_layer_ships_the_openapi_document_of_each_protocol(built_layer: Path) -> None:
    """The function that serves the document reads it from the layer instead of building it at its cold start."""
    from textgate.openapi import PROTOCOLS, document_for, shipped_name

    for protocol in PROTOCOLS:
        shipped = json.loads((built_layer / "textgate" / shipped_name(protocol)).read_text(encoding="utf-8"))
        assert shipped == json.loads(json.dumps(document_for(protocol))), protocol
    assert shipped_name("rest") != shipped_name("soap")


def test_every_path_answers_other_methods_with_a_405() -> None:
    routes = api_routes(TEMPLATE)
    paths = {route.path for route in routes if route.method != "ANY"}
    catch_all = {route.path: route.function for route in routes if route.method == "ANY"}
    assert set(catch_all) == paths
    assert set(catch_all.values()) == {"MethodNotAllowedFunction"}


def test_sample_events_match_the_templates_routes() -> None:
    routes = {(route.method, route.path) for route in api_routes(TEMPLATE)}
    samples = sorted((ROOT / "events").glob("*.json"))
    assert len(samples) >= 10
    for sample in samples:
        event = json.loads(sample.read_text())
        if "httpMethod" in event:
            assert (event["httpMethod"], event["resource"]) in routes, sample.name
        else:
            assert "Records" in event or "detail-type" in event, sample.name


def test_every_function_and_the_api_are_traced() -> None:
    assert TEMPLATE.function_defaults()["Tracing"] == "Active"
    for name, spec in FUNCTIONS.items():
        assert spec["Properties"].get("Tracing", "Active") == "Active", name
    for name, spec in TEMPLATE.of_type("AWS::Serverless::Api").items():
        assert spec["Properties"]["TracingEnabled"] is True, name


def test_the_api_is_traced_at_a_fixed_share_with_no_reservoir_a_trickle_could_fill() -> None:
    """docs/decisions.md: X-Ray's default rule traces the first request of every second, so nearly all of a
    trickle; the template's rule samples a fixed share of the API's requests at any volume."""
    [rule] = [spec["Properties"]["SamplingRule"] for spec in TEMPLATE.of_type("AWS::XRay::SamplingRule").values()]
    assert rule["ReservoirSize"] == 0
    assert rule["FixedRate"] == Tagged("Ref", "TraceSampleRate")
    rate = TEMPLATE.document["Parameters"]["TraceSampleRate"]
    assert 0 < rate["Default"] <= 0.05 and rate["MinValue"] == 0 and rate["MaxValue"] == 1
    assert rule["ServiceType"] == "AWS::ApiGateway::Stage"
    # API Gateway names its segments "<API name>/<stage>"; SAM names the REST API after the stack.
    assert rule["ServiceName"] == Tagged("Sub", f"${{AWS::StackName}}/{TEMPLATE.properties('Api')['StageName']}")
    assert {rule[key] for key in ("Host", "HTTPMethod", "URLPath", "ResourceARN")} == {"*"}


def test_every_function_names_the_powertools_service_and_namespace() -> None:
    """docs/operating.md: every metric in namespace textgate with the dimension service=textgate."""
    variables = TEMPLATE.function_defaults()["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "textgate"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "textgate"
    assert variables["POWERTOOLS_LOGGER_SAMPLE_RATE"] == Tagged("Ref", "LogSampleRate")
    for name, spec in FUNCTIONS.items():
        overridden = spec["Properties"].get("Environment", {}).get("Variables", {})
        assert not {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"} & set(overridden), name


def test_the_records_and_the_secrets_outlive_the_stack() -> None:
    kept = {"OperationsTable", "SuppressionTable", "CallbacksTable"} | set(
        TEMPLATE.of_type("AWS::SecretsManager::Secret")
    )
    assert len(kept) == 9
    for name in kept:
        spec = TEMPLATE.resources[name]
        assert spec.get("DeletionPolicy") == "Retain" and spec.get("UpdateReplacePolicy") == "Retain", name


def test_the_api_writes_a_json_access_log_without_paths_or_query_strings() -> None:
    settings = TEMPLATE.properties("Api")["AccessLogSetting"]
    assert settings["DestinationArn"] == Tagged("GetAtt", "ApiAccessLogs.Arn")
    line = settings["Format"]
    sample = json.loads(line.replace("$context.error.messageString", '"message"'))
    assert sample["resourcePath"] == "$context.resourcePath"
    # Only variables that hold no request value: the path holds phone numbers (/v1/opt-outs/{phone}), the query
    # string the Sumotext callback's token, and $context.identity.apiKey the caller's key itself.
    assert set(re.findall(r"\$[A-Za-z.]+", line)) <= SAFE_ACCESS_LOG_VARIABLES
    log_group = TEMPLATE.properties("ApiAccessLogs")
    assert log_group["RetentionInDays"] == Tagged("Ref", "LogRetentionDays")
    assert TEMPLATE.resources["Api"]["DependsOn"] == "ApiGatewayAccount"


def test_log_groups_and_the_alarm_topic_are_encrypted_with_the_projects_key() -> None:
    key = Tagged("GetAtt", "ObservabilityKey.Arn")
    log_groups = TEMPLATE.of_type("AWS::Logs::LogGroup")
    assert len(log_groups) == len(FUNCTIONS) + 1
    for name, spec in log_groups.items():
        assert spec["Properties"]["KmsKeyId"] == key, name
    assert TEMPLATE.properties("AlarmTopic")["KmsMasterKeyId"] == Tagged("Ref", "ObservabilityKey")
    assert TEMPLATE.properties("ObservabilityKey")["EnableKeyRotation"] is True
    services = {
        str(statement["Principal"].get("Service"))
        for statement in TEMPLATE.properties("ObservabilityKey")["KeyPolicy"]["Statement"]
    }
    assert "cloudwatch.amazonaws.com" in services  # alarms publish to the encrypted topic


def test_queues_and_tables_are_encrypted_at_rest() -> None:
    for name, spec in TEMPLATE.of_type("AWS::SQS::Queue").items():
        assert spec["Properties"]["SqsManagedSseEnabled"] is True, name
    for name, spec in TEMPLATE.of_type("AWS::DynamoDB::Table").items():
        assert spec["Properties"]["SSESpecification"]["SSEEnabled"] is True, name


def test_every_checkov_skip_gives_its_reason() -> None:
    # `make lint` runs checkov: what it would find is fixed, or skipped here with a one-line reason.
    skipped = 0
    for name, spec in TEMPLATE.resources.items():
        for skip in spec.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), name
            assert len(skip.get("comment", "")) > 20, f"{name} skips {skip['id']} without a reason"
            skipped += 1
    assert skipped > 0


# --- The dashboard and the alarms read only the metrics written down in docs/operating.md ---

PROVIDERS = {"Ogangi": "ogangi", "ContactAtOnce": "contactatonce", "Interact": "interact", "Protexting": "protexting"}
DIMENSION_VALUES = {
    "service": {"textgate"},
    "provider": {provider.value for provider in Provider},
    "operation": {operation.value for operation in OperationName},
    "kind": {"crm", "poll", "text4info", "mo", "dlr"},
}


def _metric_catalogue() -> dict[str, list[frozenset[str]]]:
    """metric name -> its dimension sets, from the tables of docs/operating.md."""
    catalogue: dict[str, list[frozenset[str]]] = {}
    for line in (ROOT / "docs/operating.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"`\w+`", cells[0]) and cells[1] in ("Count", "Milliseconds"):
            sets = [
                frozenset(re.findall(r"\w+", dimension_set.replace("none", "")))
                for dimension_set in cells[2].split(" and ")
            ]
            catalogue[cells[0].strip("`")] = sets
    return catalogue


CATALOGUE = _metric_catalogue()


def test_the_metric_catalogue_has_what_the_issue_asks_for() -> None:
    assert {
        "OperationAccepted",
        "OperationRefused",
        "OperationSucceeded",
        "OperationFailed",
        "OperationUnknown",
        "OperationRetried",
        "OperationDeadLettered",
        "ProviderLatency",
        "ProviderPaused",
        "OperationLatency",
        "CallbackStored",
        "OptOutChanged",
        "PinChecked",
        "CallbackServerErrors",
    } <= set(CATALOGUE)
    for name, sets in CATALOGUE.items():
        for dimension_set in sets:
            assert not dimension_set or "service" in dimension_set, name
            assert not dimension_set & {"id", "phone", "operation_id", "campaign_id", "mobile"}, name


def _check_textgate_metric(name: str, dimensions: dict[str, str], where: str) -> None:
    assert name in CATALOGUE, f"{where}: {name} is not in docs/operating.md"
    assert frozenset(dimensions) in CATALOGUE[name], f"{where}: {name} by {sorted(dimensions)}"
    for key, value in dimensions.items():
        if key in DIMENSION_VALUES and value != "*":
            assert value in DIMENSION_VALUES[key], f"{where}: {key}={value}"


def _check_aws_metric(namespace: str, dimensions: dict[str, str], where: str) -> None:
    """AWS metrics name this stack's resources: `ref:X` is what the template's ${X} (or !Ref / !GetAtt) gives."""
    for key, value in dimensions.items():
        if key == "QueueName":
            queue, attribute = value.removeprefix("ref:").split(".")
            assert attribute == "QueueName" and TEMPLATE.resources[queue]["Type"] == "AWS::SQS::Queue", where
        elif key == "FunctionName":
            assert value.removeprefix("ref:") in FUNCTIONS, where
        elif key == "ApiName":
            assert value == "ref:AWS::StackName", where  # SAM names the REST API after the stack
        elif key == "Stage":
            assert value == TEMPLATE.properties("Api")["StageName"], where
        else:
            raise AssertionError(f"{where}: unexpected dimension {key} of {namespace}")


def _dashboard() -> dict[str, Any]:
    body = TEMPLATE.properties("Dashboard")["DashboardBody"]
    assert isinstance(body, Tagged) and body.tag == "Sub"

    parameters = TEMPLATE.document["Parameters"]

    def reference(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in parameters:  # a threshold drawn beside its metric: the parameter's default stands in
            return str(parameters[name]["Default"])
        assert name.startswith("AWS::") or name.split(".")[0] in TEMPLATE.resources, name
        return f"ref:{name}"

    document: dict[str, Any] = json.loads(re.sub(r"\$\{([^}!]+)\}", reference, body.value))
    return document


def _dashboard_metrics(widget: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric name, dimensions) of each metric a widget draws, SEARCH expressions included."""
    found = []
    for entry in widget["properties"].get("metrics", []):
        if isinstance(entry[0], dict):
            expression = entry[0]["expression"]
            search = re.search(r"SEARCH\('\{([^}]*)\} MetricName=\"(\w+)\"", expression)
            if search:
                namespace, *keys = search.group(1).split(",")
                found.append((namespace, search.group(2), dict.fromkeys(keys, "*")))  # any value
            continue
        plain = [item for item in entry if not isinstance(item, dict)]
        namespace, name, *pairs = plain
        found.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return found


def test_the_dashboard_draws_real_resources_and_documented_metrics() -> None:
    widgets = _dashboard()["widgets"]
    drawn = 0
    for widget in widgets:
        for namespace, name, dimensions in _dashboard_metrics(widget):
            where = widget["properties"]["title"]
            if namespace == "textgate":
                _check_textgate_metric(name, dimensions, where)
            else:
                assert namespace in ("AWS/SQS", "AWS/Lambda", "AWS/ApiGateway"), where
                _check_aws_metric(namespace, dimensions, where)
            drawn += 1
    assert drawn > 50


def test_the_dashboard_shows_what_on_call_needs() -> None:
    widgets = [widget for widget in _dashboard()["widgets"] if widget["type"] == "metric"]
    titles = " | ".join(widget["properties"]["title"].lower() for widget in widgets)
    for topic in (
        "accepted per minute",
        "outcomes",
        "unknown rate",
        "failure rate",
        "provider latency p50 / p99",
        "queue depth",
        "age of the oldest message",
        "dead letters",
        "callbacks per minute",
        "api requests, 4xx and 5xx",
        "api latency",
        "throttles",
        "lambda errors",
        "lambda concurrency",
        "accepted to final p50 / p99",
    ):
        assert topic in titles, topic

    def drawn(title: str) -> set[str]:
        [widget] = [widget for widget in widgets if widget["properties"]["title"].lower().startswith(title)]
        return {value.removeprefix("ref:") for _, _, dims in _dashboard_metrics(widget) for value in dims.values()}

    assert set(FUNCTIONS) <= drawn("lambda errors")
    assert set(FUNCTIONS) <= drawn("lambda concurrency")
    for provider, value in PROVIDERS.items():
        assert f"{provider}Queue.QueueName" in drawn("queue depth") & drawn("age of the oldest message")
        assert f"{provider}DeadLetterQueue.QueueName" in drawn("dead letters")
        assert f"Outcomes: {provider}".lower() in titles
        assert value in drawn("provider latency")
        assert value in drawn("accepted to final")


def _alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    def dimensions(spec: dict[str, Any]) -> dict[str, str]:
        out = {}
        for dimension in spec.get("Dimensions", []):
            value = dimension["Value"]
            if isinstance(value, Tagged):
                value = f"ref:{value.value if isinstance(value.value, str) else '.'.join(value.value)}"
            out[dimension["Name"]] = value
        return out

    if "Metrics" not in alarm:
        return [(alarm["Namespace"], alarm["MetricName"], dimensions(alarm))]
    found = []
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            found.append((metric["Namespace"], metric["MetricName"], dimensions(metric)))
    return found


REQUIRED_ALARMS = {
    f"{provider}{kind}Alarm"
    for provider in PROVIDERS
    for kind in (
        "UnknownRate",
        "FailureRate",
        "ProviderLatency",
        "OperationLatency",
        "QueueAge",
        "DeliveryErrors",
        "DeliveryThrottles",
    )
} | {"ApiServerErrorsAlarm", "CallbackServerErrorsAlarm", "DeadLetterAlarm"}


def test_every_alarm_the_issue_asks_for_exists_and_pages_the_alarm_topic() -> None:
    alarms = TEMPLATE.of_type("AWS::CloudWatch::Alarm")
    assert set(alarms) >= REQUIRED_ALARMS
    for name, spec in alarms.items():
        properties = spec["Properties"]
        assert properties["AlarmActions"] == [Tagged("Ref", "AlarmTopic")], name
        assert properties.get("AlarmDescription"), name
        assert properties["TreatMissingData"] == "notBreaching", name
        threshold = properties["Threshold"]
        if isinstance(threshold, Tagged):
            assert threshold.value in TEMPLATE.document["Parameters"], name


def test_each_alarm_reads_its_own_providers_resources_and_documented_metrics() -> None:
    for name, spec in TEMPLATE.of_type("AWS::CloudWatch::Alarm").items():
        properties = spec["Properties"]
        provider = next((p for p in PROVIDERS if name.startswith(p)), None)
        for namespace, metric, dimensions in _alarm_metrics(properties):
            if namespace == "textgate":
                _check_textgate_metric(metric, dimensions, name)
                if provider:
                    assert dimensions["provider"] == PROVIDERS[provider], name
            else:
                _check_aws_metric(namespace, dimensions, name)
                if provider:
                    assert all(value.removeprefix("ref:").startswith(provider) for value in dimensions.values()), name
        if "Metrics" in properties:
            queries = properties["Metrics"]
            assert [query.get("ReturnData", True) for query in queries].count(True) == 1, name
            ids = {query["Id"] for query in queries}
            for query in queries:
                words = set(re.findall(r"\b[a-z]\w*\b", query.get("Expression", "")))
                assert words <= ids, f"{name}: {query['Id']} names {words - ids}"


def test_access_log_metric_filters_count_documented_metrics_from_logged_fields() -> None:
    filters = TEMPLATE.of_type("AWS::Logs::MetricFilter")
    assert {"CallbackServerErrors", "CallbackRequests", "ApiThrottled"} == {
        transformation["MetricName"]
        for spec in filters.values()
        for transformation in spec["Properties"]["MetricTransformations"]
    }
    logged = set(
        json.loads(
            TEMPLATE.properties("Api")["AccessLogSetting"]["Format"].replace("$context.error.messageString", '""')
        )
    )
    for name, spec in filters.items():
        properties = spec["Properties"]
        assert properties["LogGroupName"] == Tagged("Ref", "ApiAccessLogs"), name
        assert set(re.findall(r"\$\.(\w+)", properties["FilterPattern"])) <= logged, name
        for transformation in properties["MetricTransformations"]:
            assert transformation["MetricNamespace"] == "textgate"
            assert CATALOGUE[transformation["MetricName"]] == [frozenset()], name


def test_the_callback_has_a_throttle_of_its_own_and_one_client_cannot_take_a_method() -> None:
    api = TEMPLATE.resources["Api"]["Properties"]
    settings = {(item["ResourcePath"], item["HttpMethod"]): item for item in api["MethodSettings"]}
    for method in ("GET", "POST"):
        callback = settings[("/~1v1~1sumotext~1callbacks~1{kind}", method)]
        assert callback["ThrottlingRateLimit"] == Tagged("Ref", "CallbackRateLimit")
        assert callback["ThrottlingBurstLimit"] == Tagged("Ref", "CallbackBurstLimit")
    stage = settings[("/*", "*")]
    plan = api["Auth"]["UsagePlan"]
    per_key, per_method = plan["Throttle"]["RateLimit"], stage["ThrottlingRateLimit"]
    assert per_key == Tagged("Ref", "ApiRateLimit") and per_method == Tagged("Ref", "StageRateLimit")
    assert int(TEMPLATE.parameters["ApiRateLimit"]) < int(TEMPLATE.parameters["StageRateLimit"])
    assert int(TEMPLATE.parameters["ApiBurstLimit"]) < int(TEMPLATE.parameters["StageBurstLimit"])
    assert int(TEMPLATE.parameters["CallbackRateLimit"]) < int(TEMPLATE.parameters["StageRateLimit"])
    assert plan["Quota"]["Limit"] == Tagged("Ref", "ApiDailyQuota")


def test_every_function_that_accepts_a_text_may_count_it_and_read_the_suppression_list() -> None:
    texting = [
        "OgangiSendSmsFunction",
        "OgangiSendPinFunction",
        "OgangiFireMessageFunction",
        "InteractSendCampaignSmsFunction",
        "ProtextingOptInFunction",
        "EventBridgeTriggerFunction",
    ]
    for name in texting:
        statements = FUNCTIONS[name]["Properties"]["Policies"][0]["Statement"]

        def actions_on(table: str, found: list[dict[str, Any]] = statements) -> set[str]:
            return {
                action
                for statement in found
                if Tagged("GetAtt", f"{table}.Arn") in statement["Resource"]
                for action in statement["Action"]
            }

        assert {"dynamodb:GetItem", "dynamodb:UpdateItem"} <= actions_on("LimitsTable"), name
        assert "dynamodb:GetItem" in actions_on("SuppressionTable"), name
    assert TEMPLATE.function_defaults()["Environment"]["Variables"]["RECIPIENT_DAILY_LIMIT"] == Tagged(
        "Ref", "RecipientDailyLimit"
    )
