"""The whole local stack in one object: AWS endpoint, resources from template.yaml, sandboxes, API, pollers."""

from __future__ import annotations

import importlib
import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from textgate_local import docs_page, resources
from textgate_local.functions import Functions
from textgate_local.gateway import Gateway
from textgate_local.moto_endpoint import MotoEndpoint, free_port
from textgate_local.pollers import QueuePoller, RulePoller
from textgate_local.sandbox_admin import sandbox_admin
from textgate_local.sandboxes.base import SandboxServer
from textgate_local.scheduler import ScheduleFirer
from textgate_local.template import QueueSource, Template, api_routes, queue_sources, rule_sources

SANDBOX_SENDER = "19893653744"  # the seed's long code, used as the default sender against the Ogangi sandbox

# environment variable -> template parameter
PARAMETERS = {
    "OGANGI_BASE_URL": "OgangiBaseUrl",
    "OGANGI_FROM": "OgangiFrom",
    "OGANGI_TIME_ZONE": "OgangiTimeZone",
    "CONTACTATONCE_BASE_URL_NA": "ContactAtOnceBaseUrlNa",
    "CONTACTATONCE_BASE_URL_AU": "ContactAtOnceBaseUrlAu",
    "CONTACTATONCE_BASE_URL_EU": "ContactAtOnceBaseUrlEu",
    "INTERACT_BASE_URL": "InteractBaseUrl",
    "INTERACT_PROTOCOL": "InteractProtocol",
    "PROTEXTING_BASE_URL": "ProtextingBaseUrl",
    "PROVIDER_TIMEOUT_SECONDS": "ProviderTimeoutSeconds",
    "RETRY_BASE_SECONDS": "RetryBaseSeconds",
    "RETRY_MAX_SECONDS": "RetryMaxSeconds",
    "MAX_ATTEMPTS": "MaxAttempts",
    "SUMOTEXT_RETENTION_DAYS": "SumotextRetentionDays",
    "RECIPIENT_DAILY_LIMIT": "RecipientDailyLimit",
    "POWERTOOLS_LOGGER_SAMPLE_RATE": "LogSampleRate",
    "QUIET_HOURS": "QuietHours",
    "DEFAULT_TIME_ZONE": "DefaultTimeZone",
}


@dataclass(frozen=True)
class SandboxSpec:
    """A provider's sandbox: which secret it checks, the env vars that replace it, and its credentials."""

    provider: str
    module: str
    factory: str
    secret: str
    base_url_vars: tuple[str, ...]
    credential_vars: Mapping[str, str]  # secret key -> environment variable
    defaults: Mapping[str, str]


SANDBOXES = (
    SandboxSpec(
        "ogangi",
        "ogangi",
        "OgangiSandbox",
        "OgangiSecret",
        ("OGANGI_BASE_URL",),
        {"instance_id": "OGANGI_INSTANCE_ID", "public_key": "OGANGI_PUBLIC_KEY", "private_key": "OGANGI_PRIVATE_KEY"},
        {"instance_id": "434", "public_key": "sandbox-public-key", "private_key": "sandbox-private-key"},
    ),
    SandboxSpec(
        "contactatonce",
        "contactatonce",
        "ContactAtOnceSandbox",
        "ContactAtOnceSecret",
        ("CONTACTATONCE_BASE_URL_NA", "CONTACTATONCE_BASE_URL_AU", "CONTACTATONCE_BASE_URL_EU"),
        {
            "provider_id": "CONTACTATONCE_PROVIDER_ID",
            "username": "CONTACTATONCE_USERNAME",
            "password": "CONTACTATONCE_PASSWORD",
        },
        {"provider_id": "1001", "username": "sandbox-user", "password": "sandbox-password"},
    ),
    SandboxSpec(
        "interact",
        "interact",
        "InteractSandbox",
        "InteractSecret",
        ("INTERACT_BASE_URL",),
        {
            "account_id": "INTERACT_ACCOUNT_ID",
            "tenant_id": "INTERACT_TENANT_ID",
            "application_key": "INTERACT_APPLICATION_KEY",
            "environment_name": "INTERACT_ENVIRONMENT_NAME",
        },
        {
            "account_id": "12345678",
            "tenant_id": "sandbox-tenant",
            "application_key": "sandbox-app-key",
            "environment_name": "",
        },
    ),
    SandboxSpec(
        "protexting",
        "protexting",
        "ProTextingSandbox",
        "ProtextingSecret",
        ("PROTEXTING_BASE_URL",),
        {"access_token": "PROTEXTING_ACCESS_TOKEN"},
        {"access_token": "sandbox-access-token"},
    ),
)


