//! Answers the router gives itself: always JSON, never an HTML error page.

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

/// Body of every response the router sends: its own JSON or an upstream's stream.
pub type ResponseBody = BoxBody<Bytes, crate::idle_body::BoxError>;

/// A response with `value` as its JSON body.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<ResponseBody> {
    let body = Full::new(Bytes::from(value.to_string()))
        .map_err(|never| match never {})
        .boxed();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `{"error": message}` with `status`.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response<ResponseBody> {
    json(status, &serde_json::json!({ "error": message.into() }))
}
