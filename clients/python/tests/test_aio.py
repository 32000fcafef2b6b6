"""The asyncio Link against a real redis-server and a real gateway: the same
behaviour as the synchronous one, through ``await`` and ``async with``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import redis
from harness import Gateway, RedisServer, free_port

from tactical_link import InvalidEvent, LinkUnavailable
from tactical_link.aio import Link


def test_a_published_stage_is_shown_by_the_gateway(
    gateway: Gateway, redis_server: RedisServer
) -> None:
    async def publish() -> tuple[str, str | None]:
        async with Link.from_url(redis_server.url, service="aio-tests") as link:
            run_id = link.new_run()
            return run_id, await link.publish_stage(run_id, "radar", "complete", detail="Found 17")

    run_id, event_id = asyncio.run(publish())
    assert event_id is not None
    stage = gateway.stage_when(run_id, "radar", lambda s: s["status"] == "complete")
    assert stage["detail"] == "Found 17"


def test_a_stage_block_publishes_processing_progress_then_complete(
    gateway: Gateway, redis_server: RedisServer
) -> None:
    async def run_stage() -> str:
        async with Link.from_url(redis_server.url) as link:
            run_id = link.new_run()
            async with link.stage(run_id, "analyst", detail="Scoring leads") as stage:
                await stage.progress(40, detail="Scored 20 of 48")
                await asyncio.to_thread(
                    gateway.stage_when, run_id, "analyst", lambda s: s["progress"] == 40
                )
                stage.result = "Scored 48"
            return run_id

    run_id = asyncio.run(run_stage())
    done = gateway.stage_when(run_id, "analyst", lambda s: s["status"] == "complete")
    assert (done["detail"], done["attempt"]) == ("Scored 48", 1)


def test_a_stage_that_raises_ends_in_error_and_the_exception_goes_on(
    gateway: Gateway, redis_server: RedisServer
) -> None:
    async def failing(run_id: str) -> None:
        async with Link.from_url(redis_server.url) as link, link.stage(run_id, "actuator"):
            raise RuntimeError("the CRM refused the update")

    run_id = Link.new_run()
    with pytest.raises(RuntimeError, match="CRM refused"):
        asyncio.run(failing(run_id))
    stage = gateway.stage_when(run_id, "actuator", lambda s: s["status"] == "error")
    assert stage["error"] == "RuntimeError: the CRM refused the update"


def test_an_invalid_event_raises_and_nothing_is_sent(
    redis_server: RedisServer, channel: str
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    listener = client.pubsub()  # type: ignore[no-untyped-call]
    listener.subscribe(channel)
    subscribed: Any = listener.get_message(timeout=5)
    assert subscribed["type"] == "subscribe"

    async def publish() -> None:
        async with Link.from_url(redis_server.url, channel=channel) as link:
            with pytest.raises(InvalidEvent) as refused:
                await link.publish_stage(link.new_run(), "radar", "processing", progress=-1)
            assert refused.value.reason == "invalid_pipeline"
            with pytest.raises(InvalidEvent) as refused:
                await link.publish({"type": "note", "tenant": None})
            assert refused.value.reason == "invalid_scope"
            await link.publish({"type": "marker"})

    asyncio.run(publish())
    message: Any = listener.get_message(timeout=5)
    assert json.loads(message["data"]) == {"type": "marker"}
    assert client.xlen(f"tactical-link:{{{channel}}}:events") == 1
    listener.close()
    client.close()


def test_a_durable_event_published_while_no_gateway_runs_is_shown_when_one_starts(
    redis_server: RedisServer, channel: str
) -> None:
    async def publish() -> str:
        async with Link.from_url(redis_server.url, channel=channel) as link:
            run_id = link.new_run()
            await link.publish_stage(run_id, "quality", "error", detail="2 checks failed")
            return run_id

    run_id = asyncio.run(publish())
    late = Gateway(redis_server.url, channel=channel)
    try:
        stage = late.stage_when(run_id, "quality", lambda s: s["status"] == "error")
        assert stage["error"] == "2 checks failed"
    finally:
        late.close()


def test_a_plain_publish_reaches_a_running_gateway(
    gateway: Gateway, redis_server: RedisServer
) -> None:
    async def publish() -> tuple[str, str | None]:
        async with Link.from_url(redis_server.url, durable=False) as link:
            run_id = link.new_run()
            return run_id, await link.publish_stage(run_id, "report", "processing")

    run_id, event_id = asyncio.run(publish())
    assert event_id is None
    gateway.stage_when(run_id, "report", lambda s: s["status"] == "processing")


def test_an_unreachable_redis_raises_link_unavailable() -> None:
    async def publish() -> None:
        async with Link.from_url(f"redis://127.0.0.1:{free_port()}", timeout=1) as link:
            await link.publish_stage(link.new_run(), "radar", "processing")

    with pytest.raises(LinkUnavailable):
        asyncio.run(publish())


def test_a_redis_that_does_not_answer_raises_link_unavailable() -> None:
    server = RedisServer()

    async def publish() -> None:
        async with Link.from_url(server.url, timeout=0.3) as link:
            assert await link.publish({"type": "note", "n": 1}) is not None
            with server.paused(), pytest.raises(LinkUnavailable):
                await link.publish({"type": "note", "n": 2})
            assert await link.publish({"type": "note", "n": 3}) is not None

    try:
        asyncio.run(publish())
    finally:
        server.close()
