//! The body of every response the router sends: one of its own (JSON), or an upstream's,
//! streamed. An enum rather than a boxed trait object: boxing cost an allocation and an
//! indirect call per poll, for every proxied request.

use crate::idle_body::{BoxError, IdleTimeout};
use crate::upstream_http1::UpstreamBody;
use http_body_util::Full;
use hyper::body::{Body, Bytes, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A response body of the router.
pub enum ResponseBody {
    /// An answer of the router's own, whole.
    Own(Full<Bytes>),
    /// An upstream's body, with the idle limit.
    Upstream(IdleTimeout<UpstreamBody>),
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            ResponseBody::Own(body) => Pin::new(body)
                .poll_frame(cx)
                .map(|frame| frame.map(|result| result.map_err(|never| match never {}))),
            ResponseBody::Upstream(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Own(body) => body.is_end_stream(),
            ResponseBody::Upstream(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Own(body) => body.size_hint(),
            ResponseBody::Upstream(body) => body.size_hint(),
        }
    }
}
