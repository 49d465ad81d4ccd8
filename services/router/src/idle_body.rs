//! An upstream's response body with an idle limit. The exchange up to the response headers
//! is bounded by the upstream timeout; a body that then stops arriving must not hold the
//! client's request open for ever: when no frame comes within the limit, the stream ends
//! with an error and the connection to the client is closed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The error type of bodies the router sends.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `inner`, failing once it has been silent for `limit`.
///
/// The timer is made only when the body first has to wait: a small response is usually
/// whole in the buffer by the time its head has been read, and then needs none (making
/// and dropping one cost an allocation and a timer-wheel entry per request).
pub struct IdleTimeout<B> {
    inner: B,
    limit: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
    /// Whether `deadline` is timing the current silence (no frame since it was set).
    waiting: bool,
}

impl<B> IdleTimeout<B> {
    /// Wraps `inner`.
    pub fn new(inner: B, limit: Duration) -> Self {
        IdleTimeout {
            inner,
            limit,
            deadline: None,
            waiting: false,
        }
    }
}

impl<B> Body for IdleTimeout<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                // Progress: the silence, if one was being timed, is over.
                this.waiting = false;
                Poll::Ready(frame.map(|result| result.map_err(Into::into)))
            }
            Poll::Pending => {
                let limit = this.limit;
                if !this.waiting {
                    // A silence starts now (this poll found nothing new).
                    this.waiting = true;
                    match this.deadline.as_mut() {
                        Some(deadline) => deadline.as_mut().reset(Instant::now() + limit),
                        None => this.deadline = Some(Box::pin(tokio::time::sleep(limit))),
                    }
                }
                let deadline = this.deadline.as_mut().expect("set above");
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(format!(
                        "the upstream sent no part of its response body for {} ms",
                        limit.as_millis()
                    )
                    .into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
