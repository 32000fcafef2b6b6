//! The memory bound a flood is checked against, computed from the flags the
//! gateway ran with and the shape of the events (docs/operations.md,
//! "Memory", writes the same formula with the default numbers):
//!
//! ```text
//! bound   = frames + snapshot cache + connections × per connection + fixed
//! at rest = history bytes + snapshot cache + fixed        (no client connected)
//! frames          = max(history bytes, client buffer × F)   (shared, see below)
//! snapshot cache  = 16 MiB + one snapshot
//! per connection  = its own buffers + max(batch + F, one snapshot)
//! fixed           = RSS of the idle gateway after start (measured)
//! ```
//!
//! F is the largest event frame: the event, the envelope around it, and the
//! event's `detail` again in the run's new state (twice for an `error`,
//! whose `error` is its detail). History and the broadcast ring hold the
//! same reference-counted frames (`Frame` is a shared buffer: the hub
//! serialises each once and clones the pointer into both), and both hold
//! the newest frames, so together they hold the larger of the two, not the
//! sum; `shares = false` adds them, for a gateway that copies. The ring
//! (tokio's broadcast channel) lets go of a frame once every receiver
//! subscribed when it was sent has read it or gone: it holds up to
//! `client buffer` frames only while a connected client lags, so with no
//! client connected (after the flood, after a restart) only the history
//! is left: the bound "at rest".

use serde::{Deserialize, Serialize};
use tactical_link::connection::ConnectionConfig;

// The gateway's fixed sizes, restated from its documentation (they are not
// flags, and the product keeps them private):
/// A connection's write batch: at most 512 KiB (docs/security.md, "memory
/// in bytes"; `BATCH_BYTES` in src/connection/live.rs).
pub const BATCH_BYTES: u64 = 512 * 1024;
/// Frames a client that is behind reads at once: 1,024 (docs/protocol.md,
/// "Slow consumers"; `CONFLATE_WINDOW` in src/connection/live.rs).
pub const CONFLATE_WINDOW: u64 = 1024;
/// Messages over 8 KiB are written as fragments of 8 KiB (docs/protocol.md;
/// `FRAGMENT_BYTES` in src/connection/write.rs).
pub const FRAGMENT_BYTES: u64 = 8 * 1024;
/// Cached snapshots: at most 16 MiB (docs/security.md, "memory in bytes";
/// `MAX_CACHED_SNAPSHOT_BYTES` in src/hub.rs).
pub const MAX_CACHED_SNAPSHOT_BYTES: u64 = 16 * 1024 * 1024;

/// Bytes of an event frame around the event and its run's state: `type`,
/// `id`, `received_at`, `pipeline` and the run's header (key, run id,
/// version, times, outcome, the stage's fields but its detail).
pub const FRAME_ENVELOPE: u64 = 1024;
/// Bytes of one run in a snapshot besides its stages' details.
pub const RUN_JSON: u64 = 2048;
/// Stages per run.
const STAGES: u64 = 6;
/// What an idle connection holds: its task, socket, timers, receiver and
/// 1 KiB read buffer (5.4 KiB measured by the `idle-15000` case of
/// docs/performance.md), rounded up.
pub const IDLE_CONNECTION: u64 = 8 * 1024;
/// A batch's `(Frame, u64)` entry.
const BATCH_ENTRY: u64 = 40;

/// The flags that size the gateway's memory, as the run passed them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Flags {
    pub history_bytes: u64,
    pub client_buffer: u64,
    pub max_event_bytes: u64,
    pub max_runs: u64,
    /// Bytes of event frames a snapshot carries (not a flag: the hub's 256 KiB).
    pub recent_bytes: u64,
}

/// The shape of the events: how long their `detail` may be. A `detail`
/// is repeated in the run's state (and an `error`'s twice), in every event
/// frame and for every run of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    pub longest_detail: u64,
}

impl Shape {
    /// Events whose `detail` may be as long as the event itself.
    pub fn any(flags: &Flags) -> Shape {
        Shape {
            longest_detail: flags.max_event_bytes,
        }
    }
}

/// The largest event frame: the event, its detail twice more (state and
/// error), and the envelope.
pub fn largest_frame(flags: &Flags, shape: &Shape) -> u64 {
    flags.max_event_bytes + 2 * shape.longest_detail.min(flags.max_event_bytes) + FRAME_ENVELOPE
}

/// The largest snapshot: the recent events that fit in `recent_bytes`
/// (plus the one that passes it is not sent: the walk stops before it),
/// and every run with each stage's detail and error.
pub fn largest_snapshot(flags: &Flags, shape: &Shape) -> u64 {
    let detail = shape.longest_detail.min(flags.max_event_bytes);
    flags.recent_bytes + flags.max_runs * (RUN_JSON + STAGES * 2 * detail) + FRAME_ENVELOPE
}

/// What one connection may hold: its own buffers (idle state, the write
/// buffer of `write_buffer + one fragment` grown to twice that at most, a
/// batch's entries), and the frames it pins while a write waits, which the
/// ring and history may have dropped meanwhile: a batch of up to
/// [`BATCH_BYTES`] plus the frame that passes it, or its snapshot.
pub fn per_connection(flags: &Flags, shape: &Shape) -> u64 {
    let config = ConnectionConfig::default();
    let write_buffer = 2 * (config.write_buffer_bytes as u64 + FRAGMENT_BYTES + 14);
    let own = IDLE_CONNECTION + write_buffer + CONFLATE_WINDOW * BATCH_ENTRY;
    let batch = BATCH_BYTES + largest_frame(flags, shape);
    own + batch.max(largest_snapshot(flags, shape))
}

