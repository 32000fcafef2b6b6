"""Test harness: a real ``redis-server`` and the real ``tactical-link``
gateway, each on a free port, stopped by PID; and a way to wait for what
the gateway shows.

The gateway binary is ``$TACTICAL_LINK_BIN``, by default the repository's
``target/debug/tactical-link`` (``cargo build`` makes it).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
GATEWAY_BIN = Path(os.environ.get("TACTICAL_LINK_BIN", REPO / "target" / "debug" / "tactical-link"))
# Longest wait for something that should happen at once.
PATIENCE_S = 15.0


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def eventually(what: str, check: Callable[[], Any | None]) -> Any:
    """Polls ``check`` until it returns something other than ``None``."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        result = check()
        if result is not None:
            return result
        time.sleep(0.02)
    raise AssertionError(f"not within {PATIENCE_S} s: {what}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stops a process we started: SIGTERM, then SIGKILL."""
    if process.poll() is None:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RedisServer:
    """A ``redis-server`` of our own, on a free port, keeping nothing on disk."""

    def __init__(self, *extra: str) -> None:
        """``extra`` arguments follow ours (``--replicaof 127.0.0.1 PORT``)."""
        self.dir = tempfile.mkdtemp(prefix="tl-py-redis-")
        for _ in range(5):
            self.port = free_port()
            self.process = subprocess.Popen(
                [
                    *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--dir", self.dir),
                    *extra,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._answers():
                return
            stop(self.process)  # the port was taken meanwhile: another one
        raise RuntimeError("could not start redis-server (scripts/test.sh installs it)")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def _answers(self) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return True
            except OSError:
                time.sleep(0.02)
        return False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Redis stopped (SIGSTOP): connections open, nothing answered."""
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        stop(self.process)
        shutil.rmtree(self.dir, ignore_errors=True)


class Gateway:
    """``tactical-link serve --redis URL`` on a free port."""

    def __init__(self, redis_url: str, channel: str = "system_events") -> None:
        if not GATEWAY_BIN.is_file():
            raise RuntimeError(f"no gateway binary at {GATEWAY_BIN}: run `cargo build` first")
        log, self.log = tempfile.mkstemp(prefix="tl-py-gateway-", suffix=".log")
        self.process = subprocess.Popen(
            [
                *(str(GATEWAY_BIN), "serve", "--redis", redis_url, "--channel", channel),
                *("--listen", "127.0.0.1:0"),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
        )
        os.close(log)
        self.base = self._listening()
        eventually("the gateway's bus is up", lambda: self.get("/readyz", status_only=True))

    def _listening(self) -> str:
        """Reads stdout (on a thread, to the end) until the gateway says where it listens."""
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.process.stdout
        assert stdout is not None

        def read() -> None:
            for line in stdout:
                lines.put(line.decode(errors="replace"))

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + PATIENCE_S
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            prefix = "tactical-link listening on "
            if line.startswith(prefix):
                return line[len(prefix) :].strip().rstrip("/")
        self.close()
        raise RuntimeError(f"the gateway did not start; its log:\n{self.stderr()}")

    def stderr(self) -> str:
        return Path(self.log).read_text(errors="replace")

    def get(self, path: str, status_only: bool = False) -> Any | None:
        """GET ``path``: its JSON, or ``None`` for a 404 (or any answer but 200)."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as response:
                body = response.read()
        except urllib.error.HTTPError:
            return None
        return True if status_only else json.loads(body)

    def run(self, run_id: str) -> dict[str, Any] | None:
        """The run's state, as ``GET /api/runs/{id}`` shows it (``None``: unknown)."""
        run: dict[str, Any] | None = self.get(f"/api/runs/{run_id}")
        return run

    def stage_when(
        self, run_id: str, stage: str, check: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """Waits until the run's ``stage`` passes ``check``; returns that stage."""

        def state() -> dict[str, Any] | None:
            run = self.run(run_id)
            found: dict[str, Any] | None = run["stages"][stage] if run else None
            return found if found is not None and check(found) else None

        return eventually(f"{run_id} {stage}: as expected", state)  # type: ignore[no-any-return]

    def close(self) -> None:
        stop(self.process)
        Path(self.log).unlink(missing_ok=True)
