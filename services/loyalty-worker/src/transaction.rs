//! A transaction as transaction-api puts it on the queue: a stream entry with the fields
//! `id`, `user_id`, `amount`, `currency` and `created_at`, all sent as strings.

use std::collections::HashMap;

use redis::Value;

/// Longest transaction id accepted; it becomes part of a Redis key.
const MAX_ID_LEN: usize = 128;

/// A transaction taken from a stream entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The producer's transaction id (a UUID from transaction-api); what makes a redelivery
    /// recognisable.
    pub id: String,
    /// The customer.
    pub user_id: i64,
    /// Minor units, positive.
    pub amount: i64,
    /// Three upper-case letters.
    pub currency: String,
    /// Seconds since the Unix epoch, as the producer saw it.
    pub created_at: i64,
}

/// Why an entry is not a transaction. Such entries go to the dead-letter stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// A field is absent or empty.
    #[error("field `{0}` is missing")]
    Missing(&'static str),
    /// A field is there but its value is not acceptable.
    #[error("field `{field}` is invalid (`{value}`): {reason}")]
    Invalid {
        /// The field's name.
        field: &'static str,
        /// The value as found (shortened when long).
        value: String,
        /// What was expected.
        reason: &'static str,
    },
}

impl Transaction {
    /// Reads a transaction from a stream entry's fields.
    pub fn from_fields(fields: &HashMap<String, Value>) -> Result<Self, EntryError> {
        let id = text(fields, "id")?;
        if id.len() > MAX_ID_LEN || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                "id",
                &id,
                "expected at most 128 characters without spaces",
            ));
        }
        let user_id = integer(fields, "user_id")?;
        if user_id < 1 {
            return Err(invalid(
                "user_id",
                &user_id.to_string(),
                "expected a positive integer",
            ));
        }
        let amount = integer(fields, "amount")?;
        if amount < 1 {
            return Err(invalid(
                "amount",
                &amount.to_string(),
                "expected a positive integer",
            ));
        }
        let currency = text(fields, "currency")?;
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid(
                "currency",
                &currency,
                "expected three upper-case letters",
            ));
        }
        let created_at = integer(fields, "created_at")?;
        Ok(Transaction {
            id,
            user_id,
            amount,
            currency,
            created_at,
        })
    }
}

fn text(fields: &HashMap<String, Value>, field: &'static str) -> Result<String, EntryError> {
    let value = fields.get(field).ok_or(EntryError::Missing(field))?;
    let text: String = redis::from_redis_value_ref(value)
        .map_err(|_| invalid(field, &format!("{value:?}"), "expected UTF-8 text"))?;
    if text.trim().is_empty() {
        return Err(EntryError::Missing(field));
    }
    Ok(text)
}

fn integer(fields: &HashMap<String, Value>, field: &'static str) -> Result<i64, EntryError> {
    let text = text(fields, field)?;
    // Only plain decimal digits: `10.5`, `1e3` or ` 7` are the producer's bug, not a number.
    let digits = text.strip_prefix('-').unwrap_or(&text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(field, &text, "expected an integer"));
    }
    text.parse()
        .map_err(|_| invalid(field, &text, "expected an integer that fits in 64 bits"))
}

fn invalid(field: &'static str, value: &str, reason: &'static str) -> EntryError {
    // Log lines and dead letters stay readable even when a producer sends a megabyte.
    let value = if value.chars().count() > 64 {
        format!("{}...", value.chars().take(64).collect::<String>())
    } else {
        value.to_owned()
    };
    EntryError::Invalid {
        field,
        value,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::BulkString(v.as_bytes().to_vec())))
            .collect()
    }

    const GOOD: &[(&str, &str)] = &[
        ("id", "0b7e1c2a-9d53-4f43-8d43-3f6c2b1e9a10"),
        ("user_id", "1"),
        ("amount", "2000"),
        ("currency", "GBP"),
        ("created_at", "1700000000"),
    ];

    fn with(field: &str, value: Option<&str>) -> HashMap<String, Value> {
        let mut map = fields(GOOD);
        match value {
            Some(value) => map.insert(field.to_owned(), Value::BulkString(value.into())),
            None => map.remove(field),
        };
        map
    }

    #[test]
    fn good_entry() {
        assert_eq!(
            Transaction::from_fields(&fields(GOOD)),
            Ok(Transaction {
                id: "0b7e1c2a-9d53-4f43-8d43-3f6c2b1e9a10".into(),
                user_id: 1,
                amount: 2000,
                currency: "GBP".into(),
                created_at: 1_700_000_000,
            })
        );
    }

    #[test]
    fn extra_fields_are_ignored() {
        let mut map = fields(GOOD);
        map.insert("note".into(), Value::BulkString(b"hi".to_vec()));
        assert!(Transaction::from_fields(&map).is_ok());
    }

    #[test]
    fn bad_entries() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("id", None, "field `id` is missing"),
            ("id", Some(""), "field `id` is missing"),
            (
                "id",
                Some("a b"),
                "field `id` is invalid (`a b`): expected at most 128 characters without spaces",
            ),
            ("user_id", None, "field `user_id` is missing"),
            (
                "user_id",
                Some("alice"),
                "field `user_id` is invalid (`alice`): expected an integer",
            ),
            (
                "user_id",
                Some("0"),
                "field `user_id` is invalid (`0`): expected a positive integer",
            ),
            ("amount", None, "field `amount` is missing"),
            ("amount", Some("  "), "field `amount` is missing"),
            (
                "amount",
                Some("abc"),
                "field `amount` is invalid (`abc`): expected an integer",
            ),
            (
                "amount",
                Some("10.5"),
                "field `amount` is invalid (`10.5`): expected an integer",
            ),
            (
                "amount",
                Some("-5"),
                "field `amount` is invalid (`-5`): expected a positive integer",
            ),
            (
                "amount",
                Some("0"),
                "field `amount` is invalid (`0`): expected a positive integer",
            ),
            (
                "amount",
                Some("99999999999999999999"),
                "field `amount` is invalid (`99999999999999999999`): expected an integer that fits in 64 bits",
            ),
            (
                "amount",
                Some("-"),
                "field `amount` is invalid (`-`): expected an integer",
            ),
            ("currency", None, "field `currency` is missing"),
            (
                "currency",
                Some("gbp"),
                "field `currency` is invalid (`gbp`): expected three upper-case letters",
            ),
            (
                "currency",
                Some("GBPX"),
                "field `currency` is invalid (`GBPX`): expected three upper-case letters",
            ),
            ("created_at", None, "field `created_at` is missing"),
            (
                "created_at",
                Some("yesterday"),
                "field `created_at` is invalid (`yesterday`): expected an integer",
            ),
        ];
        for (field, value, message) in cases {
            let got = Transaction::from_fields(&with(field, *value));
            assert_eq!(
                got.map_err(|e| e.to_string()),
                Err(message.to_string()),
                "{field} = {value:?}"
            );
        }
    }

    #[test]
    fn long_values_are_shortened_in_errors() {
        let long = "x".repeat(1000);
        let error = Transaction::from_fields(&with("amount", Some(&long))).unwrap_err();
        assert!(error.to_string().len() < 150, "{error}");
    }

    #[test]
    fn non_utf8_is_invalid_not_a_panic() {
        let mut map = fields(GOOD);
        map.insert("currency".into(), Value::BulkString(vec![0xff, 0xfe, 0x00]));
        assert!(matches!(
            Transaction::from_fields(&map),
            Err(EntryError::Invalid {
                field: "currency",
                ..
            })
        ));
    }
}
