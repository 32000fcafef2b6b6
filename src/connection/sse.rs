//! The same connection over Server-Sent Events, for networks whose proxies
//! do not pass WebSocket upgrades: [`SseSocket`] is a [`super::Socket`] that
//! writes each frame as an SSE event into an HTTP response body, so the
//! protocol (welcome, snapshot or resume, live frames, heartbeats, limits,
//! slow-consumer closes) is the WebSocket's, unchanged.
//!
//! - a text frame becomes `data:` lines (an event frame also gets `id:` with
//!   its event id, so `EventSource` resumes with `Last-Event-ID`); a frame
//!   written in fragments is joined back first;
//! - a ping becomes a comment (`: ping`), and since an SSE client cannot
//!   answer, the socket answers for it once the comment is handed to the
//!   body: a client that stops reading fills the bounded body channel and
//!   is closed as a slow consumer, which is how a dead SSE client shows;
//! - a close becomes `event: close` with the code and reason, then the end
//!   of the body;
//! - what one batch writes (everything fed before a flush) goes to the body
//!   as one chunk, up to [`CHUNK_BYTES`]: one hand-over, one wake-up of the
//!   response and one write to the socket per batch, as the WebSocket's
//!   batched writes do, not one per frame.
//!
//! The client sends nothing on this socket: its stream yields only the
//! answered pings, and ends when the response body is dropped (the client
//! went away).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{Sink, Stream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::PollSender;

/// Chunks of body waiting for the client: a client that reads nothing holds
/// at most this many (each a batch, up to [`CHUNK_BYTES`]) before writes
/// wait.
pub const BODY_CHUNKS: usize = 16;
/// Most bytes gathered before they are handed to the body, flush or not.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// See the module documentation.
pub struct SseSocket {
    body: PollSender<Bytes>,
    /// Resolves when the response body is dropped.
    gone: BoxFuture<'static, ()>,
    /// Pings handed to the body, to answer with pongs.
    pongs: VecDeque<()>,
    /// The fragments of a frame written in pieces.
    partial: Vec<u8>,
    /// What was written since the last chunk was handed over.
    pending: Vec<u8>,
    /// Pings in `pending`.
    pending_pings: usize,
}

impl SseSocket {
    /// A socket and the receiving end of its body, which the HTTP response
    /// streams to the client.
    pub fn new() -> (SseSocket, mpsc::Receiver<Bytes>) {
        let (sender, receiver) = mpsc::channel(BODY_CHUNKS);
        let watcher = sender.clone();
        let socket = SseSocket {
            body: PollSender::new(sender),
            gone: Box::pin(async move { watcher.closed().await }),
            pongs: VecDeque::new(),
            partial: Vec::new(),
            pending: Vec::new(),
            pending_pings: 0,
        };
        (socket, receiver)
    }