@dataclass
class StackConfig:
    port: int = 3000
    aws_port: int = 4566
    api_keys: dict[str, str] = field(default_factory=dict)  # client name -> key
    callback_token: str = ""
    environment: dict[str, str] = field(default_factory=dict)  # the API.md settings that were given
    sandbox_slow_seconds: float = 30.0
    # ProTexting's sandbox allowance: (calls, per seconds), or None for no limit.
    protexting_rate_limit: tuple[int, float] | None = (60, 60.0)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> StackConfig:
        keys = {"local": env.get("TEXTGATE_API_KEY") or "tg_local_" + secrets.token_urlsafe(18)}
        for pair in filter(None, (env.get("TEXTGATE_API_KEYS") or "").split(",")):
            name, _, key = pair.partition("=")
            if not name.strip() or not key.strip():
                raise ValueError("TEXTGATE_API_KEYS is name=key,name=key")
            keys[name.strip()] = key.strip()
        given = {name: value for name, value in env.items() if value and _is_setting(name)}
        return cls(
            port=int(env.get("TEXTGATE_PORT") or 3000),
            aws_port=int(env.get("TEXTGATE_AWS_PORT") or 4566),
            api_keys=keys,
            callback_token=env.get("SUMOTEXT_CALLBACK_TOKEN") or secrets.token_urlsafe(24),
            environment=given,
            sandbox_slow_seconds=float(env.get("TEXTGATE_SANDBOX_SLOW_SECONDS") or 30),
            protexting_rate_limit=_rate_limit(env.get("TEXTGATE_PROTEXTING_RATE_LIMIT") or "60/60"),
        )


def _rate_limit(text: str) -> tuple[int, float] | None:
    """'60/60' is 60 calls a minute; 'off' is no limit."""
    if text.strip().lower() == "off":
        return None
    calls, _, seconds = text.partition("/")
    try:
        return int(calls), float(seconds or 60)
    except ValueError:
        raise ValueError("TEXTGATE_PROTEXTING_RATE_LIMIT is calls/seconds (60/60) or off") from None


