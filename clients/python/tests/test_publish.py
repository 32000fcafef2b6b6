"""The synchronous Link against a real redis-server and a real gateway: what
it publishes is what the gateway shows, a stage block ends complete or
error, nothing invalid is sent, and durable events wait for a gateway."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import redis
from harness import Gateway, RedisServer, free_port

from tactical_link import InvalidEvent, Link, LinkUnavailable

STREAM = "tactical-link:{system_events}:events"
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def recorded(client: redis.Redis, event_id: str, stream: str = STREAM) -> dict[str, Any]:
    """The event the stream holds at ``event_id``."""
    entries: Any = client.xrange(stream, event_id, event_id)
    assert len(entries) == 1, f"{event_id} is in {stream}"
    event: dict[str, Any] = json.loads(entries[0][1]["e"])
    return event


def test_a_published_stage_is_recorded_and_shown_by_the_gateway(
    gateway: Gateway, link: Link, redis_client: redis.Redis
) -> None:
    run_id = link.new_run()
    assert re.fullmatch(r"run-[0-9a-f]{12}", run_id)
    event_id = link.publish_stage(run_id, "radar", "complete", detail="Found 17 new leads")
    assert event_id is not None
    event = recorded(redis_client, event_id)
    assert event["run_id"] == run_id
    assert (event["stage"], event["status"], event["source"]) == ("radar", "complete", "tests")
    assert TS.fullmatch(event["ts"]), event["ts"]
    assert isinstance(event["seq"], int)
    stage = gateway.stage_when(run_id, "radar", lambda s: s["status"] == "complete")
    assert stage["detail"] == "Found 17 new leads"


def test_a_stage_block_publishes_processing_progress_then_complete(
    gateway: Gateway, link: Link
) -> None:
    run_id = link.new_run()
    with link.stage(run_id, "analyst", detail="Scoring leads") as stage:
        started = gateway.stage_when(run_id, "analyst", lambda s: s["status"] == "processing")
        assert (started["detail"], started["attempt"]) == ("Scoring leads", 1)
        stage.progress(40, detail="Scored 20 of 48", eta=30)
        moving = gateway.stage_when(run_id, "analyst", lambda s: s["progress"] == 40)
        assert moving["status"] == "processing"
        assert moving["detail"] == "Scored 20 of 48"
        assert moving["eta"] is not None
        stage.result = "31 leads above threshold"
    done = gateway.stage_when(run_id, "analyst", lambda s: s["status"] == "complete")
    assert done["detail"] == "31 leads above threshold"
    assert done["error"] is None


def test_a_stage_that_raises_ends_in_error_with_its_message_and_the_exception_goes_on(
    gateway: Gateway, link: Link
) -> None:
    run_id = link.new_run()
    with pytest.raises(KeyError, match="lead-7"), link.stage(run_id, "advisor", attempt=2):
        raise KeyError("lead-7")
    stage = gateway.stage_when(run_id, "advisor", lambda s: s["status"] == "error")
    assert stage["error"] == "KeyError: 'lead-7'"
    assert stage["attempt"] == 2


def stage_call(run_field: str = "", **fields: Any) -> Any:
    """A publish_stage call with some fields wrong."""
    defaults = {"stage": "radar", "status": "processing"}
    stage, status = fields.pop("stage", "radar"), fields.pop("status", defaults["status"])
    return lambda link, run: link.publish_stage(run_field or run, stage, status, **fields)


INVALID_CALLS = {
    "unknown stage": (stage_call(stage="cooking"), "invalid_pipeline"),
    "unknown status": (stage_call(status="done"), "invalid_pipeline"),
    "blank run id": (stage_call(run_field=" "), "invalid_pipeline"),
    "progress when complete": (stage_call(status="complete", progress=5), "invalid_pipeline"),
    "progress over 100": (stage_call(progress=101), "invalid_pipeline"),
    "attempt 0": (stage_call(attempt=0), "invalid_pipeline"),
    "ts not a time": (stage_call(ts="yesterday"), "invalid_pipeline"),
    "detail not a string": (stage_call(detail=7), "invalid_pipeline"),
    "empty tenant": (stage_call(tenant=""), "invalid_scope"),
    "over 64 KiB": (stage_call(detail="x" * 70_000), "too_large"),
    "lone surrogate": (stage_call(detail="\ud800"), "not_utf8"),
    "eta NaN": (stage_call(eta=float("nan")), "not_json"),
    "no type": (lambda link, run: link.publish({"no_type": 1}), "missing_type"),
    "null user_id": (
        lambda link, run: link.publish({"type": "n", "user_id": None}),
        "invalid_scope",
    ),
    "not JSON-able": (lambda link, run: link.publish({"type": "n", "at": object()}), "not_json"),
    "an array": (lambda link, run: link.publish("[1, 2]"), "not_object"),
    "type twice": (lambda link, run: link.publish(b'{"type":"n","type":"m"}'), "not_json"),
    "not UTF-8": (lambda link, run: link.publish(b'{"type":"\xff"}'), "not_utf8"),
}


@pytest.mark.parametrize(("call", "reason"), INVALID_CALLS.values(), ids=INVALID_CALLS.keys())
def test_an_invalid_event_raises_with_its_reason_and_nothing_is_sent(
    redis_server: RedisServer, channel: str, call: Any, reason: str
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    listener = client.pubsub()  # type: ignore[no-untyped-call]
    listener.subscribe(channel)
    subscribed: Any = listener.get_message(timeout=5)
    assert subscribed["type"] == "subscribe"
    with Link.from_url(redis_server.url, channel=channel) as quiet:
        run_id = quiet.new_run()
        with pytest.raises(InvalidEvent) as refused:
            call(quiet, run_id)
        assert refused.value.reason == reason, refused.value
        # The next message on the channel, and the only entry in the
        # stream, is the one valid event published after the invalid one.
        marker = quiet.publish({"type": "marker"})
    message: Any = listener.get_message(timeout=5)
    assert json.loads(message["data"]) == {"type": "marker"}
    assert client.xlen(f"tactical-link:{{{channel}}}:events") == 1
    assert marker is not None
    listener.close()
    client.close()


def test_a_durable_event_published_while_no_gateway_runs_is_shown_when_one_starts(
    redis_server: RedisServer, channel: str
) -> None:
    with Link.from_url(redis_server.url, channel=channel) as offline:
        run_id = offline.new_run()
        offline.publish_stage(run_id, "radar", "processing")
        offline.publish_stage(run_id, "radar", "complete", detail="Found 3 new leads")
    late = Gateway(redis_server.url, channel=channel)
    try:
        stage = late.stage_when(run_id, "radar", lambda s: s["status"] == "complete")
        assert stage["detail"] == "Found 3 new leads"
    finally:
        late.close()


def test_a_plain_publish_reaches_a_running_gateway(
    gateway: Gateway, redis_server: RedisServer
) -> None:
    with Link.from_url(redis_server.url, durable=False) as plain:
        run_id = plain.new_run()
        assert plain.publish_stage(run_id, "report", "complete", detail="Sent") is None
    stage = gateway.stage_when(run_id, "report", lambda s: s["status"] == "complete")
    assert stage["detail"] == "Sent"


def test_the_gateway_orders_one_links_events_by_their_seq_when_their_ts_tie(
    gateway: Gateway, link: Link
) -> None:
    # At one ts the gateway puts processing before complete, unless seq
    # says otherwise: here the stage completed, then began again.
    run_id, now_ms = link.new_run(), int(time.time() * 1000)
    link.publish_stage(run_id, "quality", "complete", ts=now_ms)
    link.publish_stage(run_id, "quality", "processing", ts=now_ms, detail="again")
    stage = gateway.stage_when(run_id, "quality", lambda s: s["detail"] == "again")
    assert (stage["status"], stage["attempt"]) == ("processing", 2)


def test_scoped_events_use_the_gateways_run_key(
    gateway: Gateway, link: Link, redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    # One event recorded by this library, one by the gateway's recorder
    # (a plain PUBLISH): both land in the same run log, under the same key.
    run_id = f"{link.new_run()}/1%"
    link.publish_stage(run_id, "radar", "processing", tenant="acme", user_id="alice")
    with Link.from_url(redis_server.url, durable=False) as plain:
        plain.publish_stage(run_id, "radar", "complete", tenant="acme", user_id="alice")
    key = f"acme/alice/{run_id.replace('%', '%25').replace('/', '%2F')}"
    log = f"tactical-link:{{system_events}}:run:{key}"
    assert gateway.get("/readyz", status_only=True)
    deadline = time.monotonic() + 10
    while redis_client.xlen(log) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert redis_client.xlen(log) == 2
    assert redis_client.zscore("tactical-link:{system_events}:runs", key) is not None


def test_an_unreachable_redis_raises_link_unavailable() -> None:
    with Link.from_url(f"redis://127.0.0.1:{free_port()}", timeout=1) as nowhere:
        with pytest.raises(LinkUnavailable):
            nowhere.publish_stage(nowhere.new_run(), "radar", "processing")
        with pytest.raises(LinkUnavailable):
            nowhere.publish({"type": "note"}, durable=False)


def test_a_redis_that_does_not_answer_raises_link_unavailable_after_the_timeout() -> None:
    server = RedisServer()
    try:
        with Link.from_url(server.url, timeout=0.3) as link:
            assert link.publish({"type": "note", "n": 1}) is not None  # connected
            with server.paused():
                started = time.monotonic()
                with pytest.raises(LinkUnavailable, match="imeout"):
                    link.publish({"type": "note", "n": 2})
                assert time.monotonic() - started >= 0.25
            assert link.publish({"type": "note", "n": 3}) is not None  # and back
    finally:
        server.close()


def test_every_event_of_a_link_has_a_larger_seq_and_its_service_as_source(
    link: Link, redis_client: redis.Redis
) -> None:
    run_id = link.new_run()
    ids = [
        link.publish_stage(run_id, "radar", "processing", ts="2026-11-28T15:00:00.000Z"),
        link.publish_stage(run_id, "radar", "complete", ts="2026-11-28T14:00:00.000Z"),
        link.publish_stage(run_id, "analyst", "processing", source="analyst-7"),
    ]
    events = [recorded(redis_client, event_id) for event_id in ids if event_id]
    seqs = [event["seq"] for event in events]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 3
    # Near the time in microseconds, so two publishers' seqs compare as
    # their times do.
    assert abs(seqs[-1] - time.time() * 1e6) < 60e6
    assert [event["source"] for event in events] == ["tests", "tests", "analyst-7"]
    assert events[0]["ts"] == "2026-11-28T15:00:00.000Z"
