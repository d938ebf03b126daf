"""Settings of a container: read once from the environment, validated, then shared.

Two kinds, as the template gives them:
- the names of the stack's resources (tables, queues, secrets, the bus) and Ogangi's address: each function is
  given only those it uses (its own `Environment` in template.yaml, the same resources its policy allows). Reading
  one the function was not given is a `SettingsError` naming it; one given empty fails the cold start;
- the tunables (timeouts, attempts, limits, provider options): every function has them, each with a default,
  validated at the cold start.

`get_settings` raises `SettingsError` on a bad environment, and each function calls it while it is imported
(`log.setup`): a bad environment fails the Lambda init, loudly, instead of answering every request with a 500.
Credentials are not settings, they come from Secrets Manager.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import ClassVar, Literal, overload

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from textgate.quiet_hours import Window, parse_window


class SettingsError(RuntimeError):
    """The container's environment is incomplete or wrong: fail the cold start loudly."""


class Given:
    """A setting only the functions that use it are given: read, it must be there."""

    def __init__(self, variable: str) -> None:
        self.variable = variable

    @overload
    def __get__(self, settings: None, owner: type) -> Given: ...
    @overload
    def __get__(self, settings: Settings, owner: type) -> str: ...
    def __get__(self, settings: Settings | None, owner: type) -> Given | str:
        if settings is None:
            return self
        value = settings._given.get(self.variable)
        if value is None:
            raise SettingsError(f"{self.variable} is not set: this function was not given it (template.yaml)")
        return value


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    operations_table: ClassVar[Given] = Given("OPERATIONS_TABLE")
    idempotency_table: ClassVar[Given] = Given("IDEMPOTENCY_TABLE")
    callbacks_table: ClassVar[Given] = Given("CALLBACKS_TABLE")
    suppression_table: ClassVar[Given] = Given("SUPPRESSION_TABLE")
    limits_table: ClassVar[Given] = Given("LIMITS_TABLE")
    event_bus_name: ClassVar[Given] = Given("EVENT_BUS_NAME")

    ogangi_queue_url: ClassVar[Given] = Given("OGANGI_QUEUE_URL")
    contactatonce_queue_url: ClassVar[Given] = Given("CONTACTATONCE_QUEUE_URL")
    interact_queue_url: ClassVar[Given] = Given("INTERACT_QUEUE_URL")
    protexting_queue_url: ClassVar[Given] = Given("PROTEXTING_QUEUE_URL")

    ogangi_secret_id: ClassVar[Given] = Given("OGANGI_SECRET_ID")
    contactatonce_secret_id: ClassVar[Given] = Given("CONTACTATONCE_SECRET_ID")
    interact_secret_id: ClassVar[Given] = Given("INTERACT_SECRET_ID")
    protexting_secret_id: ClassVar[Given] = Given("PROTEXTING_SECRET_ID")
    sumotext_secret_id: ClassVar[Given] = Given("SUMOTEXT_SECRET_ID")
    pin_key_secret_id: ClassVar[Given] = Given("PIN_KEY_SECRET_ID")

    ogangi_base_url: ClassVar[Given] = Given("OGANGI_BASE_URL")

    # The Given values of this container (set by `from_environment`).
    _given: dict[str, str] = PrivateAttr(default_factory=dict)

    # EventBridge Scheduler: one one-time schedule per scheduled operation, in this group, run with this role
    # (which may only send to the delivery queues); what it cannot deliver goes to its dead-letter queue.
    schedule_group_name: ClassVar[Given] = Given("SCHEDULE_GROUP_NAME")
    scheduler_role_arn: ClassVar[Given] = Given("SCHEDULER_ROLE_ARN")
    scheduler_dead_letter_queue_arn: ClassVar[Given] = Given("SCHEDULER_DEAD_LETTER_QUEUE_ARN")

    ogangi_from: str = Field(default="", alias="OGANGI_FROM")
    # The Ogangi account's time zone (IANA): an inbound message's sendDate without a zone or offset (the seed's
    # own sample) is read in it.
    ogangi_time_zone: str = Field(default="UTC", alias="OGANGI_TIME_ZONE")
    contactatonce_base_url_na: str = Field(
        default="https://services.contactatonce.com", alias="CONTACTATONCE_BASE_URL_NA"
    )
    contactatonce_base_url_au: str = Field(
        default="https://services.contactatonce.com.au", alias="CONTACTATONCE_BASE_URL_AU"
    )
    contactatonce_base_url_eu: str = Field(
        default="https://services.contactatonce.co.uk", alias="CONTACTATONCE_BASE_URL_EU"
    )
    contactatonce_root_element: str = Field(
        default="InitiateMobileTextConversation", alias="CONTACTATONCE_ROOT_ELEMENT"
    )
    contactatonce_namespace: str = Field(default="", alias="CONTACTATONCE_NAMESPACE")
    interact_base_url: str = Field(default="https://gointeract.io", alias="INTERACT_BASE_URL")
    # The same campaign SMS over Interact's REST API (v3) or its SOAP agent service (v2): one per deployment.
    interact_protocol: Literal["rest", "soap"] = Field(default="rest", alias="INTERACT_PROTOCOL")
    protexting_base_url: str = Field(default="https://api2.protexting.com", alias="PROTEXTING_BASE_URL")

    provider_timeout_seconds: float = Field(default=10.0, gt=0, le=60, alias="PROVIDER_TIMEOUT_SECONDS")
    retry_base_seconds: float = Field(default=10.0, ge=0, alias="RETRY_BASE_SECONDS")
    retry_max_seconds: float = Field(default=900.0, ge=0, le=900, alias="RETRY_MAX_SECONDS")
    max_attempts: int = Field(default=5, ge=1, le=20, alias="MAX_ATTEMPTS")
    delivery_concurrency: int = Field(default=10, ge=1, le=50, alias="DELIVERY_CONCURRENCY")
    recipient_daily_limit: int = Field(default=50, ge=1, le=10_000, alias="RECIPIENT_DAILY_LIMIT")
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60, alias="IDEMPOTENCY_TTL_SECONDS")
    operation_retention_days: int = Field(default=90, ge=1, alias="OPERATION_RETENTION_DAYS")
    sumotext_retention_days: int = Field(default=400, ge=1, alias="SUMOTEXT_RETENTION_DAYS")
    secret_cache_seconds: float = Field(default=300.0, ge=0, alias="SECRET_CACHE_SECONDS")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    # Marketing is never handed to a provider inside these local hours of the recipient (`off`: never held).
    quiet_hours: str = Field(default="21:00-08:00", alias="QUIET_HOURS")
    default_time_zone: str = Field(default="America/New_York", alias="DEFAULT_TIME_ZONE")

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_window(cls, value: str) -> str:
        parse_window(value)
        return value

    @property
    def quiet_hours_window(self) -> Window | None:
        return parse_window(self.quiet_hours)

    @field_validator("ogangi_time_zone", "default_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415 - only this check needs it

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name such as America/Caracas") from None
        return value

    @property
    def provider_timeouts(self) -> tuple[float, float]:
        """(connect, read): together they make PROVIDER_TIMEOUT_SECONDS."""
        connect = min(3.0, self.provider_timeout_seconds / 2)
        return connect, self.provider_timeout_seconds - connect

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> Settings:
        try:
            settings = cls.model_validate(dict(environment))
        except ValidationError as exc:
            names = ", ".join(str(error["loc"][0]) for error in exc.errors())
            raise SettingsError(f"invalid or missing settings: {names}") from None
        given = {variable: environment[variable] for variable in GIVEN if variable in environment}
        empty = sorted(variable for variable, value in given.items() if not value.strip())
        if empty:
            raise SettingsError(f"invalid or missing settings: {', '.join(empty)} given empty")
        settings._given = given
        return settings


GIVEN = frozenset(value.variable for value in vars(Settings).values() if isinstance(value, Given))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environment(os.environ)
