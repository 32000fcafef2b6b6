//! The recorder and standby leases: of all the gateways on one channel, one
//! records the plain `PUBLISH` messages (the recorder) and one listens
//! beside it, ready to take over (the standby); the others (followers) do
//! not subscribe to the channel at all and relay from the stream. So Redis
//! sends each message on the channel to two gateways and runs the record
//! script once per event, whatever the number of gateways.
//!
//! Each lease is a key (`…:recorder`, `…:standby`) holding its holder's
//! gateway id with a time to live of [`LEASE`]. Every [`RENEW`] each
//! gateway takes one step ([`Link::next_role`]): the recorder extends its
//! lease (only if it still holds it, in one script); the standby extends its
//! own and takes the recorder lease when it is free; a follower takes the
//! standby lease when it is free. A holder that cannot renew in time (it
//! stalled, or lost Redis) stops at once; the standby takes over at most
//! [`LEASE`] + [`RENEW`] after the recorder's last renewal.
//!
//! Only a gateway that listens may take a free recorder lease: the standby
//! buffer ([`super::standby`]) holds what the previous recorder may not have
//! recorded. The one exception is a channel never recorded (no
//! `recorded-before` key, set by the first taker): there the first gateway
//! takes the lease at once. A gateway just started is a follower, so it
//! never wins the recorder lease with an empty buffer (which lost events in
//! rolling restarts). What is lost is what nobody listened to: messages
//! published after the recorder and the standby both stopped, until a new
//! standby subscribes.
//!
//! Recording stays correct with two recorders for a moment (the record
//! script de-duplicates by payload): the leases save work, they do not guard
//! correctness. A gateway whose recorder connection is down gives its roles
//! up, so a lease never stays with a gateway that cannot listen.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use redis::aio::MultiplexedConnection;

use super::{COMMAND_TIMEOUT, CONNECT_TIMEOUT, Link, LinkError, Part, within};

/// How long a lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(3);
/// How often the holders renew and the others try to take a lease.
pub const RENEW: Duration = Duration::from_secs(1);

/// Extends a lease when this gateway holds it. KEYS[1] lease, ARGV[1]
/// gateway id, ARGV[2] lease (ms). Returns 1 when renewed, 0 when another
/// holds it (or nobody does).
const RENEW_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

/// Takes the recorder lease when it is free and this gateway may: it is
/// the standby and listens (ARGV[3] = 1), or the channel was never
/// recorded. KEYS[1] lease,
/// KEYS[2] recorded-before; ARGV[1] gateway id, ARGV[2] lease (ms).
/// Returns 1 when taken.
const TAKE_SCRIPT: &str = r"
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('SET', KEYS[2], '1')
  return 1
end
return 0
";

/// Deletes a lease when this gateway holds it. KEYS[1] lease, ARGV[1]
/// gateway id.
const RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// What this gateway does for the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Relays from the stream; not subscribed to the channel.
    Follower,
    /// Listens and keeps what it hears, to record it if it takes over.
    Standby,
    /// Records what it hears.
    Recorder,
}

/// This gateway's role, set by the lease loop and watched by the recorder,
/// which subscribes to the channel while the role asks for it.
#[derive(Debug)]
pub struct Roles {
    role: tokio::sync::watch::Sender<Role>,
    /// The recorder's subscription to the channel is up.
    listening: AtomicBool,
}

impl Default for Roles {
    fn default() -> Self {
        Roles {
            role: tokio::sync::watch::Sender::new(Role::Follower),
            listening: AtomicBool::new(false),
        }
    }
}

impl Roles {
    pub fn get(&self) -> Role {
        *self.role.borrow()
    }

    pub fn records(&self) -> bool {
        self.get() == Role::Recorder
    }

    /// Wakes on every change of role.
    pub fn watch(&self) -> tokio::sync::watch::Receiver<Role> {
        self.role.subscribe()
    }

