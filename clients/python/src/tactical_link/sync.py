"""The synchronous ``Link``: publishes events through redis-py, durably by
default (the gateway's publish script: recorded in the stream, then
published), and runs a stage as a ``with`` block.

Thread-safe: redis-py's connection pool serves concurrent publishes, and
the ``seq`` counter takes a lock.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .base import (
    DEFAULT_CHANNEL,
    DEFAULT_TIMEOUT_S,
    DEFAULT_WAIT_TIMEOUT_S,
    Event,
    LinkBase,
    StageOf,
)
from .compose import Timestamp, error_detail
from .errors import LinkUnavailable
from .event import MAX_EVENT_BYTES, ValidEvent
from .wire import SETTINGS_FIELDS, Bounds, script_call

log = logging.getLogger("tactical_link")


class Link(LinkBase):
    """Publishes events on one channel of one Redis."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        channel: str = DEFAULT_CHANNEL,
        service: str | None = None,
        durable: bool = True,
        max_event_bytes: int = MAX_EVENT_BYTES,
        wait_replicas: int = 0,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT_S,
    ) -> None:
        """A link over a redis-py client of yours; ``from_url`` makes one
        with the timeouts and retries this package needs."""
        super().__init__(
            channel=channel,
            service=service,
            durable=durable,
            max_event_bytes=max_event_bytes,
            wait_replicas=wait_replicas,
            wait_timeout=wait_timeout,
        )
        self.client = client
        self._script = client.register_script(self.script_text)
        self._bounds: Bounds | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        channel: str = DEFAULT_CHANNEL,
        service: str | None = None,
        durable: bool = True,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_event_bytes: int = MAX_EVENT_BYTES,
        wait_replicas: int = 0,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT_S,
    ) -> Link:
        """A link to the Redis at ``url``; nothing connects before the first
        publish. ``timeout`` (seconds) bounds connecting and each reply; a
        publish that fails is not retried (it may have been recorded).
        ``wait_replicas`` replicas must hold each durable event before its
        publish returns (Redis's ``WAIT``, up to ``wait_timeout`` seconds);
        else NotReplicated says so, with the event's id."""
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(
            client,
            channel=channel,
            service=service,
            durable=durable,
            max_event_bytes=max_event_bytes,
            wait_replicas=wait_replicas,
            wait_timeout=wait_timeout,
        )

    def publish_stage(
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
        durable: bool | None = None,
    ) -> str | None:
        """Publishes a ``pipeline.stage`` event; returns its id (``None`` when
        not durable). Raises InvalidEvent or LinkUnavailable; sends nothing
        then."""
        event = self.stage_payload(
            run_id,
            stage,
            status,
            detail=detail,
            ts=ts,
            source=source,
            tenant=tenant,
            user_id=user_id,
            attempt=attempt,
            progress=progress,
            eta=eta,
        )
        return self.send(event, durable)

    def publish(self, event: Event, *, durable: bool | None = None) -> str | None:
        """Publishes any event: a mapping (written as JSON) or JSON text (sent
        as it is). Returns its id, ``None`` when not durable."""
        return self.send(self.payload(event), durable)

    def stage(
        self,
        run_id: str,
        stage: str,
        *,
        detail: str | None = None,
        attempt: int | None = None,
        tenant: str | None = None,
        user_id: str | None = None,
        source: str | None = None,
    ) -> RunningStage:
        """A ``with`` block that runs ``stage``: ``processing`` on entry,
        ``complete`` when it ends, ``error`` when it raises."""
        of = StageOf(run_id, stage, attempt, tenant, user_id, source)
        return RunningStage(self, of, detail)

    def send(self, event: ValidEvent, durable: bool | None = None) -> str | None:
        """Sends a validated event: the publish script, or a plain PUBLISH."""
        try:
            if not (self.durable if durable is None else durable):
                self.client.publish(self.channel, event.data)
                return None
            keys, args = script_call(self.keys, self.channel, event, self._stream_bounds())
            reply, acked = self._record(keys, args)
        except (redis.RedisError, OSError) as error:
            self._bounds = None
            raise LinkUnavailable(f"Redis did not take the event: {error}") from error
        return self.confirmed(reply.decode() if isinstance(reply, bytes) else str(reply), acked)

    def _record(self, keys: list[str], args: list[Any]) -> tuple[Any, int | None]:
        """Runs the publish script; with ``wait_replicas``, then ``WAIT`` on
        the same connection (a pipeline), which confirms this connection's
        writes."""
        if not self.wait_replicas:
            return self._script(keys=keys, args=args), None
        pipe = self.client.pipeline(transaction=False)
        self._script(keys=keys, args=args, client=pipe)
        pipe.wait(self.wait_replicas, int(self.wait_timeout * 1000))
        reply, acked = pipe.execute()
        return reply, int(acked)

    def _stream_bounds(self) -> Bounds:
        """The stream bounds the gateways set: read at the first publish, and
        again after a failure (as the gateway's publisher reads them per connection)."""
        if self._bounds is None:
            values: Any = self.client.hmget(self.keys.settings, list(SETTINGS_FIELDS))
            self._bounds = Bounds.from_settings(list(values))
        return self._bounds

    def close(self) -> None:
        """Closes the client's connections."""
        self.client.close()

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RunningStage:
    """One stage being run by ``with link.stage(...) as stage``.

    Set ``result`` to give the ``complete`` event a ``detail``.
    """

    def __init__(self, link: Link, of: StageOf, detail: str | None) -> None:
        self.link, self.of, self.detail = link, of, detail
        self.result: str | None = None

    def progress(
        self, percent: float, *, detail: str | None = None, eta: float | None = None
    ) -> str | None:
        """Publishes how far the stage is (0 to 100), and optionally the
        seconds it expects to need still."""
        event = self.link.stage_event_of(
            self.of, "processing", detail=detail, progress=percent, eta=eta
        )
        return self.link.send(event)

    def __enter__(self) -> RunningStage:
        self.link.send(self.link.stage_event_of(self.of, "processing", detail=self.detail))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            self.link.send(self.link.stage_event_of(self.of, "complete", detail=self.result))
            return
        try:
            self.link.send(self.link.stage_event_of(self.of, "error", detail=error_detail(error)))
        except Exception:  # the stage's own error matters more: it goes on
            log.warning("could not publish the error of stage %s", self.of.stage, exc_info=True)
