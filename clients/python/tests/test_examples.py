"""The library's validation against the examples the gateway's tests use
(docs/event-examples.json), and the parts of an event it writes itself."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from harness import REPO

from tactical_link import InvalidEvent, validate
from tactical_link.compose import MAX_ERROR_DETAIL, Sequence, error_detail
from tactical_link.times import format_ts, is_rfc3339
from tactical_link.wire import run_key

EXAMPLES = json.loads((REPO / "docs" / "event-examples.json").read_text(encoding="utf-8"))


def text_of(example: dict[str, Any]) -> str:
    text = example.get("text")
    return text if isinstance(text, str) else json.dumps(example["event"])


def test_the_examples_file_is_the_one_the_gateway_tests_read() -> None:
    assert len(EXAMPLES["valid"]) >= 15
    assert len(EXAMPLES["invalid"]) >= 40


@pytest.mark.parametrize("example", EXAMPLES["valid"], ids=text_of)
def test_the_library_accepts_every_valid_example(example: dict[str, Any]) -> None:
    validate(text_of(example))


@pytest.mark.parametrize("example", EXAMPLES["invalid"], ids=text_of)
def test_the_library_refuses_every_invalid_example_with_the_gateways_reason(
    example: dict[str, Any],
) -> None:
    with pytest.raises(InvalidEvent) as refused:
        validate(text_of(example))
    assert refused.value.reason == example["reason"], refused.value


def test_the_size_limit_counts_utf8_bytes() -> None:
    event = '{"type":"note","pad":"%s"}'
    fits = event % ("é" * ((1000 - len(event) + 2) // 2))
    assert len(fits.encode()) <= 1000 < len(fits.encode()) + 2
    validate(fits, max_bytes=1000)
    with pytest.raises(InvalidEvent) as refused:
        validate(fits + " ", max_bytes=len(fits.encode()))
    assert refused.value.reason == "too_large"


def test_a_wrong_field_is_named_in_the_message() -> None:
    with pytest.raises(InvalidEvent, match="`eta`"):
        validate(
            '{"type":"pipeline.stage","run_id":"r","stage":"radar","status":"processing","eta":-2}'
        )
    with pytest.raises(InvalidEvent, match="unknown stage 'cooking'"):
        validate('{"type":"pipeline.stage","run_id":"r","stage":"cooking","status":"idle"}')


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2026-11-28T15:00:00.123Z", True),
        ("2026-11-28t15:00:00z", True),
        ("2026-11-28_15:00:00+23:59", True),
        ("2026-11-28T15:00:00.123456789123-05:00", True),
        ("2024-02-29T00:00:00Z", True),
        ("2026-06-30T22:59:60-01:00", True),
        ("2026-11-28T15:00:00+24:00", False),
        ("2026-11-28T15:00:00+01:60", False),
        ("2026-11-28T15:00:00", False),
        ("2026-11-28T15:00:00Z\n", False),
        ("2026-11-28T15:00Z", False),
        ("2026-11-28T24:00:00Z", False),
        ("2026-11-28T15:00:00.Z", False),
        ("2026-11-28Té15:00:00Z", False),
        ("2026-06-29T23:59:60Z", False),
        ("2023-02-29T00:00:00Z", False),
        ("\uff12026-11-28T15:00:00Z", False),
    ],
)
def test_rfc3339_times_are_read_as_the_gateway_reads_them(text: str, valid: bool) -> None:
    assert is_rfc3339(text) is valid


def test_times_are_written_in_utc_with_milliseconds() -> None:
    plus_two = timezone(timedelta(hours=2))
    when = datetime(2026, 11, 28, 17, 0, 0, 123_999, tzinfo=plus_two)
    assert format_ts(when) == "2026-11-28T15:00:00.123Z"
    assert format_ts(datetime(9, 1, 2, tzinfo=timezone.utc)) == "0009-01-02T00:00:00.000Z"


def test_run_keys_escape_their_parts_as_the_gateway_does() -> None:
    assert run_key("acme", None, "r/1") == "acme//r%2F1"
    assert run_key("a%/b", "u", "r") == "a%25%2Fb/u/r"
    assert run_key(None, None, "run-42") == "//run-42"


def test_a_failed_stage_reads_type_and_message_cut_to_a_sensible_length() -> None:
    assert error_detail(ValueError("bad lead")) == "ValueError: bad lead"
    assert error_detail(TimeoutError()) == "TimeoutError"
    long = error_detail(RuntimeError("x" * 5000))
    assert len(long) == MAX_ERROR_DETAIL
    assert long.startswith("RuntimeError: xxx")


def test_seq_grows_even_when_asked_faster_than_the_clock_moves() -> None:
    sequence = Sequence()
    seqs = [sequence.next() for _ in range(1000)]
    assert all(later > earlier for earlier, later in zip(seqs, seqs[1:]))
