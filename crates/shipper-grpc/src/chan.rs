//! A channel's receiving end as the message stream tonic takes for a streaming RPC: the
//! client's requests on its connection's `Stream` call, the server's replies on it.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tonic::codegen::tokio_stream::Stream;

/// The messages sent on `mpsc::UnboundedSender`'s other end, in order; it ends once every
/// sender is gone. (A wrapper of our own rather than `tokio-stream`'s, which this crate does
/// not depend on.)
pub(crate) struct Messages<T>(mpsc::UnboundedReceiver<T>);

impl<T> Messages<T> {
    /// A channel, and its receiving end as a stream.
    pub(crate) fn channel() -> (mpsc::UnboundedSender<T>, Self) {
        let (tx, rx) = mpsc::unbounded_channel();
        (tx, Messages(rx))
    }
}

impl<T> Stream for Messages<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_come_in_order_and_end_with_the_last_sender() {
        let (tx, mut messages) = Messages::channel();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        drop(tx);
        let mut seen = Vec::new();
        while let Some(m) = std::future::poll_fn(|cx| Pin::new(&mut messages).poll_next(cx)).await {
            seen.push(m);
        }
        assert_eq!(seen, [1, 2]);
    }
}
