"""`make redrive`: put the operations whose messages reached a dead-letter queue back on their queues.

Locally (default) it talks to the running local stack's AWS endpoint; with `--stack NAME` it finds the deployed
stack's tables and queues through CloudFormation and uses the AWS credentials of the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from textgate_local import resources
from textgate_local.template import Template


def _local_names(template: Template, endpoint: str) -> None:
    sqs = resources.client("sqs", endpoint)
    for name in template.of_type("AWS::SQS::Queue"):
        template.refs[name] = sqs.get_queue_url(QueueName=name)["QueueUrl"]


def _stack_names(template: Template, stack: str) -> None:
    import boto3

    cloudformation = boto3.client("cloudformation")
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack):
        for resource in page["StackResourceSummaries"]:
            template.refs[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make redrive", description=__doc__)
    parser.add_argument("--stack", help="a deployed stack's name (default: the local stack)")
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args(argv)
    template = Template.read(overrides={"OgangiBaseUrl": "https://unused.invalid"})
    if args.stack:
        _stack_names(template, args.stack)
    else:
        endpoint = f"http://127.0.0.1:{os.environ.get('TEXTGATE_AWS_PORT', '4566')}"
        os.environ.update(resources.aws_environment(endpoint))
        try:
            _local_names(template, endpoint)
        except Exception as exc:  # noqa: BLE001 - a clear line for the operator
            print(f"redrive: the local stack is not reachable at {endpoint} ({type(exc).__name__})", file=sys.stderr)
            return 1
    os.environ.update(resources.function_environment(template))
    from textgate.logic.dead_letters import redrive

    report = redrive(args.limit)
    summary: dict[str, Any] = {"requeued": report.requeued, "already_final": report.already_final}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
