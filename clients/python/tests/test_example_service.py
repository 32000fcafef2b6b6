"""examples/python-service, run as a real process under uvicorn against the
session's redis-server and gateway: its endpoint runs the analyst stage,
and the gateway shows it complete, or in error for a bad lead."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from harness import PATIENCE_S, REPO, Gateway, RedisServer, stop

SERVICE = REPO / "examples" / "python-service"


@pytest.fixture
def service(redis_server: RedisServer) -> Iterator[str]:
    """The service's base URL; uvicorn picks a free port and says which."""
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", "0"],
        cwd=SERVICE,
        env={**os.environ, "TACTICAL_LINK_REDIS": redis_server.url},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stderr or []:
            lines.put(line.decode(errors="replace"))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + PATIENCE_S
    base = None
    while base is None and time.monotonic() < deadline and process.poll() is None:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        if "Uvicorn running on " in line:
            base = line.split("Uvicorn running on ")[1].split()[0]
    try:
        assert base is not None, "the service did not start"
        yield base
    finally:
        stop(process)


def post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


LEADS = [{"name": f"lead-{n}", "employees": 40 * n, "engagement": n / 12} for n in range(1, 13)]


def test_the_service_runs_the_analyst_stage_of_a_run(gateway: Gateway, service: str) -> None:
    status, answer = post(f"{service}/analyze", {"leads": LEADS, "threshold": 0.5})
    assert status == 200, answer
    assert len(answer["scores"]) == 12
    qualified = len(answer["qualified"])
    assert 0 < qualified < 12
    stage = gateway.stage_when(answer["run_id"], "analyst", lambda s: s["status"] == "complete")
    assert stage["detail"] == f"{qualified} of 12 leads above 0.5"
    assert stage["started_at"] is not None


def test_a_bad_lead_fails_the_stage_with_its_reason(gateway: Gateway, service: str) -> None:
    run_id = f"run-bad-lead-{uuid.uuid4().hex[:8]}"
    bad = [*LEADS[:3], {"name": "Initech", "employees": -5, "engagement": 0.5}]
    status, answer = post(f"{service}/analyze", {"leads": bad, "run_id": run_id})
    assert status == 422
    assert "negative headcount" in answer["detail"]
    stage = gateway.stage_when(run_id, "analyst", lambda s: s["status"] == "error")
    assert stage["error"] == "ValueError: lead 'Initech' has a negative headcount"
