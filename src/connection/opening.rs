//! A connection's opening: everything between the upgrade and the first
//! live frame, in order. Nothing but the welcome goes out before the client
//! is authenticated; what comes out is a [`Connection`] that knows who its
//! client is.

use std::net::IpAddr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::live::{Connection, Slots};
use super::write::write_all;
use super::{Admission, ConnectionContext, Socket, Step};
use crate::admission::Counted;
use crate::auth::{Principal, Verifier};
use crate::disconnect::Disconnect;
use crate::frames::{self, BusKind, ClientFrame, Outbound};
use crate::hub::{Start, Subscription};

/// Protocol pings a client may send before its `auth` frame (each is
/// answered with a pong); one more closes the connection.
const MAX_PINGS_BEFORE_AUTH: u32 = 3;
/// Longest a new client waits for the history to be loaded at start-up.
const HISTORY_WAIT: Duration = Duration::from_secs(5);
/// Longest wait for this gateway to relay the event a resuming client last
/// saw on another gateway.
const AHEAD_WAIT: Duration = Duration::from_secs(1);

/// A client between the upgrade and its first live frame.
pub(super) struct Opening<'a, S> {
    socket: S,
    ctx: &'a ConnectionContext,
    session: &'a str,
}

impl<'a, S: Socket> Opening<'a, S> {
    pub(super) fn new(socket: S, ctx: &'a ConnectionContext, session: &'a str) -> Self {
        Opening {
            socket,
            ctx,
            session,
        }
    }

    /// The phases in order; the connection they open, or how it ended.
    pub(super) async fn run(mut self, admission: Admission) -> Step<Connection<'a, S>> {
        let Admission {
            principal,
            resume_from,
            ip_slot,
            peer,
        } = admission;
        self.greet().await?;
        let principal = self.authenticate(principal, peer).await?;
        self.wait_for_history(resume_from.as_deref()).await?;
        let user_slot = self.admit_user(&principal)?;
        let frames = self.subscribe(&principal, resume_from.as_deref()).await?;
        let slots = Slots {
            _ip: ip_slot,
            _user: user_slot,
        };
        Ok(Connection::new(
            self.socket,
            self.ctx,
            principal,
            frames,
            slots,
        ))
    }

    /// Sends the `welcome`.
    async fn greet(&mut self) -> Step {
        let config = &self.ctx.config;
        let welcome = frames::welcome_frame(
            self.session,
            config.heartbeat.as_millis() as u64,
            config.max_client_frame_bytes,
            self.ctx.verifier.is_some(),
        );
        self.write([welcome]).await
    }

    /// The client's principal: from the upgrade's `Authorization` header,
    /// from its `auth` frame, or the anonymous one when authentication is
    /// off.
    async fn authenticate(
        &mut self,
        from_header: Option<Principal>,
        peer: IpAddr,
    ) -> Step<Principal> {
        match (from_header, &self.ctx.verifier) {
            (Some(principal), _) => Ok(principal),
            (None, None) => Ok(Principal::anonymous()),
            (None, Some(verifier)) => self.receive_auth(verifier, peer).await,
        }
    }

    /// Waits for the browser's `auth` frame. Anything else first is refused,
    /// and so is an address that failed too often; before the `auth` frame
    /// the client may send only a few pings.
    async fn receive_auth(&mut self, verifier: &Verifier, peer: IpAddr) -> Step<Principal> {
        let metrics = self.ctx.hub.metrics();
        let deadline = Instant::now() + self.ctx.admission.auth_timeout;
        let mut pings = 0;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => {
                    metrics.auth_failures.inc();
                    return Err(Some(Disconnect::auth_timeout()));
                }
                Ok(None) => return Err(None),
                Ok(Some(Err(err))) => return Err(Disconnect::after_read_error(&err)),
                Ok(Some(Ok(message))) => message,
            };
            match message {
                Message::Text(text) => {
                    let Ok(ClientFrame::Auth { token }) = frames::parse_client_frame(text.as_str())
                    else {
                        metrics.auth_failures.inc();
                        return Err(Some(Disconnect::auth_first()));
                    };
                    let throttle = &self.ctx.throttle;
                    return throttle
                        .verify(verifier, &token, peer, metrics)
                        .await
                        .map_err(|err| Some(Disconnect::token_refused(&err)));
                }
                Message::Binary(_) => return Err(Some(Disconnect::binary_frame())),
                Message::Ping(_) => {
                    pings += 1;
                    if pings > MAX_PINGS_BEFORE_AUTH {
                        metrics.rate_limited.inc();
                        return Err(Some(Disconnect::auth_first()));
                    }
                }
                Message::Pong(_) | Message::Frame(_) => {}
                Message::Close(_) => return Err(None),
            }
        }
    }

    /// Right after a gateway starts, its history may still be loading from
    /// Redis: waits for it rather than answer a resume from an empty one.
    /// On Redis, a client coming from another gateway may have seen an
    /// event this one has not relayed yet: waits a moment for it rather
    /// than refuse the resume. (On the in-process bus no other gateway
    /// gives out ids.)
    async fn wait_for_history(&mut self, resume_from: Option<&str>) -> Step {
        let hub = &self.ctx.hub;
        if !hub.wait_for_history(HISTORY_WAIT).await && resume_from.is_some() {
            return Err(Some(Disconnect::history_loading()));
        }
        if let Some(id) = resume_from.and_then(|id| id.parse().ok())
            && hub.bus_state().kind == BusKind::Redis
        {
            hub.wait_until_relayed(id, AHEAD_WAIT).await;
        }
        Ok(())
    }

    /// The user's place under the per-user limit (none without
    /// authentication: every client is the same anonymous user).
    fn admit_user(&self, principal: &Principal) -> Step<Option<Counted>> {
        if self.ctx.verifier.is_none() {
            return Ok(None);
        }
        match self.ctx.per_user.admit(&principal.sub) {
            Some(slot) => Ok(Some(slot)),
            None => {
                self.ctx.hub.metrics().limit_refusals.inc();
                Err(Some(Disconnect::too_many_connections()))
            }
        }
    }

    /// Subscribes to the hub and sends the start: `authenticated` (with
    /// authentication on), then the snapshot, or `resumed` and the events
    /// the client missed. Returns the live stream that follows.
    async fn subscribe(
        &mut self,
        principal: &Principal,
        resume_from: Option<&str>,
    ) -> Step<broadcast::Receiver<Outbound>> {
        let Subscription { start, frames } = self.ctx.hub.subscribe(principal, resume_from);
        let mut greeting = Vec::new();
        if self.ctx.verifier.is_some() {
            greeting.push(frames::authenticated_frame(principal));
        }
        let metrics = self.ctx.hub.metrics();
        match start {
            Start::Snapshot {
                frame,
                resume_failed,
            } => {
                metrics.snapshots.inc();
                if let Some(id) = resume_failed {
                    metrics.resume_failures.inc();
                    let session = self.session;
                    tracing::debug!(%session, last_id = %id, "cannot resume: sending a snapshot");
                }
                greeting.push(frame);
            }
            Start::Resumed {
                resumed,
                missed,
                replayed,
            } => {
                metrics.resumes.inc();
                metrics.events_replayed.inc_by(replayed as u64);
                greeting.push(resumed);
                greeting.extend(missed);
            }
        }
        self.write(greeting).await?;
        Ok(frames)
    }

    async fn write(&mut self, batch: impl IntoIterator<Item = frames::Frame>) -> Step {
        let ctx = self.ctx;
        write_all(
            &mut self.socket,
            batch,
            ctx.config.write_timeout,
            ctx.hub.metrics(),
        )
        .await
    }
}
