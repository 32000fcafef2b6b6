"""Durable publishes that wait for replicas (``wait_replicas``): with the
replica stopped, the event is recorded on the primary but the publish raises
NotReplicated with its id; with the replica back, what succeeded is on it.
Both links, against a real primary and replica."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis
from harness import RedisServer, eventually

from tactical_link import Link, LinkUnavailable, NotReplicated, aio
from tactical_link.wire import Keys

CHANNEL = "replicated_events"
STREAM = Keys(CHANNEL).stream


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[RedisServer, RedisServer]]:
    """A primary and a replica its WAIT counts."""
    primary = RedisServer("--repl-diskless-sync-delay", "0")
    replica = RedisServer("--replicaof", "127.0.0.1", str(primary.port))
    client = redis.Redis(port=primary.port)
    eventually("the replica counted by WAIT", lambda: client.wait(1, 100) == 1 or None)
    client.close()
    yield primary, replica
    replica.close()
    primary.close()


def stream_len(server: RedisServer) -> int:
    with redis.Redis(port=server.port) as client:
        return int(client.xlen(STREAM))


def last_id(server: RedisServer) -> str:
    with redis.Redis(port=server.port, decode_responses=True) as client:
        entries = client.xrevrange(STREAM, count=1)
        return str(entries[0][0])


def test_a_publish_returns_once_a_replica_holds_it(pair: tuple[RedisServer, RedisServer]) -> None:
    primary, replica = pair
    before = stream_len(primary)
    with Link.from_url(primary.url, channel=CHANNEL, wait_replicas=1, wait_timeout=2) as link:
        for n in range(5):
            link.publish({"type": "replicated", "n": n})
        assert stream_len(replica) == before + 5
        with replica.paused(), pytest.raises(NotReplicated) as refused:
            link.publish({"type": "replicated", "n": 5})
        assert (refused.value.acked, refused.value.wanted) == (0, 1)
        assert isinstance(refused.value, LinkUnavailable)
        # Recorded on the primary all the same, under the id it was given.
        assert last_id(primary) == refused.value.event_id
        link.publish({"type": "replicated", "n": 6})
        assert stream_len(replica) == before + 7


def test_the_asyncio_link_waits_the_same_way(pair: tuple[RedisServer, RedisServer]) -> None:
    primary, replica = pair

    async def scenario() -> str:
        async with aio.Link.from_url(
            primary.url, channel=CHANNEL, wait_replicas=1, wait_timeout=2
        ) as link:
            await link.publish({"type": "replicated", "aio": True})
            with replica.paused(), pytest.raises(NotReplicated) as refused:
                await link.publish({"type": "replicated", "aio": False})
            return refused.value.event_id

    before = stream_len(primary)
    event_id = asyncio.run(scenario())
    assert stream_len(primary) == before + 2
    assert last_id(primary) == event_id


def test_the_wait_is_bounded() -> None:
    with pytest.raises(ValueError, match="wait_timeout"):
        Link.from_url("redis://127.0.0.1:1", wait_replicas=1, wait_timeout=10)
    with pytest.raises(ValueError, match="wait_replicas"):
        Link.from_url("redis://127.0.0.1:1", wait_replicas=-1)
