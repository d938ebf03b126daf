"""`make run`: start the local stack in the foreground; Ctrl-C stops everything it started."""

from __future__ import annotations

import os
import signal
import sys
import threading

from textgate_local.stack import LocalStack, StackConfig


def main() -> int:
    config = StackConfig.from_environment(os.environ)
    stack = LocalStack(config)
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        stack.start()
    except Exception as exc:  # noqa: BLE001 - a clear line instead of a traceback for a newcomer
        print(f"textgate: the local stack could not start: {exc}", file=sys.stderr)
        return 1
    print(stack.banner(), flush=True)
    stopping.wait()
    print("textgate: stopping", flush=True)
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
