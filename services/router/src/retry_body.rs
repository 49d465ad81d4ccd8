//! A request body that can be handed to a second connection attempt as long as the
//! first one never read from it.
//!
//! The body streams straight from the client to the upstream (it is never buffered). The
//! HTTP client only starts reading a body once its connection is up, so when connecting
//! to one replica fails, the body is still untouched in its slot and the request can go to
//! another replica. Once any attempt has read from it, there is no going back.

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

/// Error type of [`AttemptBody`]: the client's body error, or a misuse of the slot.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// The client's body, waiting to be read by one connection attempt.
#[derive(Debug)]
pub struct RetryBody {
    /// The client's body until an attempt takes it. Attempts borrow it: the router's own
    /// HTTP client sends within the request's task, so no shared ownership is needed.
    slot: Mutex<Option<Incoming>>,
    size_hint: SizeHint,
    is_end_stream: bool,
}

/// The body given to one attempt; it takes the client's body on its first read.
#[derive(Debug)]
pub struct AttemptBody<'a> {
    slot: &'a Mutex<Option<Incoming>>,
    taken: Option<Incoming>,
    size_hint: SizeHint,
    is_end_stream: bool,
}

impl RetryBody {
    /// Holds `body` until an attempt reads it.
    pub fn new(body: Incoming) -> Self {
        RetryBody {
            size_hint: body.size_hint(),
            is_end_stream: body.is_end_stream(),
            slot: Mutex::new(Some(body)),
        }
    }

    /// Whether the client sent no body at all.
    pub fn is_end_stream(&self) -> bool {
        self.is_end_stream
    }

    /// Whether no attempt has read from the client's body yet.
    pub fn is_untouched(&self) -> bool {
        self.is_end_stream || lock(&self.slot).is_some()
    }

    /// A body for one more attempt, or `None` if an earlier attempt already read from the
    /// client's body (then another attempt could not send it whole).
    pub fn attempt(&self) -> Option<AttemptBody<'_>> {
        self.is_untouched().then(|| AttemptBody {
            slot: &self.slot,
            taken: None,
            size_hint: self.size_hint,
            is_end_stream: self.is_end_stream,
        })
    }
}

impl Body for AttemptBody<'_> {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if self.taken.is_none() {
            let taken = lock(self.slot).take();
            match taken {
                Some(body) => self.taken = Some(body),
                None if self.is_end_stream => return Poll::Ready(None),
                None => {
                    return Poll::Ready(Some(Err(
                        "request body was already read by an earlier attempt".into(),
                    )));
                }
            }
        }
        let body = self.taken.as_mut().expect("taken just above");
        Pin::new(body)
            .poll_frame(cx)
            .map(|frame| frame.map(|result| result.map_err(BodyError::from)))
    }

    fn is_end_stream(&self) -> bool {
        match &self.taken {
            Some(body) => body.is_end_stream(),
            None => self.is_end_stream,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.taken {
            Some(body) => body.size_hint(),
            None => self.size_hint,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
