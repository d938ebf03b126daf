"""The template's promises, checked on the file itself (sam validate --lint and cfn-lint run in `make test`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from textgate_local.template import ROOT, Tagged, Template, api_routes, queue_sources

TEMPLATE = Template.read()
FUNCTIONS = TEMPLATE.of_type("AWS::Serverless::Function")
NO_KEY_ROUTES = {
    ("GET", "/v1/health"),
    ("GET", "/v1/sumotext/callbacks/{kind}"),
    ("POST", "/v1/sumotext/callbacks/{kind}"),
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


def test_the_layer_is_built_by_sam_for_arm64_python_313() -> None:
    layer = TEMPLATE.resources["SharedLayer"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
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
    sources = {source.queue: source for source in queue_sources(TEMPLATE) if "DeadLetter" not in source.queue}
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
    assert watched == queues and len(queues) == 4
    alarm = TEMPLATE.properties("DeadLetterAlarm")
    assert alarm["Dimensions"][0]["Value"] == Tagged("Ref", "DeadLetterFunction")
    assert alarm["AlarmActions"] == [Tagged("Ref", "AlarmTopic")]


def test_delivery_functions_read_only_their_own_provider_secret() -> None:
    for source in queue_sources(TEMPLATE):
        if source.function == "DeadLetterFunction":
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


@pytest.mark.slow
def test_sam_build_makes_an_arm64_python_313_layer(tmp_path: Path) -> None:
    sam = shutil.which("sam")
    if sam is None:
        pytest.skip("the SAM CLI is installed by `make test` (.venv-sam)")
    build_dir = tmp_path / "build"
    python_dir = Path(sys.executable).parent  # sam build wants python3.13 on PATH
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
    layer = build_dir / "SharedLayer" / "python"
    assert (layer / "textgate" / "delivery.py").exists()
    [core] = list((layer / "pydantic_core").glob("_pydantic_core*.so"))
    assert "cpython-313-aarch64" in core.name
    assert not (layer / "boto3").exists(), "boto3 comes with the runtime; keep the layer small"
    size = sum(path.stat().st_size for path in layer.rglob("*") if path.is_file())
    assert size < 30 * 1024 * 1024


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
