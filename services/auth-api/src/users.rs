//! The user database: a JSON array of `{id, username, password, can_transact}` read once at
//! start from `USERS_FILE`. A file that cannot be read or parsed stops the service there,
//! rather than letting it answer "User not found" to everyone.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use subtle::ConstantTimeEq;

/// One user, as stored in `users.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password: String,
    pub can_transact: bool,
}

impl User {
    /// Whether `password` is this user's. The comparison takes the same time wherever the
    /// first differing byte is, so response times do not reveal a prefix of the password;
    /// comparing digests of equal length also keeps the password's length out of them.
    pub fn password_matches(&self, password: &str) -> bool {
        use sha2::{Digest, Sha256};
        let stored = Sha256::digest(self.password.as_bytes());
        let given = Sha256::digest(password.as_bytes());
        stored.as_slice().ct_eq(given.as_slice()).into()
    }
}

/// Why the user database could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("cannot read it: {0}")]
    Unreadable(#[from] std::io::Error),
    #[error("not a JSON array of {{id, username, password, can_transact}}: {0}")]
    Invalid(#[from] serde_json::Error),
    #[error("user `{0}` appears more than once")]
    DuplicateUsername(String),
    #[error("user id {0} appears more than once")]
    DuplicateId(i64),
    #[error("a user has an empty username")]
    EmptyUsername,
    #[error("user `{0}` has id {1}: ids must be positive integers")]
    NonPositiveId(String, i64),
}

/// All users, by username.
#[derive(Debug, Clone, Default)]
pub struct Users {
    by_name: HashMap<String, User>,
}

impl Users {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, UsersError> {
        Self::parse(&std::fs::read_to_string(path)?)
    }

    /// Parses and checks the JSON text of a user database.
    pub fn parse(json: &str) -> Result<Self, UsersError> {
        let list: Vec<User> = serde_json::from_str(json)?;
        let mut by_name = HashMap::with_capacity(list.len());
        let mut ids = std::collections::HashSet::with_capacity(list.len());
        for user in list {
            if user.username.trim().is_empty() {
                return Err(UsersError::EmptyUsername);
            }
            // Balances and queue entries are keyed by a positive user id downstream.
            if user.id < 1 {
                return Err(UsersError::NonPositiveId(user.username, user.id));
            }
            if !ids.insert(user.id) {
                return Err(UsersError::DuplicateId(user.id));
            }
            if by_name.contains_key(&user.username) {
                return Err(UsersError::DuplicateUsername(user.username));
            }
            by_name.insert(user.username.clone(), user);
        }
        Ok(Users { by_name })
    }

    /// The user called `username`, if any.
    pub fn find(&self, username: &str) -> Option<&User> {
        self.by_name.get(username)
    }

    /// How many users there are (logged at start).
    pub fn len(&self) -> usize {
        self.by_name.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../users.json");

    #[test]
    fn shipped_file_holds_the_contract_fixture() {
        let users = Users::parse(SHIPPED).unwrap();
        assert_eq!(users.len(), 3);
        let expected = [("alice", 1, true), ("bob", 2, true), ("charlie", 3, false)];
        for (name, id, can_transact) in expected {
            let user = users.find(name).unwrap();
            assert_eq!((user.id, user.can_transact), (id, can_transact), "{name}");
            assert!(user.password_matches("password"), "{name}");
        }
    }

    #[test]
    fn password_check() {
        let user = User {
            id: 1,
            username: "alice".into(),
            password: "password".into(),
            can_transact: true,
        };
        let cases = [
            ("password", true),
            ("Password", false),
            ("passwor", false),
            ("password ", false),
            ("passwordx", false),
            ("", false),
        ];
        for (given, expected) in cases {
            assert_eq!(user.password_matches(given), expected, "{given:?}");
        }
    }

    #[test]
    fn lookup_is_exact() {
        let users = Users::parse(SHIPPED).unwrap();
        for name in ["Alice", "alice ", "dave", ""] {
            assert!(users.find(name).is_none(), "{name:?}");
        }
    }

    #[test]
    fn bad_files_are_refused() {
        let cases = [
            ("", "not a JSON array"),
            ("{}", "not a JSON array"),
            (r#"[{"id": 1, "username": "a"}]"#, "not a JSON array"),
            (
                r#"[{"id": "1", "username": "a", "password": "p", "can_transact": true}]"#,
                "not a JSON array",
            ),
            (
                r#"[{"id": 1, "username": "a", "password": "p", "can_transact": true},
                    {"id": 2, "username": "a", "password": "q", "can_transact": false}]"#,
                "user `a` appears more than once",
            ),
            (
                r#"[{"id": 1, "username": "a", "password": "p", "can_transact": true},
                    {"id": 1, "username": "b", "password": "q", "can_transact": false}]"#,
                "user id 1 appears more than once",
            ),
            (
                r#"[{"id": 0, "username": "z", "password": "p", "can_transact": true}]"#,
                "user `z` has id 0: ids must be positive integers",
            ),
            (
                r#"[{"id": 1, "username": " ", "password": "p", "can_transact": true}]"#,
                "a user has an empty username",
            ),
        ];
        for (json, expected) in cases {
            let error = Users::parse(json).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{json}: {error}");
        }
    }

    #[test]
    fn missing_file_is_unreadable() {
        let error = Users::load(Path::new("/nonexistent/users.json")).unwrap_err();
        assert!(matches!(error, UsersError::Unreadable(_)), "{error}");
    }
}
