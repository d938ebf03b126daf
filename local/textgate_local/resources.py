"""Creates the template's tables, queues (with their redrive), bus and secrets on the local endpoint."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config

from textgate_local.template import RuleSource, Template


def aws_environment(endpoint: str) -> dict[str, str]:
    """What points the functions' AWS clients (through AWS_ENDPOINT_URL) at the local endpoint."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }


def client(service: str, endpoint: str) -> Any:
    # The service name is only known at run time, so the typed overloads of boto3.client cannot apply.
    return boto3.client(  # type: ignore[call-overload]
        service,
        config=Config(max_pool_connections=64),
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def create_all(template: Template, endpoint: str, secret_values: dict[str, dict[str, Any]]) -> None:
    create_tables(template, endpoint)
    create_queues(template, endpoint)
    create_buses(template, endpoint)
    create_schedule_groups(template, endpoint)
    create_secrets(template, endpoint, secret_values)


def create_tables(template: Template, endpoint: str) -> None:
    dynamodb = client("dynamodb", endpoint)
    for name, spec in template.of_type("AWS::DynamoDB::Table").items():
        properties = template.resolve(spec["Properties"])
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "KeySchema": properties["KeySchema"],
            "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if properties.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        dynamodb.create_table(**request)
        template.refs[name] = name
        template.attributes[(name, "Arn")] = f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}"
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def create_queues(template: Template, endpoint: str) -> None:
    sqs = client("sqs", endpoint)
    queues = template.of_type("AWS::SQS::Queue")
    # Dead-letter queues first: the others name them in their redrive policy.
    ordered = sorted(queues, key=lambda name: "RedrivePolicy" in queues[name].get("Properties", {}))
    for name in ordered:
        properties = template.resolve(queues[name].get("Properties", {}))
        attributes: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
            if key in properties:
                attributes[key] = str(properties[key])
        if "RedrivePolicy" in properties:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": properties["RedrivePolicy"]["deadLetterTargetArn"],
                    "maxReceiveCount": int(properties["RedrivePolicy"]["maxReceiveCount"]),
                }
            )
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        template.refs[name] = url
        template.attributes[(name, "Arn")] = arn
        template.attributes[(name, "QueueName")] = name
        template.attributes[(name, "QueueUrl")] = url


def create_buses(template: Template, endpoint: str) -> None:
    events = client("events", endpoint)
    for name, spec in template.of_type("AWS::Events::EventBus").items():
        bus_name = template.resolve(spec["Properties"]["Name"])
        arn = events.create_event_bus(Name=bus_name)["EventBusArn"]
        template.refs[name] = bus_name
        template.attributes[(name, "Arn")] = arn
        template.attributes[(name, "Name")] = bus_name


def create_schedule_groups(template: Template, endpoint: str) -> None:
    scheduler = client("scheduler", endpoint)
    for name, spec in template.of_type("AWS::Scheduler::ScheduleGroup").items():
        group_name = template.resolve(spec["Properties"]["Name"])
        arn = scheduler.create_schedule_group(Name=group_name)["ScheduleGroupArn"]
        template.refs[name] = group_name
        template.attributes[(name, "Arn")] = arn


def create_secrets(template: Template, endpoint: str, values: dict[str, dict[str, Any]]) -> None:
    secretsmanager = client("secretsmanager", endpoint)
    for name in template.of_type("AWS::SecretsManager::Secret"):
        if name not in values:
            raise KeyError(f"no local value for the secret {name}")
        arn = secretsmanager.create_secret(Name=name, SecretString=json.dumps(values[name]))["ARN"]
        template.refs[name] = name
        template.attributes[(name, "Arn")] = arn


def function_environment(template: Template, function: str | None = None) -> dict[str, str]:
    """A function's environment (the Globals and its own), resolved against the local resources. Without a
    function: every function's, together, as the local stack runs them all in one process."""
    variables = dict(template.function_defaults().get("Environment", {}).get("Variables", {}))
    functions = [function] if function else list(template.of_type("AWS::Serverless::Function"))
    for name in functions:
        variables |= template.properties(name).get("Environment", {}).get("Variables", {})
    return {key: str(value) for key, value in template.resolve(variables).items()}


def create_rule_tap(template: Template, endpoint: str, rule: RuleSource) -> tuple[str, str]:
    """The rule on the local bus, with a queue as its target in place of the function (moto invokes no Lambda)."""
    sqs, events = client("sqs", endpoint), client("events", endpoint)
    name = f"{rule.function}Tap"
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventBusName=rule.bus, EventPattern=json.dumps(rule.pattern), State="ENABLED")
    events.put_targets(Rule=name, EventBusName=rule.bus, Targets=[{"Id": "tap", "Arn": arn}])
    return url, arn
