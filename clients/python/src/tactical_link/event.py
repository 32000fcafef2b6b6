"""The event format (docs/events.md) and its validation, as the gateway does it.

``validate`` takes the exact text that will be sent and refuses, with the
gateway's reason, whatever the gateway would refuse: too large, not UTF-8,
not JSON, not an object, nested too deep, no string ``type``, a wrong
``pipeline.stage`` field, a wrong ``tenant`` or ``user_id``. The checks run
in the gateway's order (src/event/mod.rs and pipeline.rs), so the first
fault found is the one the gateway would name. The shared examples
(docs/event-examples.json) hold both to the same answers.
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass
from typing import Any

from .errors import InvalidEvent
from .times import is_rfc3339

PIPELINE_STAGE = "pipeline.stage"
MAX_EVENT_BYTES = 64 * 1024
MAX_NESTING = 64
MAX_NAME_BYTES = 128
STAGES = ("radar", "analyst", "advisor", "actuator", "quality", "report")
STATUSES = ("idle", "processing", "complete", "error")
MAX_ATTEMPT = 1_000_000
MAX_SEQ = (1 << 53) - 1
MAX_ETA_S = 365 * 24 * 3600
# serde_json's nesting limit; the gateway's fields are read within it.
SERDE_RECURSION_LIMIT = 128

# The fields the gateway reads; a second copy of one is a JSON error to it.
HEAD_FIELDS = frozenset(
    (
        "type",
        "run_id",
        "stage",
        "status",
        "detail",
        "ts",
        "tenant",
        "user_id",
        "attempt",
        "seq",
        "progress",
        "eta",
    )
)

# What Rust's str::trim removes (the Unicode White_Space property).
_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class PipelineUpdate:
    """What the gateway understands of a valid ``pipeline.stage`` event."""

    run_id: str
    stage: str  # lower case
    status: str  # lower case
    progress: float | None


@dataclass(frozen=True)
class ValidEvent:
    """An event that passed validation: the bytes to send, and its run."""

    data: bytes
    pipeline: PipelineUpdate | None
    tenant: str | None
    user_id: str | None


class _Object(dict):  # type: ignore[type-arg]
    """A JSON object that remembers a repeated gateway field."""

    duplicate: str | None = None


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen and key in HEAD_FIELDS:
                obj.duplicate = key
                break
            seen.add(key)
    return obj


def _integer(text: str) -> int | float:
    """An integer literal; one too long for an exact int becomes a float
    (``inf`` past a double's range), as serde_json reads it."""
    return int(text) if len(text) <= 300 else float(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(text: str) -> Any:
    """JSON as serde_json reads it: no NaN or Infinity; objects remember a
    repeated gateway field."""
    return json.loads(
        text, object_pairs_hook=_object, parse_int=_integer, parse_constant=_no_constant
    )


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text."""
    depth = deepest = 0
    for token in _TOKENS.findall(text):
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth -= 1
    return deepest


def _unreadable(value: Any, depth: int = 1) -> str | None:
    """Why serde_json cannot read ``value`` as one of the gateway's fields:
    a lone surrogate written as an escape, a number beyond a double's range,
    or nesting past its recursion limit. (It skips other fields unread.)"""
    if isinstance(value, (dict, list)) and depth >= SERDE_RECURSION_LIMIT:
        return "recursion limit exceeded"
    if isinstance(value, str) and _SURROGATE.search(value):
        return "lone surrogate in hex escape"
    if isinstance(value, float) and math.isinf(value):
        return "number out of range"
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    else:
        items = value if isinstance(value, list) else []
    return next((why for item in items if (why := _unreadable(item, depth + 1))), None)


def _text(payload: str | bytes, max_bytes: int) -> tuple[str, bytes]:
    if isinstance(payload, str):
        try:
            data = payload.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidEvent("not_utf8", "message is not valid UTF-8") from None
    else:
        data = bytes(payload)
    if len(data) > max_bytes:
        raise InvalidEvent(
            "too_large", f"message is {len(data)} bytes, over the {max_bytes}-byte limit"
        )
    try:
        return data.decode("utf-8"), data
    except UnicodeDecodeError:
        raise InvalidEvent("not_utf8", "message is not valid UTF-8") from None


def _not_json(error: Exception | str) -> InvalidEvent:
    return InvalidEvent("not_json", f"message is not valid JSON: {error}")


def _object_of(text: str) -> _Object:
    """The JSON object ``text`` holds, or the gateway's refusal."""
    start = text.lstrip(_WHITESPACE)
    if not start:
        raise _not_json("empty message")
    if not start.startswith("{"):
        try:
            _loads(text)
        except (ValueError, RecursionError) as error:
            raise _not_json(error) from None
        raise InvalidEvent("not_object", "message is JSON but not an object")
    try:
        head = _loads(text)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as error:
        raise _not_json(error) from None
    if not isinstance(head, _Object):  # never, after a `{`: for the type checker
        raise _not_json("not an object")
    if head.duplicate is not None:
        raise _not_json(f"duplicate field `{head.duplicate}`")
    if any(_SURROGATE.search(key) for key in head):
        raise _not_json("lone surrogate in hex escape")
    why = _unreadable({name: value for name, value in head.items() if name in HEAD_FIELDS})
    if why is not None:
        raise _not_json(why)
    if _depth(text) > MAX_NESTING:
        raise _too_deep()
    return head


def _too_deep() -> InvalidEvent:
    return InvalidEvent(
        "too_deep", f"message nests arrays and objects deeper than {MAX_NESTING} levels"
    )


def validate(payload: str | bytes, max_bytes: int = MAX_EVENT_BYTES) -> ValidEvent:
    """Checks an event's JSON text as the gateway will; raises InvalidEvent."""
    text, data = _text(payload, max_bytes)
    head = _object_of(text)
    if not isinstance(head.get("type"), str):
        raise InvalidEvent("missing_type", "event has no string field `type`")
    pipeline = _pipeline(head) if head["type"] == PIPELINE_STAGE else None
    return ValidEvent(
        data=data,
        pipeline=pipeline,
        tenant=_scope(head, "tenant"),
        user_id=_scope(head, "user_id"),
    )


def _scope(head: dict[str, Any], name: str) -> str | None:
    """A ``tenant`` or ``user_id``: absent, or a non-empty string of at most
    128 bytes. ``null`` is refused, not taken for absent."""
    if name not in head:
        return None
    value = head[name]
    if isinstance(value, str) and 0 < len(value.encode("utf-8")) <= MAX_NAME_BYTES:
        return value
    raise InvalidEvent(
        "invalid_scope", f"`{name}` must be a non-empty string of at most {MAX_NAME_BYTES} bytes"
    )


def _invalid(message: str) -> InvalidEvent:
    return InvalidEvent("invalid_pipeline", f"pipeline event is invalid: {message}")


def _pipeline(head: dict[str, Any]) -> PipelineUpdate:
    """The fields of a ``pipeline.stage`` event, checked in the gateway's order."""
    status = _name(head, "status", STATUSES)
    progress = _number_in(head, "progress", 0, 100)
    eta = _number_in(head, "eta", 0, MAX_ETA_S)
    if status != "processing" and (progress is not None or eta is not None):
        raise _invalid("`progress` and `eta` belong to processing events only")
    ts = head.get("ts")
    if "ts" in head and not _is_number(ts) and not (isinstance(ts, str) and is_rfc3339(ts)):
        raise _invalid("`ts` must be an RFC 3339 time or Unix milliseconds")
    run_id = _run_id(head)
    stage = _name(head, "stage", STAGES)
    if "detail" in head and not isinstance(head["detail"], str):
        raise _invalid("`detail` must be a string")
    _whole(head, "attempt", 1, MAX_ATTEMPT)
    _whole(head, "seq", 0, MAX_SEQ)
    return PipelineUpdate(run_id=run_id, stage=stage, status=status, progress=progress)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _run_id(head: dict[str, Any]) -> str:
    if "run_id" not in head:
        raise _invalid("`run_id` is missing")
    run_id = head["run_id"]
    if not isinstance(run_id, str):
        raise _invalid("`run_id` must be a string")
    if len(run_id.encode("utf-8")) > MAX_NAME_BYTES:
        raise _invalid(f"`run_id` is longer than {MAX_NAME_BYTES} bytes")
    if not run_id.strip(_WHITESPACE):
        raise _invalid("`run_id` is empty")
    return run_id


def _name(head: dict[str, Any], field: str, names: tuple[str, ...]) -> str:
    """A stage or status, in any ASCII letter case, as its lower-case name."""
    if field not in head:
        raise _invalid(f"`{field}` is missing")
    value = head[field]
    if not isinstance(value, str):
        raise _invalid(f"`{field}` must be a string")
    if value.isascii() and value.lower() in names:
        return value.lower()
    raise _invalid(f"unknown {field} {value[:40]!r} (expected one of {', '.join(names)})")


def _whole(head: dict[str, Any], field: str, low: int, high: int) -> None:
    """An optional whole number (2.0 counts) from ``low`` to ``high``."""
    if field not in head:
        return
    value = head[field]
    if not (_is_number(value) and float(value).is_integer() and low <= value <= high):
        raise _invalid(f"`{field}` must be a whole number from {low} to {high}")


def _number_in(head: dict[str, Any], field: str, low: int, high: int) -> float | None:
    """An optional number from ``low`` to ``high``."""
    if field not in head:
        return None
    value = head[field]
    if not _is_number(value):
        raise _invalid(f"`{field}` must be a number")
    if not low <= float(value) <= high:
        raise _invalid(f"`{field}` must be from {low} to {high}")
    return float(value)


def as_f32(number: float) -> float:
    """``number`` as a 32-bit float, as the gateway keeps a progress."""
    return float(struct.unpack("f", struct.pack("f", number))[0])
