"""Loads each function's handler as Lambda would: the layer and the function's own folder on the path."""

from __future__ import annotations

import importlib
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textgate_local.template import ROOT, Template

Handler = Callable[[dict[str, Any], Any], Any]
# Told of every invocation that returned or raised: (function's logical id, seconds it ran). `make bench` counts.
InvokeObserver = Callable[[str, float], None]
_lock = threading.Lock()


@dataclass
class LambdaContext:
    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def add_layers_to_path(template: Template) -> None:
    for spec in template.of_type("AWS::Serverless::LayerVersion").values():
        path = str(ROOT / spec["Properties"]["ContentUri"])
        if path not in sys.path:
            sys.path.insert(0, path)


class Functions:
    def __init__(self, template: Template) -> None:
        self._template = template
        self._handlers: dict[str, Handler] = {}
        self.observers: list[InvokeObserver] = []
        add_layers_to_path(template)

    def handler(self, logical_id: str) -> Handler:
        with _lock:
            if logical_id not in self._handlers:
                properties = self._template.properties(logical_id)
                folder = str(ROOT / properties["CodeUri"])
                module_name, _, attribute = properties["Handler"].rpartition(".")
                if folder not in sys.path:
                    sys.path.insert(0, folder)
                module = importlib.import_module(module_name)
                self._handlers[logical_id] = getattr(module, attribute)
            return self._handlers[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        context = LambdaContext(
            function_name=logical_id,
            aws_request_id=str(uuid.uuid4()),
            invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{logical_id}",
        )
        handler = self.handler(logical_id)
        started = time.perf_counter()
        try:
            return handler(event, context)
        finally:
            for observer in self.observers:
                observer(logical_id, time.perf_counter() - started)

    def load_all(self) -> None:
        """Import every handler now, so a broken one stops the stack at start rather than at first call."""
        for logical_id in self._template.of_type("AWS::Serverless::Function"):
            self.handler(logical_id)
