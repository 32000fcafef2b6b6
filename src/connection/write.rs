//! Writing to a client: frames in batches (`feed` then one `flush`, so a
//! burst costs one syscall, not one per frame), large frames in 8 KiB
//! fragments, and a client that does not take the bytes in time treated
//! as a slow consumer.

use std::sync::atomic::Ordering::Relaxed;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message};

use super::{Socket, Step};
use crate::disconnect::Disconnect;
use crate::frames::Frame;
use crate::metrics::Metrics;

/// Frames larger than this are written in fragments of this size, so that
/// tungstenite's write buffer, which keeps the capacity of the largest
/// frame it ever held, stays this small: a 90 KB snapshot written whole
/// would leave every connection holding 90 KB for its whole life.
pub(super) const FRAGMENT_BYTES: usize = 8 * 1024;

/// Writes frames with one flush, within `limit`.
pub(super) async fn write_all<S: Socket>(
    socket: &mut S,
    batch: impl IntoIterator<Item = Frame>,
    limit: Duration,
    metrics: &Metrics,
) -> Step {
    let write = async {
        let mut count = 0u64;
        for frame in batch {
            if frame.len() <= FRAGMENT_BYTES {
                socket.feed(Message::Text(frame)).await?;
            } else {
                for fragment in fragments(frame) {
                    socket.feed(fragment).await?;
                }
            }
            count += 1;
        }
        socket.flush().await?;
        Ok::<u64, tungstenite::Error>(count)
    };
    // Most writes complete at once (the socket buffer has room): only a
    // write that has to wait gets a timer, so the common case does not
    // insert and remove a timer entry for every batch.
    let mut write = std::pin::pin!(write);
    let first_try = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
    let outcome = match first_try {
        Poll::Ready(result) => Ok(result),
        Poll::Pending => timeout(limit, write).await,
    };
    match outcome {
        Ok(Ok(count)) => {
            metrics.frames_sent.fetch_add(count, Relaxed);
            Ok(())
        }
        Ok(Err(_)) => Err(None),
        Err(_) => Err(Some(slow_consumer(metrics))),
    }
}

/// Sends a WebSocket ping, within `limit`.
pub(super) async fn ping<S: Socket>(socket: &mut S, limit: Duration, metrics: &Metrics) -> Step {
    match timeout(limit, socket.send(Message::Ping(Bytes::new()))).await {
        Ok(Ok(())) => Ok(()),
        // The connection is gone.
        Ok(Err(_)) => Err(None),
        // The client did not take the bytes in time: it is not reading.
        Err(_) => Err(Some(slow_consumer(metrics))),
    }
}

/// Counts a slow consumer and says how to close it.
pub(super) fn slow_consumer(metrics: &Metrics) -> Disconnect {
    metrics.slow_consumer_disconnects.fetch_add(1, Relaxed);
    Disconnect::slow_consumer()
}

/// A large text frame as a fragmented message (RFC 6455, section 5.4):
/// slices of the shared bytes, no copy.
fn fragments(frame: Frame) -> impl Iterator<Item = Message> {
    let bytes = Bytes::from(frame);
    let count = bytes.len().div_ceil(FRAGMENT_BYTES);
    (0..count).map(move |index| {
        let start = index * FRAGMENT_BYTES;
        let end = (start + FRAGMENT_BYTES).min(bytes.len());
        let opcode = if index == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let is_final = index + 1 == count;
        Message::Frame(tungstenite::protocol::frame::Frame::message(
            bytes.slice(start..end),
            opcode,
            is_final,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_frame_is_split_into_fragments_that_join_back_exactly() {
        let text: String = (0..3 * FRAGMENT_BYTES + 17)
            .map(|i| if i % 7 == 0 { 'é' } else { 'x' })
            .collect();
        let parts: Vec<_> = fragments(Frame::from(text.clone()))
            .map(|message| match message {
                Message::Frame(frame) => frame,
                other => panic!("a raw frame, not {other:?}"),
            })
            .collect();
        assert!(parts.len() > 3, "split into several fragments");
        assert_eq!(parts[0].header().opcode, OpCode::Data(Data::Text));
        for (index, part) in parts.iter().enumerate() {
            assert!(part.len() <= FRAGMENT_BYTES + 14, "header + one slice");
            if index > 0 {
                assert_eq!(part.header().opcode, OpCode::Data(Data::Continue));
            }
            assert_eq!(part.header().is_final, index + 1 == parts.len());
        }
        let joined: Vec<u8> = parts.iter().flat_map(|p| p.payload().to_vec()).collect();
        assert_eq!(joined, text.as_bytes());
    }
}