    /// The SSE text of one message, or `None` for what the client need not
    /// see (a pong, a fragment not yet complete).
    fn encode(&mut self, message: Message) -> Option<Bytes> {
        match message {
            Message::Text(text) => Some(event(text.as_str())),
            Message::Frame(frame) => {
                let is_final = frame.header().is_final;
                if frame.header().opcode == OpCode::Data(Data::Text) {
                    self.partial.clear();
                }
                self.partial.extend_from_slice(frame.payload());
                is_final.then(|| {
                    let whole = std::mem::take(&mut self.partial);
                    event(&String::from_utf8_lossy(&whole))
                })
            }
            Message::Ping(_) => {
                self.pending_pings += 1;
                Some(Bytes::from_static(b": ping\n\n"))
            }
            Message::Close(frame) => {
                let (code, reason) = frame.map_or((1000, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                let data = serde_json::json!({ "code": code, "reason": reason });
                Some(Bytes::from(format!("event: close\ndata: {data}\n\n")))
            }
            Message::Pong(_) | Message::Binary(_) => None,
        }
    }
}

/// One frame as an SSE event: its id (for event frames) and its data, one
/// `data:` line per line of the frame.
pub fn event(frame: &str) -> Bytes {
    let mut out = String::with_capacity(frame.len() + 48);
    if let Some(id) = event_id(frame) {
        out.push_str("id: ");
        out.push_str(id);
        out.push('\n');
    }
    for line in frame.split('\n') {
        out.push_str("data: ");
        out.push_str(line.trim_end_matches('\r'));
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// The id of an event frame, read from its start (frames.rs writes `type`
/// then `id` first).
fn event_id(frame: &str) -> Option<&str> {
    let rest = frame.strip_prefix(r#"{"type":"event","id":""#)?;
    rest.split('"').next()
}

fn closed() -> tungstenite::Error {
    tungstenite::Error::ConnectionClosed
}

impl SseSocket {
    /// Hands what was written since the last chunk to the body, once the
    /// body has room; the pings in it are then answered.
    fn poll_hand_over(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), tungstenite::Error>> {
        if self.pending.is_empty() {
            return Poll::Ready(Ok(()));
        }
        ready!(self.body.poll_reserve(cx)).map_err(|_| closed())?;
        let chunk = Bytes::from(std::mem::take(&mut self.pending));
        self.body.send_item(chunk).map_err(|_| closed())?;
        let answered = std::mem::take(&mut self.pending_pings);
        self.pongs.extend(std::iter::repeat_n((), answered));
        Poll::Ready(Ok(()))
    }
}

impl Sink<Message> for SseSocket {
    type Error = tungstenite::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.pending.len() >= CHUNK_BYTES {
            return self.poll_hand_over(cx);
        }
        // The client went away (or the body was closed): say so at once.
        if self.body.get_ref().is_none_or(|sender| sender.is_closed()) {
            return Poll::Ready(Err(closed()));
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(mut self: Pin<&mut Self>, message: Message) -> Result<(), Self::Error> {
        if let Some(text) = self.encode(message) {
            self.pending.extend_from_slice(&text);
        }
        Ok(())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_hand_over(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        ready!(self.poll_hand_over(cx))?;
        self.body.close();
        Poll::Ready(Ok(()))
    }
}

impl Stream for SseSocket {
    type Item = Result<Message, tungstenite::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.pongs.pop_front().is_some() {
            return Poll::Ready(Some(Ok(Message::Pong(Bytes::new()))));
        }
        match self.gone.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::{SinkExt, StreamExt};

    use super::*;

    #[test]
    fn frames_become_events_with_their_id_and_one_data_line_per_line() {
        let frame = r#"{"type":"event","id":"17-2","event":{"type":"x"}}"#;
        assert_eq!(event(frame), format!("id: 17-2\ndata: {frame}\n\n"));
        assert_eq!(event(r#"{"type":"bus"}"#), "data: {\"type\":\"bus\"}\n\n");
        assert_eq!(event("a\nb"), "data: a\ndata: b\n\n");
    }

    #[tokio::test]
    async fn pings_are_comments_answered_for_the_client_and_a_close_ends_the_body() {
        let (mut socket, mut body) = SseSocket::new();
        socket
            .send(Message::text("{\"type\":\"welcome\"}"))
            .await
            .unwrap();
        socket.send(Message::Ping(Bytes::new())).await.unwrap();
        assert_eq!(
            body.recv().await.unwrap(),
            "data: {\"type\":\"welcome\"}\n\n"
        );
        assert_eq!(body.recv().await.unwrap(), ": ping\n\n");
        assert!(matches!(socket.next().await, Some(Ok(Message::Pong(_)))));
        let close = tungstenite::protocol::CloseFrame {
            code: 4001.into(),
            reason: "slow consumer".into(),
        };
        socket.send(Message::Close(Some(close))).await.unwrap();
        let sent = body.recv().await.unwrap();
        assert!(
            sent.starts_with(b"event: close\ndata: {\"code\":4001"),
            "{sent:?}"
        );
        drop(body);
        assert!(socket.next().await.is_none(), "the client is gone");
    }

    #[tokio::test]
    async fn a_batch_goes_to_the_body_as_one_chunk() {
        let (mut socket, mut body) = SseSocket::new();
        socket.feed(Message::text("{\"a\":1}")).await.unwrap();
        socket.feed(Message::Ping(Bytes::new())).await.unwrap();
        socket.feed(Message::text("{\"b\":2}")).await.unwrap();
        assert!(body.try_recv().is_err(), "nothing before the flush");
        socket.flush().await.unwrap();
        assert_eq!(
            body.recv().await.unwrap(),
            "data: {\"a\":1}\n\n: ping\n\ndata: {\"b\":2}\n\n"
        );
        assert!(matches!(socket.next().await, Some(Ok(Message::Pong(_)))));
    }

    #[tokio::test]
    async fn a_client_that_reads_nothing_makes_writes_wait() {
        let (mut socket, _body) = SseSocket::new();
        for _ in 0..BODY_CHUNKS {
            socket.send(Message::text("{}")).await.unwrap();
        }
        let blocked = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            socket.send(Message::text("{}")),
        );
        assert!(blocked.await.is_err(), "the body channel is full");
    }
}
