"""Fixtures: one redis-server and one gateway for the whole session (tests
keep apart by run id, or by a channel of their own), and links to them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from harness import Gateway, RedisServer

from tactical_link import Link


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def gateway(redis_server: RedisServer) -> Iterator[Gateway]:
    started = Gateway(redis_server.url)
    yield started
    started.close()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def link(redis_server: RedisServer) -> Iterator[Link]:
    with Link.from_url(redis_server.url, service="tests") as opened:
        yield opened


@pytest.fixture
def channel() -> str:
    """A channel no gateway listens on."""
    return f"quiet-{uuid.uuid4().hex[:8]}"
