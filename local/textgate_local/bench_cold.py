"""Cold start against its floor: each handler's import time next to the import of only what it pulls in.

A function is measured as Lambda loads it: the shared layer laid out as `sam build` lays it (the layer's own
Makefile, with this machine's wheels of the same pinned packages, precompiled the same way), the function's
folder first on the path, botocore from the runtime (here the dev virtualenv), and no bytecode written (/opt and
/var/task are read-only on Lambda).

The floor of a function is a fresh interpreter importing only the modules the handler's import pulled in from
outside textgate and the function's own module (the third-party packages and the standard library): what any
code doing the same job with the same libraries would pay. The ratio handler / floor is what textgate adds.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from textgate_local.template import ROOT, Template

LAYER_MAKEFILE = ROOT / "layers" / "shared" / "Makefile"
LOCAL_LAYER = ROOT / ".aws-sam" / "bench" / "SharedLayer"

_HANDLER = """
import json, sys, time
before = set(sys.modules)
started = time.process_time()
__import__({module!r})
seconds = time.process_time() - started
pulled = [name for name in sys.modules if name not in before and name != {module!r}
          and name != "textgate" and not name.startswith("textgate.")]
print(json.dumps({{"seconds": seconds, "modules": pulled}}))
"""

# The floor, then (not part of it) the handler on top of it: what textgate's own modules cost, measured in the
# same process as the floor and so less spoilt by this machine's load than the difference of two processes.
_FLOOR = """
import gc, json, sys, time
names = json.loads(sys.stdin.read())
started = time.process_time()
for name in names:
    try:
        __import__(name)
    except Exception:
        pass
floor = time.process_time() - started
# The floor's garbage is collected before textgate's import is timed: otherwise a collection that the floor's
# allocations made due lands in textgate's share or not, by chance (a 4 ms generation-1 pass, seen both ways).
gc.collect()
started = time.process_time()
__import__({module!r})
print(json.dumps({{"seconds": floor, "own_seconds": time.process_time() - started}}))
"""


@dataclass(frozen=True)
class ColdStart:
    function: str
    seconds: float  # the handler module's import, best of the rounds
    floor_seconds: float  # the same third-party and standard modules alone, best of the rounds
    own_seconds: float  # the handler imported on top of its floor: textgate's own modules, best of the rounds
    modules: int  # how many modules outside textgate the import pulled in

    @property
    def separate_ratio(self) -> float:
        """Handler and floor each in its own interpreter: on a loaded machine, mostly the load of the moment."""
        return self.seconds / self.floor_seconds

    @property
    def ratio(self) -> float:
        """The handler's import against its floor, its textgate part measured on top of the floor in the same
        interpreter: the same work as the handler's own import, without two moments of load between them."""
        return (self.floor_seconds + self.own_seconds) / self.floor_seconds


def local_platform_tag() -> str:
    machine = platform.machine().lower()
    return "manylinux2014_aarch64" if machine in ("aarch64", "arm64") else "manylinux2014_x86_64"


def lay_out_layer(target: Path = LOCAL_LAYER) -> Path:
    """The layer as `sam build` makes it, with this machine's wheels: the same Makefile, the same bytecode."""
    completed = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-f",
            str(LAYER_MAKEFILE),
            "build-SharedLayer",
            f"ARTIFACTS_DIR={target}",
            f"PLATFORM={local_platform_tag()}",
            f"PYTHON={sys.executable}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError("laying out the layer failed:\n" + completed.stdout[-2000:] + completed.stderr[-2000:])
    return target / "python"


def _environment(layer: Path, code_dir: Path) -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "layers" / "shared"))
    from textgate.settings import GIVEN

    env = {**os.environ, **dict.fromkeys(GIVEN, "dummy"), "OGANGI_BASE_URL": "http://x"}
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        PYTHONPATH=os.pathsep.join([str(code_dir), str(layer)]),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _run(code: str, env: dict[str, str], stdin: str = "") -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", code], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr[-2000:])
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def measure(layer: Path, rounds: int) -> list[ColdStart]:
    """Every function of the template. Each round measures every function once, handler then floor, so a spell
    of load on this shared machine spoils one round of each function rather than every round of one."""
    template = Template.read()
    functions = []
    for name, spec in sorted(template.of_type("AWS::Serverless::Function").items()):
        properties = spec["Properties"]
        module = properties["Handler"].rsplit(".", 1)[0]
        functions.append((name, module, _environment(layer, ROOT / properties["CodeUri"])))
    handler_times: dict[str, list[float]] = {name: [] for name, _, _ in functions}
    floor_times: dict[str, list[float]] = {name: [] for name, _, _ in functions}
    own_times: dict[str, list[float]] = {name: [] for name, _, _ in functions}
    modules: dict[str, list[str]] = {}
    for _ in range(rounds):
        for name, module, env in functions:
            found = _run(_HANDLER.format(module=module), env)
            handler_times[name].append(float(str(found["seconds"])))
            modules[name] = [str(module) for module in found["modules"]]  # type: ignore[attr-defined]
            floor = _run(_FLOOR.format(module=module), env, stdin=json.dumps(modules[name]))
            floor_times[name].append(float(str(floor["seconds"])))
            own_times[name].append(float(str(floor["own_seconds"])))
    return [
        ColdStart(name, min(handler_times[name]), min(floor_times[name]), min(own_times[name]), len(modules[name]))
        for name, _, _ in functions
    ]


def report(results: list[ColdStart]) -> list[str]:
    lines = [
        f"  {'function':<42} {'import':>9} {'floor':>9} {'textgate':>9} {'ratio':>6}   "
        f"{'import/floor apart':>18} {'modules':>8}"
    ]
    for result in results:
        lines.append(
            f"  {result.function:<42} {result.seconds * 1000:6.1f} ms {result.floor_seconds * 1000:6.1f} ms "
            f"{result.own_seconds * 1000:6.1f} ms {result.ratio:6.2f}   {result.separate_ratio:18.2f} "
            f"{result.modules:8d}"
        )
    worst = max(results, key=lambda result: result.ratio)
    lines.append(f"cold start worst ratio: {worst.ratio:.2f} ({worst.function})")
    return lines
