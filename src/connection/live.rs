//! A connection once it is open: [`Connection::run`] waits on everything
//! the connection reacts to at once, and hands each to its own method.
//!
//! Kept as small as it was as one function: the timers live on the loop's
//! stack, frames waiting in the ring are written in batches through one
//! reused `Vec`, a connection whose principal sees everything skips the
//! per-frame check, the shutdown future is made once, and the revocation
//! list is polled only when one is configured.

use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::broadcast::{
    self,
    error::{RecvError, TryRecvError},
};
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite::{self, Message};

use super::write::{self, write_all};
use super::{ConnectionContext, Ending, Socket, Step};
use crate::admission::{Counted, TokenBucket};
use crate::auth::Principal;
use crate::disconnect::Disconnect;
use crate::frames::{self, ClientFrame, Frame, Outbound};
use crate::metrics::Metrics;
use crate::revocation::{self, RevocationList};

/// Most bytes of frames written in one batch (one more frame may pass it):
/// what one connection can hold in its write buffer while the socket drains,
/// whatever the size of the events.
const BATCH_BYTES: usize = 512 * 1024;
/// Most frames read in one batch by a client that is behind (more than a
/// full batch waiting).
const CONFLATE_WINDOW: usize = 1024;

/// Drops from `batch` every progress frame that a later frame of the batch
/// with the same conflation key supersedes (each frame carries its stage's
/// whole state); returns how many. Frames with key 0 are never dropped.
pub(crate) fn conflate(batch: &mut Vec<(Frame, u64)>) -> usize {
    let mut newer = std::collections::HashSet::new();
    let mut keep: Vec<bool> = vec![true; batch.len()];
    for (index, (_, key)) in batch.iter().enumerate().rev() {
        if *key != 0 && !newer.insert(*key) {
            keep[index] = false;
        }
    }
    let before = batch.len();
    let mut flags = keep.into_iter();
    batch.retain(|_| flags.next().unwrap_or(true));
    before - batch.len()
}

/// The client's places under the per-IP and per-user limits, released
/// when the connection ends.
pub(super) struct Slots {
    pub(super) _ip: Counted,
    pub(super) _user: Option<Counted>,
}

/// One client's protocol state once it is open.
pub struct Connection<'a, S> {
    socket: S,
    ctx: &'a ConnectionContext,
    /// Who the client is; a renewal replaces it.
    principal: Principal,
    /// Whether the principal sees every frame: checked once per principal,
    /// not per frame (with authentication off every client does).
    sees_everything: bool,
    /// The hub's frames, after the start the client was sent.
    frames: broadcast::Receiver<Outbound>,
    /// Reused for every batch: no allocation per wake-up once it has grown
    /// (and none at all for a connection that never receives anything).
    /// Each frame with its conflation key ([`Outbound::conflate`]).
    batch: Vec<(Frame, u64)>,
    /// The client's message rate.
    bucket: TokenBucket,
    /// When the client last sent anything (a pong counts).
    last_heard: Instant,
    /// The revocation list's generation this connection last checked.
    revocations_seen: u64,
    _slots: Slots,
}

impl<'a, S: Socket> Connection<'a, S> {
    pub(super) fn new(
        socket: S,
        ctx: &'a ConnectionContext,
        principal: Principal,
        frames: broadcast::Receiver<Outbound>,
        slots: Slots,
    ) -> Self {
        let admission = &ctx.admission;
        let revocations_seen = revocations(ctx).map_or(0, |list| list.generation());
        Connection {
            socket,
            ctx,
            sees_everything: principal.is_admin(),
            principal,
            frames,
            batch: Vec::new(),
            bucket: TokenBucket::new(admission.messages_per_second, admission.message_burst),
            last_heard: Instant::now(),
            revocations_seen,
            _slots: slots,
        }
    }

    /// Serves the client until something ends the connection.
    pub async fn run(&mut self) -> Ending {
        let ctx = self.ctx;
        let heartbeat_every = ctx.config.heartbeat;
        let expiry = tokio::time::sleep_until(expiry_instant(&self.principal));
        tokio::pin!(expiry);
        // Made once: a fresh `cancelled()` per wake-up would register and
        // unregister a waiter on the shared token every time.
        let shutdown = ctx.shutdown.cancelled();
        tokio::pin!(shutdown);
        // A timer (and its allocation) only where a list is configured.
        let mut revocation_check = revocations(ctx).map(|_| {
            tokio::time::interval_at(
                Instant::now() + revocation::POLL_INTERVAL,
                revocation::POLL_INTERVAL,
            )
        });
        let mut heartbeat =
            tokio::time::interval_at(Instant::now() + heartbeat_every, heartbeat_every);
        loop {
            let step = tokio::select! {
                biased;
                _ = &mut shutdown => self.on_shutdown(),
                _ = &mut expiry => self.on_expiry(),
                () = tick(&mut revocation_check) => self.on_revocation_check(),
                received = self.frames.recv() => self.on_hub_frame(received).await,
                incoming = self.socket.next() => self.on_client_message(incoming, expiry.as_mut()).await,
                _ = heartbeat.tick() => self.on_heartbeat().await,
            };
            if let Err(ending) = step {
                return ending;
            }
        }
    }

