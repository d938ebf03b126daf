"""`make webhook-secret ARGS="--client eventbridge:<Source>"`: show (or `--rotate`) a client's status-callback
signing secret from outside the API.

API clients read theirs with GET /v1/webhook-secret; a client that starts operations with events on the bus
(`eventbridge:<Source>`) has no API key, so an operator hands it its secret. Locally (default) it talks to the
running local stack's AWS endpoint; with `--stack NAME` to the deployed stack, with the environment's AWS
credentials (which need kms:Decrypt on the stack's WebhookSecretKey, and kms:Encrypt to make or rotate one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from textgate_local import resources
from textgate_local.redrive import _stack_names
from textgate_local.template import Template


def _local_key(template: Template, endpoint: str) -> None:
    """Locally each key has a random id: the secrets' key is the one with the template's description."""
    kms = resources.client("kms", endpoint)
    wanted = template.resolve(template.properties("WebhookSecretKey")["Description"])
    for key in kms.list_keys()["Keys"]:
        if kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"].get("Description") == wanted:
            template.refs["WebhookSecretKey"] = key["KeyId"]
            return
    raise LookupError("no WebhookSecretKey")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make webhook-secret", description=__doc__)
    parser.add_argument("--client", required=True, help="the client, for example eventbridge:billing.service")
    parser.add_argument("--rotate", action="store_true", help="make a new secret (the previous one signs for 24 h)")
    parser.add_argument("--stack", help="a deployed stack's name (default: the local stack)")
    args = parser.parse_args(argv)
    template = Template.read(overrides={"OgangiBaseUrl": "https://unused.invalid"})
    if args.stack:
        _stack_names(template, args.stack)
    else:
        endpoint = f"http://127.0.0.1:{os.environ.get('TEXTGATE_AWS_PORT', '4566')}"
        os.environ.update(resources.aws_environment(endpoint))
        try:
            _local_key(template, endpoint)
        except Exception as exc:  # noqa: BLE001 - a clear line for the operator
            print(
                f"webhook-secret: the local stack is not reachable at {endpoint} ({type(exc).__name__})",
                file=sys.stderr,
            )
            return 1
    os.environ.update(resources.function_environment(template))
    from textgate import clock
    from textgate.logic.webhook_secrets import current, rotate

    secret = rotate(args.client)[0] if args.rotate else current(args.client)
    expires = secret.previous_secret_expires_at
    shown = {
        "client": args.client,
        "secret": secret.secret,
        "created_at": clock.rfc3339(secret.created_at),
        "previous_secret_expires_at": clock.rfc3339(expires) if expires is not None else None,
    }
    print(json.dumps(shown, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
