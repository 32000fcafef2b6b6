"""What a durable publish sends to Redis: the gateway's own script, its keys
and its arguments, exactly as the gateway's publisher sends them
(src/bus/redis/publisher.rs and keys.rs).

The script is ``append.lua``, ``runs.lua`` and ``publish.lua`` concatenated,
read from this installed package (``tactical_link/lua/``, where the build
puts the repository's one copy of them): the same text as the gateway's, so
Redis caches one script for both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files

from .event import ValidEvent, as_f32

SCRIPT_FILES = ("append.lua", "runs.lua", "publish.lua")
# How long a payload is remembered for de-duplication, in seconds.
DEDUP_WINDOW_S = 60
# Most state transitions kept per run in Redis.
MAX_RUN_STEPS = 512
# Stream bounds before any gateway has written the settings hash.
DEFAULT_MAX_LEN = 10_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_RETENTION_S = 24 * 3600


def publish_script() -> str:
    """The durable publish script, from the installed package."""
    lua = files("tactical_link").joinpath("lua")
    return "".join(lua.joinpath(name).read_text(encoding="utf-8") for name in SCRIPT_FILES)


def _escaped(part: str) -> str:
    return part.replace("%", "%25").replace("/", "%2F")


def run_key(tenant: str | None, user_id: str | None, run_id: str) -> str:
    """A run's key in Redis: ``tenant/user_id/run_id``, each part escaped,
    empty when absent (src/pipeline/wire.rs ``run_key``)."""
    return "/".join(_escaped(part or "") for part in (tenant, user_id, run_id))


class Keys:
    """The Redis keys of one channel; all share the hash tag ``{channel}``."""

    def __init__(self, channel: str) -> None:
        self.prefix = f"tactical-link:{{{channel}}}:"
        self.stream = f"{self.prefix}events"
        self.seen_prefix = f"{self.prefix}seen:"
        self.settings = f"{self.prefix}settings"
        self.runs = f"{self.prefix}runs"

    def seen(self, payload: bytes) -> str:
        """The payload's de-duplication hash: the prefix and its SHA-1 in hex."""
        return f"{self.seen_prefix}{hashlib.sha1(payload).hexdigest()}"

    def run_log(self, run: str) -> str:
        return f"{self.prefix}run:{run}"

    def run_progress(self, run: str) -> str:
        return f"{self.prefix}progress:{run}"


@dataclass(frozen=True)
class Bounds:
    """How much of the stream and of runs the gateways keep."""

    max_len: int = DEFAULT_MAX_LEN
    max_bytes: int = DEFAULT_MAX_BYTES
    retention_s: int = DEFAULT_RETENTION_S

    @staticmethod
    def from_settings(values: list[bytes | str | None]) -> Bounds:
        """From ``HMGET settings maxlen maxbytes retention_s``."""

        def number(value: bytes | str | None, default: int) -> int:
            try:
                return int(value) if value is not None else default
            except ValueError:
                return default

        return Bounds(
            number(values[0], DEFAULT_MAX_LEN),
            number(values[1], DEFAULT_MAX_BYTES),
            number(values[2], DEFAULT_RETENTION_S),
        )


SETTINGS_FIELDS = ("maxlen", "maxbytes", "retention_s")


def script_call(
    keys: Keys, channel: str, event: ValidEvent, bounds: Bounds
) -> tuple[list[str], list[str | bytes | int]]:
    """KEYS and ARGV of the publish script for ``event``."""
    update = event.pipeline
    if update is None:
        run, kind, stage = "", "none", ""
    else:
        run = run_key(event.tenant, event.user_id, update.run_id)
        moving = update.status == "processing" and as_f32(update.progress or 0.0) > 0
        kind, stage = ("progress" if moving else "transition"), update.stage
    script_keys = [
        keys.stream,
        keys.settings,
        keys.runs,
        keys.run_log(run),
        keys.run_progress(run),
        keys.seen(event.data),
    ]
    args: list[str | bytes | int] = [
        event.data,
        bounds.max_len,
        DEDUP_WINDOW_S,
        channel,
        bounds.max_bytes,
        run,
        kind,
        stage,
        MAX_RUN_STEPS,
        bounds.retention_s,
    ]
    return script_keys, args
