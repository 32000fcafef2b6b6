"""Publish pipeline events to Tactical Link gateways through Redis.

``Link`` publishes from ordinary code, ``tactical_link.aio.Link`` from
asyncio code; both validate every event as the gateway does before sending
it, and by default record it durably with the gateway's own script. See
README.md for the whole API.
"""

from .errors import InvalidEvent, LinkUnavailable, NotReplicated, TacticalLinkError
from .event import ValidEvent, validate
from .sync import Link, RunningStage

__all__ = [
    "InvalidEvent",
    "Link",
    "LinkUnavailable",
    "NotReplicated",
    "RunningStage",
    "TacticalLinkError",
    "ValidEvent",
    "validate",
]
