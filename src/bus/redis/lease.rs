//! The recorder lease: of all the gateways on one channel, one records the
//! plain `PUBLISH` messages, so that Redis runs the record script once per
//! event whatever the number of gateways.
//!
//! The lease is a key (`tactical-link:{<channel>}:recorder`) holding the
//! holder's gateway id with a time to live of [`LEASE`]. Every gateway tries
//! every [`RENEW`]: the holder extends it (only if it still holds it, in one
//! script), the others take it when it is free (`SET NX PX`). A holder that
//! cannot renew in time (it stalled, or lost Redis) stops recording at once;
//! another takes over at most [`LEASE`] + [`RENEW`] after its last renewal.
//! Recording stays correct with two recorders for a moment (the record
//! script de-duplicates by payload): the lease saves work, it does not
//! guard correctness. What a takeover could lose is covered by the standby
//! buffer ([`super::standby`]).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use redis::aio::MultiplexedConnection;

use super::{COMMAND_TIMEOUT, CONNECT_TIMEOUT, Link, LinkError, Part, within};

/// How long a lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(3);
/// How often the holder renews it and the others try to take it.
pub const RENEW: Duration = Duration::from_secs(1);

/// Extends the lease when this gateway holds it. KEYS[1] lease, ARGV[1]
/// gateway id, ARGV[2] lease (ms). Returns 1 when renewed, 0 when another
/// holds it (or nobody does).
const RENEW_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

/// Whether this gateway holds the lease.
#[derive(Debug, Default)]
pub struct Lease {
    held: AtomicBool,
    /// Wakes the recorder when the lease is taken, so it records what it
    /// kept as a standby at once.
    taken: tokio::sync::Notify,
}

impl Lease {
    pub fn held(&self) -> bool {
        self.held.load(Relaxed)
    }

    /// Waits until this gateway takes the lease.
    pub async fn taken(&self) {
        self.taken.notified().await
    }

    fn set(&self, held: bool) {
        if self.held.swap(held, Relaxed) != held && held {
            self.taken.notify_one();
        }
    }
}

impl Link {
    /// Holds the lease, or waits for it, until the connection fails.
    pub(super) async fn hold_lease(&self, backoff: &mut crate::backoff::Backoff) -> LinkError {
        let config = super::command_connection_config();
        let connect = self.endpoint.connect(&config);
        let mut connection = match within(CONNECT_TIMEOUT, connect).await {
            Ok(connection) => connection,
            Err(err) => return err,
        };
        backoff.reset();
        self.health.report(Part::Lease, Ok(()));
        let mut tick = tokio::time::interval(RENEW);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let err = loop {
            tick.tick().await;
            match self.try_hold(&mut connection).await {
                Ok(held) => self.lease_is(held),
                Err(err) => break err,
            }
        };
        self.lease_is(false);
        err
    }

    /// One renewal or attempt; true when this gateway holds the lease.
    async fn try_hold(&self, connection: &mut MultiplexedConnection) -> Result<bool, LinkError> {
        let lease_ms = LEASE.as_millis() as u64;
        if self.lease.held() {
            let script = redis::Script::new(RENEW_SCRIPT);
            let mut renew = script.key(&self.keys.lease);
            renew.arg(&self.gateway_id).arg(lease_ms);
            let renewed = renew.invoke_async::<i64>(connection);
            return Ok(within(COMMAND_TIMEOUT, renewed).await? == 1);
        }
        let mut take = redis::cmd("SET");
        take.arg(&self.keys.lease)
            .arg(&self.gateway_id)
            .arg("NX")
            .arg("PX")
            .arg(lease_ms);
        let taken = take.query_async::<Option<String>>(connection);
        Ok(within(COMMAND_TIMEOUT, taken).await?.is_some())
    }

    pub(super) fn lease_is(&self, held: bool) {
        let metrics = self.health.hub.metrics();
        if held && !self.lease.held() {
            metrics.recorder_takeovers.inc();
            tracing::info!(gateway = %self.gateway_id, "this gateway now records the channel (recorder lease taken)");
        } else if !held && self.lease.held() {
            tracing::warn!(gateway = %self.gateway_id, "this gateway no longer records the channel (recorder lease lost)");
        }
        metrics.recorder_leader.set(i64::from(held));
        self.lease.set(held);
    }
}

/// Longest a holder may go without renewing before another may take over.
pub fn takeover_bound() -> Duration {
    LEASE + RENEW
}
