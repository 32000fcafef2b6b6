"""Event times as the gateway reads and writes them: RFC 3339.

``format_ts`` writes what the gateway writes (UTC, milliseconds, ``Z``).
``is_rfc3339`` accepts exactly the texts the gateway's parser accepts (the
Rust ``time`` crate's RFC 3339): four-digit years, any one ASCII character
between date and time, any number of fraction digits, ``Z`` or ``z`` or an
offset up to 23:59, and a leap second only where one can fall (the last
second of a month, in UTC). A ``ts`` the gateway would refuse is refused
here, before anything is sent.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[\x00-\x7f]"
    r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))",
    re.DOTALL,
)

MINUTES_A_DAY = 24 * 60


def now_ts() -> str:
    """Now, as the gateway writes times: ``2026-11-28T15:00:00.123Z``."""
    return format_ts(datetime.now(timezone.utc))


def format_ts(when: datetime) -> str:
    """``when`` in UTC with milliseconds; a naive time is taken as local."""
    utc = when.astimezone(timezone.utc)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def is_rfc3339(text: str) -> bool:
    """Whether the gateway reads ``text`` as a time."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    sign, offset_h, offset_m = match.group(7), match.group(8), match.group(9)
    offset = 0 if sign is None else int(offset_h) * 60 + int(offset_m)
    if sign is not None and (int(offset_h) > 23 or int(offset_m) > 59):
        return False
    if not (1 <= month <= 12 and 1 <= day <= _days_in(year, month)):
        return False
    if hour > 23 or minute > 59 or second > 60:
        return False
    if second == 60:
        return _is_leap_second(
            year, month, day, hour * 60 + minute - (-offset if sign == "-" else offset)
        )
    return True


def _is_leap_second(year: int, month: int, day: int, utc_minute: int) -> bool:
    """A leap second stands for the last instant of a month, in UTC:
    ``utc_minute`` (minutes since the local midnight, offset removed) must be
    23:59 of the month's last day."""
    shift, minute_of_day = divmod(utc_minute, MINUTES_A_DAY)
    if minute_of_day != MINUTES_A_DAY - 1:
        return False
    last = _days_in(year, month)
    if shift == 0:
        return day == last
    if shift < 0:  # the day before: the last of a month only on a month's first
        return day == 1
    return day + 1 == last  # the day after, within the same month
