//! What a `POST /transactions` asks for, checked in the contract's order: token blank,
//! amount (blank, then not a positive integer), currency (blank, then invalid), then the
//! token itself, then whether its user may transact. The cheap field checks come first so
//! a client sees the same answer as from the reference for the same request.

use axum::http::StatusCode;
use platform::fields::Fields;
use platform::reply::ApiError;
use platform::token::Keys;

use crate::amount::Amount;
use crate::currency::Currency;

/// A transaction request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub user_id: i64,
    pub amount: Amount,
    pub currency: Currency,
    /// The client's id for the transaction, when it sent one (optional field `id`): a
    /// retry with the same id is awarded once, whatever happened to the first attempt.
    pub id: Option<uuid::Uuid>,
}

impl Order {
    /// Checks the fields and the token; the error is the contract's answer.
    pub fn from_fields(fields: &Fields, keys: &Keys) -> Result<Self, ApiError> {
        let token = fields
            .get("token")
            .ok_or_else(|| ApiError::unprocessable("Token is blank"))?;
        let amount = Amount::parse(fields.get("amount"))
            .map_err(|error| ApiError::unprocessable(error.to_string()))?;
        let currency = Currency::parse(fields.get("currency"))
            .map_err(|error| ApiError::unprocessable(error.to_string()))?;
        let claims = keys
            .verify(token)
            .map_err(|error| ApiError::unprocessable(error.to_string()))?;
        // The worker keys balances by user id and refuses entries without a positive one;
        // a token from another issuer sharing the secret must not get that far.
        if claims.user_id < 1 {
            return Err(ApiError::unprocessable(
                "Invalid claims: `user_id` must be a positive integer",
            ));
        }
        if !claims.can_transact {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "User cannot transact"));
        }
        let id = fields
            .get("id")
            .map(|id| {
                uuid::Uuid::parse_str(id).map_err(|_| {
                    ApiError::unprocessable("Invalid transaction id: give a UUID, or no id")
                })
            })
            .transpose()?;
        Ok(Order {
            user_id: claims.user_id,
            amount,
            currency,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::token::{Claims, now};

    const SECRET: &str = "order-test-secret";

    fn token(user_id: i64, can_transact: bool, exp: u64, secret: &str) -> String {
        Keys::new(secret).unwrap().issue(&Claims {
            user_id,
            username: format!("user{user_id}"),
            can_transact,
            exp,
        })
    }

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields::from_pairs(pairs)
    }

    /// Fields sent, and (user id, amount, currency) or (status, error) expected.
    type Case<'t> = (
        Vec<(&'t str, &'t str)>,
        Result<(i64, u64, &'t str), (u16, &'t str)>,
    );

    #[test]
    fn checks_run_in_the_contract_order() {
        let good = token(1, true, now() + 60, SECRET);
        let expired = token(1, true, now() - 10, SECRET);
        let foreign = token(1, true, now() + 60, "another-secret");
        let barred = token(3, false, now() + 60, SECRET);
        let nobody = token(0, true, now() + 60, SECRET);
        // Each request is wrong in every way from its row's check on, so a check running
        // too early or too late shows as the wrong message.
        let cases: Vec<Case> = vec![
            (vec![], Err((422, "Token is blank"))),
            (
                vec![("token", " "), ("amount", "abc"), ("currency", "x")],
                Err((422, "Token is blank")),
            ),
            (
                vec![("token", "garbage"), ("currency", "x")],
                Err((422, "Amount is blank")),
            ),
            (
                vec![("token", "garbage"), ("amount", "0"), ("currency", "x")],
                Err((422, "Amount is blank")),
            ),
            (
                vec![("token", "garbage"), ("amount", "abc")],
                Err((
                    422,
                    "Amount must be a whole number of minor units, e.g. 2000 for 20.00",
                )),
            ),
            (
                vec![("token", "garbage"), ("amount", "10.5")],
                Err((
                    422,
                    "Amount must be a whole number of minor units, e.g. 2000 for 20.00",
                )),
            ),
            (
                vec![("token", "garbage"), ("amount", "-5")],
                Err((422, "Amount must be positive")),
            ),
            (
                vec![("token", "garbage"), ("amount", "99999999999999999999")],
                Err((422, "Amount is too large: at most 9007199254740991")),
            ),
            (
                vec![("token", "garbage"), ("amount", "2000")],
                Err((422, "Currency is blank")),
            ),
            (
                vec![
                    ("token", "garbage"),
                    ("amount", "2000"),
                    ("currency", "gbp"),
                ],
                Err((422, "Invalid currency code")),
            ),
            (
                vec![
                    ("token", "garbage"),
                    ("amount", "2000"),
                    ("currency", "GBP"),
                ],
                Err((422, "Not enough segments")),
            ),
            (
                vec![("token", &expired), ("amount", "2000"), ("currency", "GBP")],
                Err((422, "Signature has expired")),
            ),
            (
                vec![("token", &foreign), ("amount", "2000"), ("currency", "GBP")],
                Err((422, "Signature verification failed")),
            ),
            (
                vec![("token", &nobody), ("amount", "2000"), ("currency", "GBP")],
                Err((422, "Invalid claims: `user_id` must be a positive integer")),
            ),
            (
                vec![("token", &barred), ("amount", "2000"), ("currency", "GBP")],
                Err((403, "User cannot transact")),
            ),
            (
                vec![("token", &good), ("amount", "2000"), ("currency", "GBP")],
                Ok((1, 2000, "GBP")),
            ),
        ];
        let keys = Keys::new(SECRET).unwrap();
        for (given, expected) in cases {
            let got = Order::from_fields(&fields(&given), &keys)
                .map(|order| {
                    (
                        order.user_id,
                        order.amount.minor_units(),
                        order.currency.to_string(),
                    )
                })
                .map_err(|error| (error.status.as_u16(), error.message));
            let expected = expected
                .map(|(user, amount, currency)| (user, amount, currency.to_owned()))
                .map_err(|(status, message)| (status, message.to_owned()));
            assert_eq!(got, expected, "{given:?}");
        }
    }
}
