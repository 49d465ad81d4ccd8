//! The body of every response the router sends: one of its own (JSON), or an upstream's,
//! streamed. http-body-util's `Either` rather than a boxed trait object: boxing cost an
//! allocation and an indirect call per poll, for every proxied request.

use crate::idle_body::IdleTimeout;
use crate::upstream_http1::UpstreamBody;
use http_body_util::{Either, Full};
use hyper::body::Bytes;

/// A response body of the router: `Left`, an answer of its own, whole; `Right`, an
/// upstream's body, with the idle limit.
pub type ResponseBody = Either<Full<Bytes>, IdleTimeout<UpstreamBody>>;
