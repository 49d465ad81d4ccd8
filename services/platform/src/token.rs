//! The customer token: an HS256 JWT with the claims `user_id`, `username`, `can_transact`
//! and `exp`. auth-api issues it; transaction-api and loyalty-worker check it. Any HS256
//! implementation holding the same secret must accept it, so only standard JWT is used.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The claims of a customer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id in the user database.
    pub user_id: i64,
    /// The user's name.
    pub username: String,
    /// Whether the user may make transactions.
    pub can_transact: bool,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// Why a token was refused; the message is what clients see in `{"error": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three dot-separated parts.
    #[error("Not enough segments")]
    Malformed,
    /// A part is not valid base64 or JSON.
    #[error("Invalid token: {0}")]
    Undecodable(String),
    /// The signature does not match the secret.
    #[error("Signature verification failed")]
    BadSignature,
    /// `exp` is in the past.
    #[error("Signature has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("The token is not yet valid (nbf)")]
    NotYetValid,
    /// The header names another algorithm than HS256 (including `none`).
    #[error("The specified alg value is not allowed")]
    WrongAlgorithm,
    /// A claim is missing or has the wrong type.
    #[error("Invalid claims: {0}")]
    BadClaims(String),
}

/// The shared HS256 secret, ready to sign and check tokens.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret, not even in a debug log.
        f.write_str("Keys(..)")
    }
}

impl Keys {
    /// Keys for `secret`; `None` when it is empty.
    pub fn new(secret: &str) -> Option<Self> {
        Some(Keys {
            encoding: EncodingKey::from_secret(secret.as_bytes()).ok()?,
            decoding: DecodingKey::from_secret(secret.as_bytes()).ok()?,
        })
    }

    /// Signs `claims` with HS256.
    pub fn issue(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            // HMAC signing of a plain struct has no way to fail.
            .expect("HS256 signing never fails")
    }

    /// Checks the token's shape, algorithm, signature, expiry and claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        if token.split('.').count() != 3 {
            return Err(TokenError::Malformed);
        }
        // Look at the header first: a token naming another algorithm (or `none`) is refused
        // as such, before any signature check, whatever the library would make of it.
        if header_algorithm(token)? != "HS256" {
            return Err(TokenError::WrongAlgorithm);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        // A token not valid yet is refused, as PyJWT (the reference) does.
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    TokenError::WrongAlgorithm
                }
                ErrorKind::MissingRequiredClaim(claim) => {
                    TokenError::BadClaims(format!("missing claim `{claim}`"))
                }
                ErrorKind::Json(error) => {
                    // serde's "at line 1 column 52" means nothing to a client of a token.
                    let message = error.to_string();
                    let reason = message.split(" at line ").next().unwrap_or_default();
                    TokenError::BadClaims(reason.to_owned())
                }
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidToken => TokenError::Undecodable("unsupported header".into()),
                _ => TokenError::Undecodable(error.to_string()),
            })
    }
}

/// Seconds since the Unix epoch, as in `exp`.
pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn header_algorithm(token: &str) -> Result<String, TokenError> {
    use base64::Engine;
    let header = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|error| TokenError::Undecodable(format!("header: {error}")))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|error| TokenError::Undecodable(format!("header: {error}")))?;
    Ok(value
        .get("alg")
        .and_then(|alg| alg.as_str())
        .unwrap_or_default()
        .to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    const SECRET: &str = "test-secret";

    fn issue(claims: &Claims, secret: &str) -> String {
        Keys::new(secret).unwrap().issue(claims)
    }

    fn verify(token: &str, secret: &str) -> Result<Claims, TokenError> {
        Keys::new(secret).unwrap().verify(token)
    }

    fn alice(exp: u64) -> Claims {
        Claims {
            user_id: 1,
            username: "alice".into(),
            can_transact: true,
            exp,
        }
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A token with the given header and claims, signed with HS256 by hand.
    fn forged(header: &str, claims: &str, secret: &str) -> String {
        use hmac::{Hmac, Mac};
        let signing_input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(signing_input.as_bytes());
        format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()))
    }

    #[test]
    fn empty_secret_gives_no_keys() {
        assert!(Keys::new("").is_none());
    }

    #[test]
    fn issued_token_round_trips() {
        let claims = alice(now() + 30);
        assert_eq!(verify(&issue(&claims, SECRET), SECRET), Ok(claims));
    }

    #[test]
    fn issued_header_is_standard() {
        let token = issue(&alice(now() + 30), SECRET);
        let header = token.split('.').next().unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value, serde_json::json!({"typ": "JWT", "alg": "HS256"}));
    }

    #[test]
    fn hand_signed_hs256_is_accepted() {
        // Interoperability: a token made without jsonwebtoken, as another team would.
        let claims = format!(
            r#"{{"user_id":2,"username":"bob","can_transact":true,"exp":{}}}"#,
            now() + 30
        );
        let token = forged(r#"{"alg":"HS256","typ":"JWT"}"#, &claims, SECRET);
        assert_eq!(verify(&token, SECRET).unwrap().username, "bob");
    }

    #[test]
    fn refusals() {
        let good_claims = format!(
            r#"{{"user_id":1,"username":"alice","can_transact":true,"exp":{}}}"#,
            now() + 30
        );
        let cases: Vec<(&str, String, TokenError)> = vec![
            ("empty", String::new(), TokenError::Malformed),
            ("two segments", "abc.def".into(), TokenError::Malformed),
            (
                "wrong secret",
                issue(&alice(now() + 30), "other"),
                TokenError::BadSignature,
            ),
            (
                "expired",
                issue(&alice(now() - 5), SECRET),
                TokenError::Expired,
            ),
            (
                "alg none",
                format!(
                    "{}.{}.",
                    b64(br#"{"alg":"none","typ":"JWT"}"#),
                    b64(good_claims.as_bytes())
                ),
                TokenError::WrongAlgorithm,
            ),
            (
                "alg HS512",
                forged(r#"{"alg":"HS512","typ":"JWT"}"#, &good_claims, SECRET),
                TokenError::WrongAlgorithm,
            ),
            (
                "missing exp",
                forged(
                    r#"{"alg":"HS256","typ":"JWT"}"#,
                    r#"{"user_id":1,"username":"alice","can_transact":true}"#,
                    SECRET,
                ),
                TokenError::BadClaims("missing field `exp`".into()),
            ),
            (
                "not valid before a minute from now",
                forged(
                    r#"{"alg":"HS256","typ":"JWT"}"#,
                    &format!(
                        r#"{{"user_id":1,"username":"alice","can_transact":true,"exp":{},"nbf":{}}}"#,
                        now() + 120,
                        now() + 60
                    ),
                    SECRET,
                ),
                TokenError::NotYetValid,
            ),
        ];
        for (name, token, expected) in cases {
            assert_eq!(verify(&token, SECRET), Err(expected), "{name}");
        }
    }

    #[test]
    fn missing_user_claims_are_refused() {
        let token = forged(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &format!(r#"{{"username":"alice","exp":{}}}"#, now() + 30),
            SECRET,
        );
        assert!(matches!(
            verify(&token, SECRET),
            Err(TokenError::BadClaims(_))
        ));
    }

    #[test]
    fn garbage_segments_are_refused_not_panicking() {
        for token in ["a.b.c", "!!.??.##", "eyJhbGciOiJIUzI1NiJ9.e30.", "..."] {
            assert!(verify(token, SECRET).is_err(), "{token}");
        }
    }
}
