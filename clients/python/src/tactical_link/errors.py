"""The two ways a publish fails: the event is wrong, or Redis cannot take it.

Both are raised before anything is sent, or instead of a reply: an event is
published whole (one script or one ``PUBLISH``) or not at all.
"""

from __future__ import annotations


class TacticalLinkError(Exception):
    """Base of every error this package raises."""


class InvalidEvent(TacticalLinkError, ValueError):
    """The event would be refused by the gateway; nothing was sent.

    ``reason`` is the gateway's name for the refusal (the label of
    ``tactical_link_events_rejected_total``): ``too_large``, ``not_utf8``,
    ``not_json``, ``not_object``, ``too_deep``, ``missing_type``,
    ``invalid_pipeline`` or ``invalid_scope``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class LinkUnavailable(TacticalLinkError, ConnectionError):
    """Redis did not take the event (unreachable, timed out or refused it).

    A durable publish is one script, run whole or not at all; after a timeout
    it may have run, so the event may be recorded even though this was raised.
    """


class NotReplicated(LinkUnavailable):
    """Recorded on the primary as ``event_id``, but fewer than ``wanted``
    replicas confirmed it within the link's ``wait_timeout`` (``acked`` did):
    a failover now could lose it. Publishing the same event again is safe:
    the gateway folds a repeated step of a run once.
    """

    def __init__(self, event_id: str, acked: int, wanted: int) -> None:
        super().__init__(
            f"recorded as {event_id} but confirmed by {acked} of {wanted} replicas in time"
        )
        self.event_id = event_id
        self.acked = acked
        self.wanted = wanted
