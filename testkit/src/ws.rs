//! A small WebSocket client for tests: reads the gateway's JSON frames one
//! at a time, each read under a timeout, and tells a frame, a close and a
//! silence apart.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client reading JSON frames.
pub struct Client {
    pub socket: Socket,
}

/// What the next read brought.
#[derive(Debug)]
pub enum Next {
    Frame(Value),
    Closed(Option<CloseFrame>),
    TimedOut,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        Client { socket }
    }

    /// Connects and reads the welcome and snapshot frames.
    pub async fn connect_ready(url: &str) -> (Client, Value) {
        let mut client = Client::connect(url).await;
        let welcome = client.expect_frame().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        let snapshot = client.expect_frame().await;
        assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
        (client, snapshot)
    }

    /// The next text frame, parsed, or how the read ended.
    pub async fn next(&mut self, limit: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let read = tokio::time::timeout_at(deadline, self.socket.next()).await;
            match read {
                Err(_) => return Next::TimedOut,
                Ok(None) => return Next::Closed(None),
                Ok(Some(Err(_))) => return Next::Closed(None),
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Next::Frame(
                        serde_json::from_str(text.as_str()).expect("server frame is JSON"),
                    );
                }
                Ok(Some(Ok(Message::Close(frame)))) => return Next::Closed(frame),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next frame, within 10 s.
    pub async fn expect_frame(&mut self) -> Value {
        match self.next(Duration::from_secs(10)).await {
            Next::Frame(frame) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame of type `kind`, skipping others.
    pub async fn expect_type(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.expect_frame().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Reads until the connection closes; returns the close code.
    pub async fn expect_close(&mut self, limit: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Next::Frame(_) => continue,
                Next::Closed(frame) => return frame.map(|f| u16::from(f.code)),
                Next::TimedOut => panic!("connection still open after {limit:?}"),
            }
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::text(text)).await.unwrap();
    }
}
