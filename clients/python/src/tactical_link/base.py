"""What the synchronous and the asyncio ``Link`` share: their settings, and
turning arguments into a validated event, ready to send. No I/O here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

from .compose import Sequence, Timestamp, encode, program_name, stage_event, ts_text
from .errors import NotReplicated
from .event import MAX_EVENT_BYTES, ValidEvent, validate
from .wire import Keys, publish_script

DEFAULT_CHANNEL = "system_events"
DEFAULT_TIMEOUT_S = 5.0
# How long a durable publish waits for ``wait_replicas`` replicas by default,
# and at most (below the reply timeout, as the gateway's --redis-wait-timeout).
DEFAULT_WAIT_TIMEOUT_S = 1.0
MAX_WAIT_TIMEOUT_S = 4.0

# An event as ``publish`` takes it: fields to write as JSON, or JSON text
# sent byte for byte.
Event = Union[Mapping[str, Any], str, bytes]


@dataclass(frozen=True)
class StageOf:
    """The fields every event of one ``link.stage(...)`` block carries."""

    run_id: str
    stage: str
    attempt: int | None
    tenant: str | None
    user_id: str | None
    source: str | None


class LinkBase:
    """Settings and event building common to both links."""

    def __init__(
        self,
        *,
        channel: str = DEFAULT_CHANNEL,
        service: str | None = None,
        durable: bool = True,
        max_event_bytes: int = MAX_EVENT_BYTES,
        wait_replicas: int = 0,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT_S,
    ) -> None:
        if not channel:
            raise ValueError("channel must not be empty")
        if wait_replicas < 0:
            raise ValueError("wait_replicas must not be negative")
        if wait_replicas and not 0 < wait_timeout <= MAX_WAIT_TIMEOUT_S:
            raise ValueError(f"wait_timeout must be in (0, {MAX_WAIT_TIMEOUT_S}] seconds")
        self.wait_replicas = wait_replicas
        self.wait_timeout = wait_timeout
        self.channel = channel
        self.service = service if service is not None else program_name()
        self.durable = durable
        self.max_event_bytes = max_event_bytes
        self.keys = Keys(channel)
        self.script_text = publish_script()
        self._sequence = Sequence()

    def confirmed(self, event_id: str, acked: int | None) -> str:
        """``event_id`` once ``WAIT`` said enough replicas hold it
        (``acked`` is ``None`` when the link waits for none)."""
        if acked is not None and acked < self.wait_replicas:
            raise NotReplicated(event_id, acked, self.wait_replicas)
        return event_id

    @staticmethod
    def new_run() -> str:
        """A fresh run id: ``run-`` and 12 hex digits."""
        return f"run-{uuid.uuid4().hex[:12]}"

    def stage_payload(
        self,
        run_id: str,
        stage: str,
        status: str,
        *,
        detail: str | None = None,
        ts: Timestamp | None = None,
        source: str | None = None,
        tenant: str | None = None,
        user_id: str | None = None,
        attempt: int | None = None,
        progress: float | None = None,
        eta: float | None = None,
    ) -> ValidEvent:
        """A ``pipeline.stage`` event with ``ts`` (now by default), ``source``
        (the link's service by default) and the next ``seq``, validated."""
        fields = {
            "detail": detail,
            "ts": ts_text(ts),
            "source": source if source is not None else self.service,
            "tenant": tenant,
            "user_id": user_id,
            "attempt": attempt,
            "seq": self._sequence.next(),
            "progress": progress,
            "eta": eta,
        }
        return validate(encode(stage_event(run_id, stage, status, fields)), self.max_event_bytes)

    def payload(self, event: Event) -> ValidEvent:
        """Any event, validated: a mapping is written as compact JSON, a text
        is taken as it is."""
        text = event if isinstance(event, (str, bytes)) else encode(event)
        return validate(text, self.max_event_bytes)

    def stage_event_of(
        self,
        of: StageOf,
        status: str,
        *,
        detail: str | None = None,
        progress: float | None = None,
        eta: float | None = None,
    ) -> ValidEvent:
        """The next event of a ``link.stage(...)`` block."""
        return self.stage_payload(
            of.run_id,
            of.stage,
            status,
            detail=detail,
            source=of.source,
            tenant=of.tenant,
            user_id=of.user_id,
            attempt=of.attempt,
            progress=progress,
            eta=eta,
        )