    /// The gateway is shutting down.
    fn on_shutdown(&self) -> Step {
        Err(Some(Disconnect::shutdown()))
    }

    /// The client's token ran out without renewal.
    fn on_expiry(&self) -> Step {
        self.metrics().token_expiries.inc();
        Err(Some(Disconnect::token_expired()))
    }

    /// Checks the token against the revocation list when the list changed.
    fn on_revocation_check(&mut self) -> Step {
        let Some(list) = revocations(self.ctx) else {
            return Ok(());
        };
        let generation = list.generation();
        if generation == self.revocations_seen {
            return Ok(());
        }
        self.revocations_seen = generation;
        if list.is_revoked(&self.principal.sub, self.principal.token_id.as_deref()) {
            self.metrics().auth_failures.inc();
            return Err(Some(Disconnect::token_revoked()));
        }
        Ok(())
    }

    /// Writes the hub's frame, with every other frame already waiting in
    /// the ring (up to `max_batch`), in one batch: those the client may see.
    /// A client with more than a full batch waiting is behind: it reads up
    /// to [`CONFLATE_WINDOW`] frames and skips the progress frames a newer
    /// one of the same stage supersedes ([`conflate`]); state transitions
    /// are always written.
    async fn on_hub_frame(&mut self, received: Result<Outbound, RecvError>) -> Step {
        let first = match received {
            Ok(item) => item,
            Err(RecvError::Lagged(_)) => return Err(Some(write::slow_consumer(self.metrics()))),
            Err(RecvError::Closed) => return Err(Some(Disconnect::shutdown())),
        };
        let oldest = first.relayed_at;
        self.batch.clear();
        if self.sees(&first) {
            self.batch.push((first.frame, first.conflate));
        }
        let behind = self.read_waiting()?;
        if behind {
            let skipped = conflate(&mut self.batch);
            self.metrics().frames_conflated.inc_by(skipped as u64);
        }
        if self.batch.is_empty() {
            return Ok(());
        }
        let ctx = self.ctx;
        let metrics = ctx.hub.metrics();
        let limit = ctx.config.write_timeout;
        let frames = self.batch.drain(..).map(|(frame, _)| frame);
        write_all(&mut self.socket, frames, limit, metrics).await?;
        metrics
            .delivery_latency
            .observe(oldest.elapsed().as_secs_f64());
        Ok(())
    }

    /// Adds the frames waiting in the ring to the batch: up to `max_batch`,
    /// or, when more than that are waiting, up to [`CONFLATE_WINDOW`]. True
    /// when the client is behind (it read past a full batch).
    fn read_waiting(&mut self) -> Result<bool, Option<Disconnect>> {
        let (mut limit, mut behind) = (self.ctx.config.max_batch, false);
        let mut bytes: usize = self.batch.iter().map(|(frame, _)| frame.len()).sum();
        loop {
            if bytes >= BATCH_BYTES {
                return Ok(behind);
            }
            if self.batch.len() >= limit {
                if behind {
                    return Ok(true);
                }
                (limit, behind) = (CONFLATE_WINDOW, true);
            }
            match self.frames.try_recv() {
                Ok(item) if self.sees(&item) => {
                    bytes += item.frame.len();
                    self.batch.push((item.frame, item.conflate));
                }
                Ok(_) => {}
                Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => {
                    return Ok(behind && self.batch.len() > self.ctx.config.max_batch);
                }
                Err(TryRecvError::Lagged(_)) => {
                    return Err(Some(write::slow_consumer(self.metrics())));
                }
            }
        }
    }

