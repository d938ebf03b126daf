"""template.yaml as the local stack reads it: CloudFormation tags, parameters and the intrinsics it needs.

Locally every resource is named after its logical id, so `!Ref OperationsTable` is "OperationsTable" and
`!Ref OgangiQueue` is that queue's URL on the local endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass(frozen=True)
class Tagged:
    tag: str
    value: Any


class _Loader(yaml.SafeLoader):
    pass


def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tagged:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return Tagged(suffix, value)


_Loader.add_multi_constructor("!", _construct)


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return document


@dataclass
class Template:
    document: dict[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)
    # logical id -> what !Ref gives locally; (logical id, attribute) -> what !GetAtt gives
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path = TEMPLATE, overrides: dict[str, str] | None = None) -> Template:
        document = load(path)
        parameters = {name: str(spec.get("Default", "")) for name, spec in document.get("Parameters", {}).items()}
        parameters.update(overrides or {})
        return cls(document=document, parameters=parameters)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.document["Resources"]
        return resources

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: spec for name, spec in self.resources.items() if spec["Type"] == kind}

    def properties(self, logical_id: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.resources[logical_id].get("Properties", {})
        return properties

    def function_defaults(self) -> dict[str, Any]:
        defaults: dict[str, Any] = self.document.get("Globals", {}).get("Function", {})
        return defaults

    def resolve(self, value: Any) -> Any:
        """Resolve the intrinsics the template uses: Ref, GetAtt, Sub, Select, Join, If/Not/Equals."""
        if isinstance(value, Tagged):
            return self._intrinsic(value.tag, value.value)
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, inner),) = value.items()
                if key == "Ref" or key.startswith("Fn::"):
                    return self._intrinsic(key.removeprefix("Fn::"), inner)
            return {key: self.resolve(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [self.resolve(inner) for inner in value]
        return value

    def _intrinsic(self, name: str, argument: Any) -> Any:
        handler: Callable[[Any], Any] | None = getattr(self, f"_fn_{name}", None)
        if handler is None:
            raise ValueError(f"the local stack does not resolve !{name}")
        return handler(argument)

    def _fn_Ref(self, name: str) -> str:  # noqa: N802 - named after the intrinsic
        if name in self.parameters:
            return self.parameters[name]
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::StackName": "textgate-local"}
        if name in pseudo:
            return pseudo[name]
        if name in self.refs:
            return self.refs[name]
        return name

    def _fn_GetAtt(self, argument: Any) -> str:  # noqa: N802
        logical, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        if (logical, attribute) in self.attributes:
            return self.attributes[(logical, attribute)]
        return f"arn:aws:local:{REGION}:{ACCOUNT}:{logical}"

    def _fn_Sub(self, argument: Any) -> str:  # noqa: N802
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        resolved = {key: str(self.resolve(inner)) for key, inner in variables.items()}
        out, position = [], 0
        while (start := text.find("${", position)) != -1:
            end = text.index("}", start)
            out.append(text[position:start])
            name = text[start + 2 : end]
            if name in resolved:
                out.append(resolved[name])
            elif "." in name:
                out.append(self._fn_GetAtt(name))
            else:
                out.append(self._fn_Ref(name))
            position = end + 1
        out.append(text[position:])
        return "".join(out)

    def _fn_Select(self, argument: list[Any]) -> Any:  # noqa: N802
        index, items = argument
        return self.resolve(items)[int(self.resolve(index))]

    def _fn_Join(self, argument: list[Any]) -> str:  # noqa: N802
        separator, items = argument
        return str(separator).join(str(item) for item in self.resolve(items))

    def _fn_Equals(self, argument: list[Any]) -> bool:  # noqa: N802
        left, right = argument
        return bool(self.resolve(left) == self.resolve(right))

    def _fn_Not(self, argument: list[Any]) -> bool:  # noqa: N802
        return not self.resolve(argument[0])


@dataclass(frozen=True)
class ApiRoute:
    function: str
    method: str
    path: str
    api_key: bool


@dataclass(frozen=True)
class QueueSource:
    function: str
    queue: str
    batch_size: int
    max_concurrency: int
    report_failures: bool


@dataclass(frozen=True)
class RuleSource:
    function: str
    bus: str
    pattern: dict[str, Any]


def api_routes(template: Template) -> list[ApiRoute]:
    routes = []
    default_key = True
    for api in template.of_type("AWS::Serverless::Api").values():
        default_key = bool(api.get("Properties", {}).get("Auth", {}).get("ApiKeyRequired", False))
    for name, spec in template.of_type("AWS::Serverless::Function").items():
        for event in spec.get("Properties", {}).get("Events", {}).values():
            if event["Type"] != "Api":
                continue
            properties = event["Properties"]
            api_key = properties.get("Auth", {}).get("ApiKeyRequired", default_key)
            routes.append(ApiRoute(name, properties["Method"].upper(), properties["Path"], bool(api_key)))
    return routes


def queue_sources(template: Template) -> list[QueueSource]:
    sources = []
    for name, spec in template.of_type("AWS::Serverless::Function").items():
        for event in spec.get("Properties", {}).get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            properties = event["Properties"]
            queue = properties["Queue"]
            queue_id = queue.value.split(".")[0] if isinstance(queue, Tagged) else str(queue)
            scaling = properties.get("ScalingConfig", {}).get("MaximumConcurrency", 2)
            sources.append(
                QueueSource(
                    function=name,
                    queue=queue_id,
                    batch_size=int(template.resolve(properties.get("BatchSize", 10))),
                    max_concurrency=int(template.resolve(scaling)),
                    report_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
                )
            )
    return sources


def rule_sources(template: Template) -> list[RuleSource]:
    sources = []
    for name, spec in template.of_type("AWS::Serverless::Function").items():
        for event in spec.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "EventBridgeRule":
                properties = event["Properties"]
                bus = str(template.resolve(properties.get("EventBusName", "default")))
                sources.append(RuleSource(name, bus, template.resolve(properties["Pattern"])))
    return sources
