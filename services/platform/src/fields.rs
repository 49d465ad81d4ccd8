//! Request fields: clients send form-encoded bodies (the contract's `http --form`), and a
//! JSON object is accepted as well. Missing fields are the handler's business (each has
//! its own 422 message), so this only collects what was sent.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};

use crate::reply::ApiError;

/// The fields of a request body, by name. Values that are not strings in a JSON body
/// (numbers, booleans) are kept in their JSON text form, so `{"amount": 2000}` works.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(pub HashMap<String, String>);

impl Fields {
    /// The field's value when present and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// The field's value exactly as sent (not trimmed), when it is not blank: for values
    /// where spaces count, such as a password.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.get(name)?;
        self.0.get(name).map(String::as_str)
    }

    /// Fields from name-value pairs, as tests give them.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Fields(
            pairs
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        )
    }

    /// Parses a body of the given content type.
    pub fn parse(content_type: &str, body: &[u8]) -> Result<Self, ApiError> {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match mime.as_str() {
            "application/json" => Self::from_json(body),
            // An empty body with no type is a form with no fields: the handler then says
            // which field is blank, as the reference did.
            "application/x-www-form-urlencoded" | "" => Self::from_form(body),
            other => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Unsupported content type `{other}`: send application/x-www-form-urlencoded or application/json"
                ),
            )),
        }
    }

    fn from_form(body: &[u8]) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(body)?;
        Ok(Fields(pairs.into_iter().collect()))
    }

    fn from_json(body: &[u8]) -> Result<Self, ApiError> {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("Invalid JSON body: {error}"),
            )
        })?;
        let serde_json::Value::Object(object) = value else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "Invalid JSON body: expected an object",
            ));
        };
        let fields = object
            .into_iter()
            .filter_map(|(name, value)| {
                let text = match value {
                    serde_json::Value::String(text) => text,
                    serde_json::Value::Null => return None,
                    other => other.to_string(),
                };
                Some((name, text))
            })
            .collect();
        Ok(Fields(fields))
    }
}

fn serde_urlencoded_pairs(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_bytes(body).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid form body: {error}"),
        )
    })
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|error| ApiError::new(error.status(), error.body_text()))?;
        Fields::parse(&content_type, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields expected, or the error status.
    type Expected = Result<&'static [(&'static str, &'static str)], u16>;

    #[test]
    fn parses_by_content_type() {
        let cases: &[(&str, &str, Expected)] = &[
            (
                "application/x-www-form-urlencoded",
                "username=alice&password=p%40ss",
                Ok(&[("username", "alice"), ("password", "p@ss")]),
            ),
            (
                "application/x-www-form-urlencoded; charset=utf-8",
                "a=1",
                Ok(&[("a", "1")]),
            ),
            ("", "", Ok(&[])),
            (
                "application/json",
                r#"{"amount": 2000, "currency": "GBP", "x": null}"#,
                Ok(&[("amount", "2000"), ("currency", "GBP")]),
            ),
            ("application/json", "[1]", Err(400)),
            ("application/json", "{", Err(400)),
            ("text/plain", "hello", Err(415)),
        ];
        for (content_type, body, expected) in cases {
            let got = Fields::parse(content_type, body.as_bytes());
            match expected {
                Ok(pairs) => {
                    let want: HashMap<String, String> = pairs
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    assert_eq!(got, Ok(Fields(want)), "{content_type} {body}");
                }
                Err(status) => assert_eq!(
                    got.unwrap_err().status.as_u16(),
                    *status,
                    "{content_type} {body}"
                ),
            }
        }
    }

    #[test]
    fn blank_values_count_as_missing() {
        let fields = Fields::parse("", b"username=%20&password=x").unwrap();
        assert_eq!(fields.get("username"), None);
        assert_eq!(fields.get("password"), Some("x"));
        assert_eq!(fields.get("absent"), None);
    }

    #[test]
    fn raw_values_keep_their_spaces() {
        let fields = Fields::parse("", b"a=%20x%20&b=%20").unwrap();
        assert_eq!(fields.get("a"), Some("x"));
        assert_eq!(fields.raw("a"), Some(" x "));
        assert_eq!(fields.raw("b"), None);
        assert_eq!(fields.raw("absent"), None);
    }
}
