"""A small admin door to the sandboxes, only on the local stack: what each provider received, faults to
inject on purpose, and the PIN the Ogangi sandbox generated (a real PIN only ever reaches the handset). The
gateway serves it to no web page: a request that carries an Origin header never gets here (gateway.ADMIN_PREFIX).

  GET    /_sandbox/{provider}              counts, acted requests and faults injected
  POST   /_sandbox/{provider}/faults       {"rate": 0.3, "seed": 7, "kinds": ["http_500", ...]}
  DELETE /_sandbox/{provider}/faults       no more faults
  POST   /_sandbox/{provider}/reset        forget what was received
  GET    /_sandbox/ogangi/pins/{digits}    the last PIN sent to that number
  GET    /_sandbox/ogangi/messages/{digits} what the Ogangi sandbox sent to that number (method, carrier, flags)
"""

from __future__ import annotations

import json
import random
import threading
from typing import Any

from textgate_local.sandboxes.base import Fault, RecordedRequest, SandboxServer

Answer = tuple[int, str, bytes]


def _json(status: int, document: Any) -> Answer:
    return status, "application/json", json.dumps(document).encode()


def fault_plan(rate: float, seed: int, kinds: list[Fault]) -> Any:
    rng = random.Random(seed)
    lock = threading.Lock()

    def plan(request: RecordedRequest) -> Fault:
        with lock:
            return rng.choice(kinds) if rng.random() < rate else Fault.NONE

    return plan


def sandbox_admin(sandboxes: dict[str, SandboxServer], method: str, path: str, body: bytes) -> Answer:
    parts = [part for part in path.split("/") if part]
    if not parts or parts[0] not in sandboxes:
        return _json(404, {"message": f"no sandbox {parts[0] if parts else ''}", "sandboxes": sorted(sandboxes)})
    server = sandboxes[parts[0]]
    action = parts[1:]
    if method == "GET" and not action:
        return _json(
            200,
            {
                "requests": len(server.requests),
                "acted": list(server.acted),
                "faults_injected": dict(server.faults_injected),
                "faults_on": server.fault_plan is not None,
            },
        )
    if action == ["faults"] and method == "POST":
        try:
            settings = json.loads(body or b"{}")
            kinds = [Fault(kind) for kind in settings.get("kinds") or [f.value for f in Fault if f is not Fault.NONE]]
            server.fault_plan = fault_plan(float(settings.get("rate", 0.3)), int(settings.get("seed", 1)), kinds)
        except (ValueError, TypeError) as exc:
            return _json(400, {"message": str(exc)})
        return _json(200, {"rate": settings.get("rate", 0.3), "kinds": [kind.value for kind in kinds]})
    if action == ["faults"] and method == "DELETE":
        server.fault_plan = None
        return _json(200, {"faults": "off"})
    if action == ["reset"] and method == "POST":
        server.reset()
        return _json(200, {"reset": True})
    if len(action) == 2 and action[0] == "pins" and method == "GET":
        pins: dict[str, str] = getattr(server.app, "pins", {})
        if action[1] not in pins:
            return _json(404, {"message": "no PIN sent to that number"})
        return _json(200, {"pin": pins[action[1]]})
    if len(action) == 2 and action[0] == "messages" and method == "GET":
        sent: dict[str, list[dict[str, Any]]] = getattr(server.app, "messages", {})
        return _json(200, {"messages": list(sent.get(action[1], []))})
    return _json(404, {"message": "unknown sandbox action"})
