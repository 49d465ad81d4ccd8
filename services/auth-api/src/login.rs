//! `POST /token`: credentials in, a signed customer token out.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use platform::fields::Fields;
use platform::reply::ApiError;
use platform::token::{Claims, Keys, now};
use serde::Serialize;

use crate::users::{User, Users};

/// What the token endpoint needs, shared by all requests.
#[derive(Debug)]
pub struct Issuer {
    pub users: Users,
    pub keys: Keys,
    pub ttl_seconds: u64,
}

/// The 200 answer.
#[derive(Debug, Serialize)]
pub struct TokenReply {
    pub token: String,
}

/// Checks the credentials in the contract's order: username blank, password blank, unknown
/// user, wrong password.
pub fn authenticate<'u>(users: &'u Users, fields: &Fields) -> Result<&'u User, ApiError> {
    let username = fields
        .get("username")
        .ok_or_else(|| ApiError::unprocessable("Username is blank"))?;
    // Blank is judged on the trimmed value, but the password compared is the one sent:
    // `password ` is not `password`.
    let password = fields
        .raw("password")
        .ok_or_else(|| ApiError::unprocessable("Password is blank"))?;
    let user = users
        .find(username)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "User not found"))?;
    if !user.password_matches(password) {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Invalid password"));
    }
    Ok(user)
}

impl Issuer {
    /// The claims of a token for `user`, valid from `issued_at` for the configured TTL.
    pub fn claims(&self, user: &User, issued_at: u64) -> Claims {
        Claims {
            user_id: user.id,
            username: user.username.clone(),
            can_transact: user.can_transact,
            exp: issued_at.saturating_add(self.ttl_seconds),
        }
    }
}

/// The handler of `POST /token`.
pub async fn issue_token(
    State(issuer): State<Arc<Issuer>>,
    fields: Fields,
) -> Result<Json<TokenReply>, ApiError> {
    let user = authenticate(&issuer.users, &fields).inspect_err(|refusal| {
        // The username is not a secret and helps to follow a customer's complaint; the
        // password never appears in a log.
        tracing::info!(
            username = fields.get("username").unwrap_or_default(),
            status = refusal.status.as_u16(),
            reason = %refusal.message,
            "token refused"
        );
    })?;
    let claims = issuer.claims(user, now());
    let token = issuer.keys.issue(&claims);
    tracing::info!(
        user_id = user.id,
        username = %user.username,
        exp = claims.exp,
        "token issued"
    );
    Ok(Json(TokenReply { token }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields::from_pairs(pairs)
    }

    /// Form fields sent, and the user id or the error status and message expected.
    type Case = (
        &'static [(&'static str, &'static str)],
        Result<i64, (u16, &'static str)>,
    );

    #[test]
    fn checks_run_in_the_contract_order() {
        let users = Users::parse(include_str!("../users.json")).unwrap();
        // Each case breaks the rules in several ways at once where it can, so the answer
        // shows which check runs first.
        let cases: &[Case] = &[
            (&[], Err((422, "Username is blank"))),
            (&[("password", "x")], Err((422, "Username is blank"))),
            (
                &[("username", "  "), ("password", "")],
                Err((422, "Username is blank")),
            ),
            (&[("username", "dave")], Err((422, "Password is blank"))),
            (
                &[("username", "alice"), ("password", "")],
                Err((422, "Password is blank")),
            ),
            (
                &[("username", "dave"), ("password", "wrong")],
                Err((404, "User not found")),
            ),
            (
                &[("username", "alice"), ("password", "wrong")],
                Err((401, "Invalid password")),
            ),
            (
                &[("username", "alice"), ("password", "password ")],
                Err((401, "Invalid password")),
            ),
            (
                &[("username", "alice"), ("password", " password")],
                Err((401, "Invalid password")),
            ),
            (&[("username", "alice"), ("password", "password")], Ok(1)),
            (&[("username", "charlie"), ("password", "password")], Ok(3)),
        ];
        for (given, expected) in cases {
            let got = authenticate(&users, &fields(given))
                .map(|user| user.id)
                .map_err(|error| (error.status.as_u16(), error.message));
            let expected = expected.map_err(|(status, message)| (status, message.to_owned()));
            assert_eq!(got, expected, "{given:?}");
        }
    }

    #[test]
    fn claims_carry_the_user_and_expiry() {
        let users = Users::parse(include_str!("../users.json")).unwrap();
        let issuer = Issuer {
            users,
            keys: Keys::new("s").unwrap(),
            ttl_seconds: 30,
        };
        let charlie = issuer.users.find("charlie").unwrap();
        assert_eq!(
            issuer.claims(charlie, 1_000),
            Claims {
                user_id: 3,
                username: "charlie".into(),
                can_transact: false,
                exp: 1_030,
            }
        );
    }
}