    pub fn listening(&self) -> bool {
        self.listening.load(Relaxed)
    }

    /// Said by the recorder when its subscription to the channel comes up
    /// or goes.
    pub fn set_listening(&self, listening: bool) {
        self.listening.store(listening, Relaxed);
    }
}

impl Link {
    /// Holds a lease, or waits for one, until the connection fails.
    pub(super) async fn hold_lease(&self, backoff: &mut crate::backoff::Backoff) -> LinkError {
        let config = super::command_connection_config();
        let connect = self.endpoint.connect(&config);
        let mut connection = match within(CONNECT_TIMEOUT, connect).await {
            Ok(connection) => connection,
            Err(err) => return err,
        };
        backoff.reset();
        self.health.report(Part::Lease, Ok(()));
        // The first step once the recorder listens: a lone gateway on a
        // channel never recorded records at once.
        let started = tokio::time::Instant::now();
        while !self.roles.listening() && started.elapsed() < RENEW {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut tick = tokio::time::interval(RENEW);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let err = loop {
            tick.tick().await;
            match self.next_role(&mut connection).await {
                Ok(Some(role)) => self.role_is(role),
                Ok(None) => {}
                Err(err) => break err,
            }
        };
        self.role_is(Role::Follower);
        err
    }

    /// One step of the lease loop (see the module documentation): renews
    /// what this gateway holds, takes what it may, and says its role;
    /// `None` while the recorder is down (this gateway then follows, and
    /// holds nothing once its leases expire).
    async fn next_role(
        &self,
        connection: &mut MultiplexedConnection,
    ) -> Result<Option<Role>, LinkError> {
        let keys = &self.keys;
        let role = self.roles.get();
        if !self.health.recorder_up() {
            // It cannot listen: let what it holds expire. A recorder
            // connecting meanwhile is not told to unsubscribe for that.
            self.report_role(Role::Follower);
            self.roles.role.send_if_modified(|current| {
                *current = Role::Follower;
                false
            });
            return Ok(None);
        }
        if role == Role::Recorder {
            if self.renew(connection, &keys.lease).await? {
                return Ok(Some(Role::Recorder));
            }
        } else if self.take_recorder(connection).await? {
            if role == Role::Standby {
                self.release(connection, &keys.standby).await?;
            }
            return Ok(Some(Role::Recorder));
        }
        let standby = if role == Role::Standby {
            self.renew(connection, &keys.standby).await?
        } else {
            self.take(connection, &keys.standby).await?
        };
        Ok(Some(if standby {
            Role::Standby
        } else {
            Role::Follower
        }))
    }

    async fn renew(
        &self,
        connection: &mut MultiplexedConnection,
        lease: &str,
    ) -> Result<bool, LinkError> {
        let script = redis::Script::new(RENEW_SCRIPT);
        let mut renew = script.key(lease);
        renew.arg(&self.gateway_id).arg(LEASE.as_millis() as u64);
        let renewed = renew.invoke_async::<i64>(connection);
        Ok(within(COMMAND_TIMEOUT, renewed).await? == 1)
    }

    async fn take(
        &self,
        connection: &mut MultiplexedConnection,
        lease: &str,
    ) -> Result<bool, LinkError> {
        let mut take = redis::cmd("SET");
        take.arg(lease)
            .arg(&self.gateway_id)
            .arg("NX")
            .arg("PX")
            .arg(LEASE.as_millis() as u64);
        let taken = take.query_async::<Option<String>>(connection);
        Ok(within(COMMAND_TIMEOUT, taken).await?.is_some())
    }

    async fn take_recorder(
        &self,
        connection: &mut MultiplexedConnection,
    ) -> Result<bool, LinkError> {
        let script = redis::Script::new(TAKE_SCRIPT);
        let mut take = script.key(&self.keys.lease);
        take.key(&self.keys.recorded_before)
            .arg(&self.gateway_id)
            .arg(LEASE.as_millis() as u64)
            .arg(u8::from(
                self.roles.get() == Role::Standby && self.roles.listening(),
            ));
        let taken = take.invoke_async::<i64>(connection);
        Ok(within(COMMAND_TIMEOUT, taken).await? == 1)
    }

    async fn release(
        &self,
        connection: &mut MultiplexedConnection,
        lease: &str,
    ) -> Result<(), LinkError> {
        let script = redis::Script::new(RELEASE_SCRIPT);
        let mut release = script.key(lease);
        release.arg(&self.gateway_id);
        within(COMMAND_TIMEOUT, release.invoke_async::<i64>(connection))
            .await
            .map(drop)
    }

    /// At shutdown: gives up what this gateway holds, so that the others
    /// need not wait for it to expire. A recorder goes on recording until
    /// another gateway has taken its lease (at most [`HANDOVER`]): a
    /// rolling restart then loses nothing even when no standby was
    /// listening at that moment (one had just been made recorder).
    pub(super) async fn hand_over(&self) {
        let role = self.roles.get();
        let lease = match role {
            Role::Follower => return,
            Role::Standby => &self.keys.standby,
            Role::Recorder => &self.keys.lease,
        };
        let work = async {
            let config = super::command_connection_config();
            let mut connection = within(CONNECT_TIMEOUT, self.endpoint.connect(&config)).await?;
            self.release(&mut connection, lease).await?;
            if role == Role::Recorder {
                self.wait_for_successor(&mut connection, lease).await?;
            }
            Ok::<_, LinkError>(())
        };
        match tokio::time::timeout(HANDOVER, work).await {
            Ok(Ok(())) if role == Role::Recorder => {
                tracing::info!("recorder lease handed over to another gateway")
            }
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "could not give the {role:?} lease up at shutdown")
            }
            Err(_) => tracing::warn!(
                "no gateway took the recorder lease over within {HANDOVER:?}; messages published from now until one does are not recorded"
            ),
        }
    }

    /// Waits until another gateway holds `lease`.
    async fn wait_for_successor(
        &self,
        connection: &mut MultiplexedConnection,
        lease: &str,
    ) -> Result<(), LinkError> {
        loop {
            let mut get = redis::cmd("GET");
            get.arg(lease);
            let holder = get.query_async::<Option<String>>(connection);
            let holder = within(COMMAND_TIMEOUT, holder).await?;
            if holder.is_some_and(|holder| holder != self.gateway_id) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Says in the logs and metrics that this gateway's role is now `role`.
    fn report_role(&self, role: Role) {
        let metrics = self.health.hub.metrics();
        let was = self.roles.get();
        if role == Role::Recorder && was != Role::Recorder {
            metrics.recorder_takeovers.inc();
            tracing::info!(gateway = %self.gateway_id, "this gateway now records the channel (recorder lease taken)");
        } else if role != Role::Recorder && was == Role::Recorder {
            tracing::warn!(gateway = %self.gateway_id, "this gateway no longer records the channel (recorder lease lost)");
        }
        metrics
            .recorder_leader
            .set(i64::from(role == Role::Recorder));
        metrics
            .recorder_standby
            .set(i64::from(role == Role::Standby));
    }

    /// Sets this gateway's role, says so in the logs and metrics, and wakes
    /// the recorder.
    pub(super) fn role_is(&self, role: Role) {
        self.report_role(role);
        // Every step, changed or not: the recorder, subscribed to the
        // channel from its connection on, unsubscribes once a step says
        // this gateway follows.
        self.roles.role.send_replace(role);
    }
}

/// Longest a stopping recorder goes on recording while it waits for
/// another gateway to take its lease over: time for a follower to take the
/// standby lease, subscribe, and take the recorder lease.
pub const HANDOVER: Duration = Duration::from_secs(5);

/// Longest a holder may go without renewing before another may take over.
pub fn takeover_bound() -> Duration {
    LEASE + RENEW
}
