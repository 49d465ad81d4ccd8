//! Answers the router gives itself: always JSON, never an HTML error page.

use crate::response_body::ResponseBody;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

/// A response with `value` as its JSON body.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<ResponseBody> {
    let body = Full::new(Bytes::from(value.to_string()));
    let mut response = Response::new(ResponseBody::Left(body));
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
