"""Writing events: the fields of a ``pipeline.stage`` event, its ``seq``, the
``detail`` of a failed stage, and the JSON text that is validated and sent.

Kept apart from the Redis side so the synchronous and asyncio links write
exactly the same events.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Union

from .errors import InvalidEvent
from .times import format_ts, now_ts

# What a ``ts`` argument may be: a datetime (naive means local time), an
# RFC 3339 text, or Unix milliseconds.
Timestamp = Union[datetime, str, int]

# Longest ``detail`` written for a stage that raised, in characters.
MAX_ERROR_DETAIL = 1000


def program_name() -> str:
    """The default ``source``: the running program's name (``worker`` for
    ``python worker.py``), or ``python`` when there is none."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if name.endswith(".py"):
        name = name[: -len(".py")]
    return name if name and name != "-c" else "python"


class Sequence:
    """The ``seq`` of every event a link publishes: strictly increasing, and
    near the time in microseconds (``max(last + 1, now_us)``).

    Increasing, it orders one publisher's events of a run exactly, even when
    their ``ts`` tie or the clock steps back. Near the time, the ``seq`` of
    two publishers of one run (a stage retried by another worker) compare as
    their times do; counters that each started at 0 would make the gateway
    order the second worker's events before the first's.
    """

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns() // 1000)
            return self._last


def ts_text(ts: Timestamp | None) -> str | int:
    """The ``ts`` field for an argument: now when ``None``."""
    if ts is None:
        return now_ts()
    if isinstance(ts, datetime):
        return format_ts(ts)
    return ts


def stage_event(
    run_id: str,
    stage: str,
    status: str,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """A ``pipeline.stage`` event; ``fields`` whose value is ``None`` are left out."""
    event: dict[str, Any] = {
        "type": "pipeline.stage",
        "run_id": run_id,
        "stage": stage,
        "status": status,
    }
    event.update((name, value) for name, value in fields.items() if value is not None)
    return event


def error_detail(error: BaseException) -> str:
    """``"<ExceptionType>: <message>"`` for a stage that raised, cut to
    ``MAX_ERROR_DETAIL`` characters."""
    message = str(error)
    detail = f"{type(error).__name__}: {message}" if message else type(error).__name__
    if len(detail) > MAX_ERROR_DETAIL:
        detail = detail[: MAX_ERROR_DETAIL - 1] + "\u2026"
    return detail


def encode(event: Mapping[str, Any]) -> str:
    """The event's compact JSON text; a value JSON cannot hold is refused."""
    try:
        return json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise InvalidEvent("not_json", f"event cannot be written as JSON: {error}") from None