/// Everything the bound is made of.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    pub flags: Flags,
    pub shape: Shape,
    /// Whether the ring's frames are the history's (shared), not copies.
    pub ring_shares_history: bool,
    /// Most connections open at once.
    pub peak_connections: u64,
    /// RSS of the idle gateway after start, in bytes.
    pub fixed_bytes: u64,
}

/// The bound and its terms, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    pub largest_frame: u64,
    pub history: u64,
    pub ring: u64,
    /// History and ring together.
    pub frames: u64,
    pub snapshot_cache: u64,
    pub per_connection: u64,
    pub connections: u64,
    pub fixed: u64,
    pub total: u64,
    /// With no client connected: history, snapshot cache and fixed.
    pub at_rest: u64,
}

impl Bound {
    pub fn new(inputs: &Inputs) -> Bound {
        let (flags, shape) = (&inputs.flags, &inputs.shape);
        let largest_frame = largest_frame(flags, shape);
        // History keeps its newest frame even when it alone passes the bound.
        let history = flags.history_bytes.max(largest_frame);
        let ring = flags.client_buffer * largest_frame;
        let frames = if inputs.ring_shares_history {
            history.max(ring)
        } else {
            history + ring
        };
        let snapshot_cache = MAX_CACHED_SNAPSHOT_BYTES + largest_snapshot(flags, shape);
        let per_connection = per_connection(flags, shape);
        let connections = per_connection * inputs.peak_connections;
        let fixed = inputs.fixed_bytes;
        Bound {
            largest_frame,
            history,
            ring,
            frames,
            snapshot_cache,
            per_connection,
            connections,
            fixed,
            total: frames + snapshot_cache + connections + fixed,
            at_rest: history + snapshot_cache + fixed,
        }
    }

    /// Whether a measured figure (bytes) is within the bound.
    pub fn holds(&self, measured: u64) -> bool {
        measured <= self.total
    }

    /// Whether a figure measured with no client connected (bytes) is
    /// within the bound at rest.
    pub fn holds_at_rest(&self, measured: u64) -> bool {
        measured <= self.at_rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;
    const KIB: u64 = 1024;

    fn defaults() -> Flags {
        Flags {
            history_bytes: 64 * MIB,
            client_buffer: 4096,
            max_event_bytes: 64 * KIB,
            max_runs: 100,
            recent_bytes: 256 * KIB,
        }
    }

    fn short_details() -> Shape {
        Shape { longest_detail: 0 }
    }

    fn inputs(shape: Shape, shares: bool) -> Inputs {
        Inputs {
            flags: defaults(),
            shape,
            ring_shares_history: shares,
            peak_connections: 200,
            fixed_bytes: 12 * MIB,
        }
    }

    #[test]
    fn shared_frames_count_once_as_the_larger_of_history_and_ring() {
        let bound = Bound::new(&inputs(short_details(), true));
        assert_eq!(bound.largest_frame, 65 * KIB);
        assert_eq!(bound.ring, 4096 * 65 * KIB, "260 MiB");
        assert_eq!(bound.history, 64 * MIB);
        assert_eq!(bound.frames, bound.ring);
        let copied = Bound::new(&inputs(short_details(), false));
        assert_eq!(copied.frames, 64 * MIB + 4096 * 65 * KIB);
        let small_ring = Bound::new(&Inputs {
            flags: Flags {
                client_buffer: 16,
                ..defaults()
            },
            ..inputs(short_details(), true)
        });
        assert_eq!(small_ring.frames, 64 * MIB, "history is then the larger");
    }

    #[test]
    fn the_total_adds_every_term() {
        let bound = Bound::new(&inputs(short_details(), true));
        assert_eq!(bound.fixed, 12 * MIB);
        assert_eq!(bound.connections, 200 * bound.per_connection);
        assert_eq!(
            bound.total,
            bound.frames + bound.snapshot_cache + bound.connections + bound.fixed
        );
        assert!(bound.holds(bound.total));
        assert!(!bound.holds(bound.total + 1));
        assert_eq!(bound.at_rest, 64 * MIB + bound.snapshot_cache + 12 * MIB);
        assert!(bound.holds_at_rest(bound.at_rest));
        assert!(!bound.holds_at_rest(bound.at_rest + 1));
        // 512 KiB batch + 65 KiB frame + 8 KiB idle + 32 KiB (and two
        // headers) of write buffer + 40 KiB of batch entries.
        assert_eq!(bound.per_connection, 657 * KIB + 28);
    }

    #[test]
    fn long_details_are_counted_in_every_frame_and_every_run_of_a_snapshot() {
        let flags = defaults();
        let shape = Shape::any(&flags);
        assert_eq!(largest_frame(&flags, &shape), 3 * 64 * KIB + FRAME_ENVELOPE);
        let snapshot = largest_snapshot(&flags, &shape);
        assert_eq!(
            snapshot,
            256 * KIB + 100 * (RUN_JSON + 12 * 64 * KIB) + FRAME_ENVELOPE,
            "a hundred runs of six stages, each detail twice: 75 MiB"
        );
        assert_eq!(
            per_connection(&flags, &shape) - per_connection(&flags, &short_details()),
            snapshot - (BATCH_BYTES + 65 * KIB),
            "a connection may pin its snapshot instead of a batch"
        );
        let no_runs = Flags {
            max_runs: 0,
            ..flags
        };
        assert!(largest_snapshot(&no_runs, &shape) < BATCH_BYTES);
    }
}