def _is_setting(name: str) -> bool:
    prefixes = (
        "OGANGI_",
        "CONTACTATONCE_",
        "INTERACT_",
        "PROTEXTING_",
        "PROVIDER_",
        "RETRY_",
        "LOG_LEVEL",
        "POWERTOOLS_LOGGER_SAMPLE_RATE",
    )
    return name.startswith(prefixes) or name in (
        "MAX_ATTEMPTS",
        "SUMOTEXT_RETENTION_DAYS",
        "RECIPIENT_DAILY_LIMIT",
        "QUIET_HOURS",
        "DEFAULT_TIME_ZONE",
    )


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.moto = MotoEndpoint(config.aws_port or free_port())
        self.template = Template.read(
            overrides={PARAMETERS[name]: value for name, value in config.environment.items() if name in PARAMETERS}
        )
        self.sandboxes: dict[str, SandboxServer] = {}
        self.functions: Functions | None = None
        self.gateway: Gateway | None = None
        self.pollers: list[QueuePoller] = []
        self.scheduler: ScheduleFirer | None = None
        self._gateway_thread: threading.Thread | None = None

    @property
    def api_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    def start(self) -> LocalStack:
        self.moto.start()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        secret_values = self._start_sandboxes()
        secret_values["SumotextSecret"] = {"token": self.config.callback_token, "previous_token": ""}
        secret_values["PinKeySecret"] = {"key": secrets.token_hex(32)}
        resources.create_all(self.template, self.moto.url, secret_values)
        os.environ.update(resources.aws_environment(self.moto.url) | resources.function_environment(self.template))
        if "LOG_LEVEL" in self.config.environment:
            os.environ["LOG_LEVEL"] = self.config.environment["LOG_LEVEL"]
        self.functions = Functions(self.template)
        self.functions.load_all()
        sqs = resources.client("sqs", self.moto.url)
        for source in queue_sources(self.template):
            poller = QueuePoller(
                source,
                self.template.refs[source.queue],
                self.template.attributes[(source.queue, "Arn")],
                sqs,
                self.functions.invoke,
            )
            poller.start()
            self.pollers.append(poller)
        for rule in rule_sources(self.template):
            tap_url, tap_arn = resources.create_rule_tap(self.template, self.moto.url, rule)
            source = QueueSource(
                function=rule.function,
                queue=f"{rule.function}Tap",
                batch_size=10,
                max_concurrency=2,
                report_failures=False,
            )
            rule_poller = RulePoller(source, tap_url, tap_arn, sqs, self.functions.invoke)
            rule_poller.start()
            self.pollers.append(rule_poller)
        # EventBridge Scheduler's part: moto keeps the schedules, this fires the due ones onto their queues.
        self.scheduler = ScheduleFirer(
            [self.template.refs[name] for name in self.template.of_type("AWS::Scheduler::ScheduleGroup")],
            resources.client("scheduler", self.moto.url),
            sqs,
        )
        self.scheduler.start()
        self.gateway = Gateway(
            api_routes(self.template),
            self.functions.invoke,
            self.config.api_keys,
            self.config.port,
            extra=self._extra_pages,
        )
        self._gateway_thread = threading.Thread(target=self.gateway.serve_forever, name="gateway", daemon=True)
        self._gateway_thread.start()

    def _start_sandboxes(self) -> dict[str, dict[str, Any]]:
        values: dict[str, dict[str, Any]] = {}
        env = self.config.environment
        for spec in SANDBOXES:
            credentials = {key: env.get(var, spec.defaults[key]) for key, var in spec.credential_vars.items()}
            values[spec.secret] = credentials
            missing = [var for var in spec.base_url_vars if var not in env]
            if not missing:
                continue
            module = importlib.import_module(f"textgate_local.sandboxes.{spec.module}")
            options: dict[str, Any] = {"slow_seconds": self.config.sandbox_slow_seconds}
            if spec.provider == "ogangi" and "OGANGI_TIME_ZONE" in env:
                options["time_zone"] = env["OGANGI_TIME_ZONE"]
            if spec.provider == "protexting":
                limit = self.config.protexting_rate_limit
                options |= (
                    {"enforce_rate_limit": False}
                    if limit is None
                    else {"rate_limit": limit[0], "window_seconds": limit[1]}
                )
            app = getattr(module, spec.factory)(**credentials, **options)
            server = SandboxServer(app, slow_seconds=self.config.sandbox_slow_seconds).start()
            self.sandboxes[spec.provider] = server
            for var in missing:
                self.template.parameters[PARAMETERS[var]] = server.url
            if spec.provider == "ogangi" and "OGANGI_FROM" not in env:
                self.template.parameters["OgangiFrom"] = SANDBOX_SENDER
            if spec.provider == "ogangi" and "OGANGI_TIME_ZONE" not in env:
                # The sandbox's instance writes inbound dates in its own zone, as a real account does in its own.
                self.template.parameters["OgangiTimeZone"] = app.time_zone
        return values

    def _extra_pages(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes] | None:
        if path.startswith("/_sandbox/"):
            return sandbox_admin(self.sandboxes, method, path.removeprefix("/_sandbox/"), body)
        if method == "GET" and (path == "/docs" or path.startswith("/docs/")):
            return docs_page.serve(path, self.config.api_keys["local"])
        return None

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler.join()
        for poller in self.pollers:
            poller.stop()
        for poller in self.pollers:
            poller.join()
        if self.gateway is not None:
            self.gateway.shutdown()
        for server in self.sandboxes.values():
            server.stop()
        self.moto.stop()

    def banner(self) -> str:
        assert self.gateway is not None
        key = self.config.api_keys["local"]
        others = ", ".join(name for name in self.config.api_keys if name != "local")
        lines = [
            "textgate local stack is up (Ctrl-C stops everything it started)",
            f"  API            {self.gateway.url}/v1   (header x-api-key: {key})",
            f"  OpenAPI        {self.gateway.url}/v1/openapi.json   (Swagger UI: {self.gateway.url}/docs)",
            f"  Callback URL   {self.gateway.url}/v1/sumotext/callbacks/{{kind}}?token={self.config.callback_token}",
            f"  AWS endpoint   {self.moto.url}   (moto; tables, queues, bus and secrets from template.yaml)",
            "  Scheduler      due one-time schedules (send_at, quiet hours) fired onto their queues each second",
        ]
        if others:
            lines.append(f"  other clients  {others}")
        for provider, server in sorted(self.sandboxes.items()):
            lines.append(f"  sandbox        {provider:<14} {server.url}")
        lines.append(
            f"  try: curl -s -H 'x-api-key: {key}' -H 'content-type: application/json' "
            f'-d \'{{"to": "+13056708084", "text": "Hello"}}\' {self.gateway.url}/v1/ogangi/sms'
        )
        return "\n".join(lines)