    /// Answers a client frame: a `pong` for a ping, `authenticated` for a
    /// renewal, an `error` for a frame not understood.
    async fn on_client_message(
        &mut self,
        incoming: Option<Result<Message, tungstenite::Error>>,
        expiry: Pin<&mut Sleep>,
    ) -> Step {
        self.last_heard = Instant::now();
        let text = match incoming {
            None => return Err(None),
            Some(Err(err)) => return Err(Disconnect::after_read_error(&err)),
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                self.metrics().client_frames_rejected.inc();
                return Err(Some(Disconnect::binary_frame()));
            }
            // tungstenite answers a ping itself, but each costs a pong: pings
            // count against the message rate like any other frame.
            Some(Ok(Message::Ping(_))) => return self.charge(),
            // A pong just proves life.
            Some(Ok(Message::Pong(_) | Message::Frame(_))) => return Ok(()),
            // tungstenite replies to the close handshake itself.
            Some(Ok(Message::Close(_))) => return Err(None),
        };
        self.charge()?;
        let reply = match frames::parse_client_frame(text.as_str()) {
            Ok(ClientFrame::Ping { nonce }) => frames::pong_frame(nonce),
            Ok(ClientFrame::Auth { token }) => match self.renew(&token, expiry).await? {
                Some(authenticated) => authenticated,
                // Authentication is off: nothing to renew.
                None => return Ok(()),
            },
            Err(message) => {
                self.metrics().client_frames_rejected.inc();
                frames::error_frame("bad_frame", &message)
            }
        };
        let ctx = self.ctx;
        let limit = ctx.config.write_timeout;
        write_all(&mut self.socket, [reply], limit, ctx.hub.metrics()).await
    }

    /// Takes one frame's worth from the client's message rate, or closes
    /// the connection when it is spent.
    fn charge(&mut self) -> Step {
        if self.bucket.allow() {
            return Ok(());
        }
        self.metrics().rate_limited.inc();
        Err(Some(Disconnect::rate_limited()))
    }

    /// Takes a renewed token for the same user and tenant, and moves the
    /// expiry to its own. `None` when authentication is off.
    async fn renew(&mut self, token: &str, expiry: Pin<&mut Sleep>) -> Step<Option<Frame>> {
        let Some(verifier) = &self.ctx.verifier else {
            return Ok(None);
        };
        let renewed = verifier.verify(token).await.map_err(|err| {
            self.metrics().auth_failures.inc();
            Some(Disconnect::token_refused(&err))
        })?;
        if renewed.sub != self.principal.sub || renewed.tenant != self.principal.tenant {
            self.metrics().auth_failures.inc();
            return Err(Some(Disconnect::renewal_for_another_user()));
        }
        self.principal = renewed;
        self.sees_everything = self.principal.is_admin();
        expiry.reset(expiry_instant(&self.principal));
        Ok(Some(frames::authenticated_frame(&self.principal)))
    }

    /// Drops a client silent for two heartbeats, else pings it.
    async fn on_heartbeat(&mut self) -> Step {
        let config = &self.ctx.config;
        if self.last_heard.elapsed() >= config.heartbeat * 2 {
            self.metrics().heartbeat_timeouts.inc();
            return Err(Some(Disconnect::heartbeat_timeout()));
        }
        let metrics = self.ctx.hub.metrics();
        write::ping(&mut self.socket, config.write_timeout, metrics).await
    }

    fn sees(&self, item: &Outbound) -> bool {
        self.sees_everything || self.principal.sees(&item.scope)
    }

    fn metrics(&self) -> &'a Metrics {
        self.ctx.hub.metrics()
    }
}

/// The next tick of `interval`; never without one.
async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(interval) => drop(interval.tick().await),
        None => std::future::pending().await,
    }
}

/// The revocation list, when one is configured.
fn revocations(ctx: &ConnectionContext) -> Option<&std::sync::Arc<RevocationList>> {
    ctx.verifier
        .as_ref()
        .and_then(|verifier| verifier.revocations())
}

/// When the principal's token runs out (far away for the anonymous one).
fn expiry_instant(principal: &Principal) -> Instant {
    let Some(expires_at) = principal.expires_at else {
        return Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
    };
    let left_ms = (expires_at * 1000 - crate::clock::now_ms()).max(0);
    Instant::now() + Duration::from_millis(left_ms as u64)
}

#[cfg(test)]
mod conflation {
    use super::*;

    #[test]
    fn only_superseded_progress_frames_are_skipped() {
        let frame = |text: &str| Frame::from(text.to_owned());
        let mut batch = vec![
            (frame("start"), 0),
            (frame("a 10%"), 7),
            (frame("b 10%"), 9),
            (frame("a 20%"), 7),
            (frame("complete b"), 0),
            (frame("a 30%"), 7),
        ];
        assert_eq!(conflate(&mut batch), 2);
        let kept: Vec<&str> = batch.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(kept, ["start", "b 10%", "complete b", "a 30%"]);
    }
}
