"""moto in server mode (see moto_server.py), started as a child process: the local AWS endpoint."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


class MotoEndpoint:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> MotoEndpoint:
        if _port_in_use(self.port):
            raise RuntimeError(f"port {self.port} is taken: set TEXTGATE_AWS_PORT to a free port")
        local = str(Path(__file__).resolve().parents[1])
        path = os.pathsep.join(filter(None, [local, os.environ.get("PYTHONPATH", "")]))
        env = {
            **os.environ,
            "MOTO_ALLOW_NONEXISTENT_REGION": "true",
            # No Access-Control-Allow-Origin for any page: the endpoint holds every secret (see moto_server.py).
            "MOTO_DISABLE_GLOBAL_CORS": "true",
            "PYTHONPATH": path,
            "MOTO_PORT": str(self.port),
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", "textgate_local.moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("the local AWS endpoint (moto) exited at start")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the local AWS endpoint (moto) did not start in time")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
