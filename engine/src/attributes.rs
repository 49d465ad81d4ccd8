//! Attributes: what one resource instance is, as plain values that can be compared,
//! printed in a plan and kept in the state file. A value may be unknown until apply (a
//! secret not generated yet) and may be sensitive (a secret, or anything made from one).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// An attribute's value: text, a map of text (env, files, routes) or a list (ports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A single string.
    Text(String),
    /// Keys to strings, ordered.
    Map(BTreeMap<String, String>),
    /// Strings in order.
    List(Vec<String>),
}

/// Where in the attributes a value sits: a whole attribute (`image`) or one key of a map
/// attribute (`env["JWT_SECRET"]`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path {
    /// The attribute.
    pub attribute: String,
    /// The key, for map attributes.
    pub key: Option<String>,
}

impl Path {
    /// A whole attribute.
    pub fn attribute(name: &str) -> Self {
        Path {
            attribute: name.to_owned(),
            key: None,
        }
    }

    /// One key of a map attribute.
    pub fn key(name: &str, key: &str) -> Self {
        Path {
            attribute: name.to_owned(),
            key: Some(key.to_owned()),
        }
    }

    /// Reads the form [`Display`](fmt::Display) writes.
    pub fn parse(text: &str) -> Option<Self> {
        match text.split_once("[\"") {
            None => Some(Path::attribute(text)),
            Some((attribute, rest)) => {
                let key = rest.strip_suffix("\"]")?;
                Some(Path::key(attribute, key))
            }
        }
    }

    /// True when `self` is `other` or lies inside it (`env["X"]` is inside `env`).
    pub fn within(&self, other: &Path) -> bool {
        self.attribute == other.attribute && (other.key.is_none() || self.key == other.key)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            None => f.write_str(&self.attribute),
            Some(key) => write!(f, "{}[\"{}\"]", self.attribute, key),
        }
    }
}

impl Serialize for Path {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Path {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Path::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("bad path `{text}`")))
    }
}

/// A resolved string: its text (`None` when unknown until apply) and whether a secret
/// went into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The text, when known.
    pub text: Option<String>,
    /// Made from something sensitive.
    pub sensitive: bool,
}

impl Resolved {
    /// A known value made from nothing sensitive.
    pub fn known(text: impl Into<String>) -> Self {
        Resolved {
            text: Some(text.into()),
            sensitive: false,
        }
    }
}

/// The attributes of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Attributes {
    /// Values by attribute name. An unknown value is present with an empty placeholder.
    pub values: BTreeMap<String, Value>,
    /// Values not known until apply.
    pub unknown: BTreeSet<Path>,
    /// Values never to be printed.
    pub sensitive: BTreeSet<Path>,
}

impl Attributes {
    /// Sets a text attribute.
    pub fn text(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.values
            .insert(name.to_owned(), Value::Text(value.into()));
        self
    }

    /// Sets a map attribute.
    pub fn map(&mut self, name: &str, map: BTreeMap<String, String>) -> &mut Self {
        self.values.insert(name.to_owned(), Value::Map(map));
        self
    }

    /// Sets a list attribute.
    pub fn list(&mut self, name: &str, list: Vec<String>) -> &mut Self {
        self.values.insert(name.to_owned(), Value::List(list));
        self
    }

    /// Sets a text attribute to a resolved value, marked unknown or sensitive as it is.
    pub fn resolved(&mut self, name: &str, value: Resolved) -> &mut Self {
        self.mark(Path::attribute(name), &value);
        self.text(name, value.text.unwrap_or_default())
    }

    /// Sets one key of a map attribute (made when absent) to a resolved value.
    pub fn resolved_entry(&mut self, name: &str, key: &str, value: Resolved) -> &mut Self {
        self.mark(Path::key(name, key), &value);
        let entry = self
            .values
            .entry(name.to_owned())
            .or_insert_with(|| Value::Map(BTreeMap::new()));
        if let Value::Map(map) = entry {
            map.insert(key.to_owned(), value.text.unwrap_or_default());
        }
        self
    }

    /// Sets a list attribute to resolved values; each item is marked by its position.
    pub fn resolved_list(&mut self, name: &str, items: Vec<Resolved>) -> &mut Self {
        let mut list = Vec::with_capacity(items.len());
        for (position, item) in items.into_iter().enumerate() {
            self.mark(Path::key(name, &position.to_string()), &item);
            list.push(item.text.unwrap_or_default());
        }
        self.list(name, list)
    }

    fn mark(&mut self, path: Path, value: &Resolved) {
        if value.sensitive {
            self.sensitive.insert(path.clone());
        }
        if value.text.is_none() {
            self.unknown.insert(path);
        }
    }

    /// The text attribute `name`, if it is text.
    pub fn get_text(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(Value::Text(text)) => Some(text),
            _ => None,
        }
    }

    /// The map attribute `name`, if it is a map.
    pub fn get_map(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        match self.values.get(name) {
            Some(Value::Map(map)) => Some(map),
            _ => None,
        }
    }

    /// The list attribute `name`, if it is a list.
    pub fn get_list(&self, name: &str) -> Option<&[String]> {
        match self.values.get(name) {
            Some(Value::List(list)) => Some(list),
            _ => None,
        }
    }

    /// Whether the value at `path` (or anything inside it) is unknown.
    pub fn is_unknown(&self, path: &Path) -> bool {
        self.unknown
            .iter()
            .any(|unknown| path.within(unknown) || unknown.within(path))
    }

    /// Whether the value at `path` is sensitive (the path or what holds it).
    pub fn is_sensitive(&self, path: &Path) -> bool {
        self.sensitive.iter().any(|secret| path.within(secret))
    }

    /// The values as a JSON object, for the state file.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.values
            .iter()
            .map(|(name, value)| {
                let json = serde_json::to_value(value).expect("attribute values are JSON");
                (name.clone(), json)
            })
            .collect()
    }

    /// Attributes read back from the state file; values of another shape are skipped.
    pub fn from_json(
        values: &serde_json::Map<String, serde_json::Value>,
        sensitive: &[String],
    ) -> Self {
        Attributes {
            values: values
                .iter()
                .filter_map(|(name, json)| {
                    let value = serde_json::from_value(json.clone()).ok()?;
                    Some((name.clone(), value))
                })
                .collect(),
            unknown: BTreeSet::new(),
            sensitive: sensitive
                .iter()
                .filter_map(|path| Path::parse(path))
                .collect(),
        }
    }

    /// A copy with every sensitive value replaced by a marker, for output that may be
    /// shared (`plan --json`).
    pub fn redacted(&self) -> Attributes {
        const MARK: &str = "(sensitive value)";
        let mut copy = self.clone();
        for path in &self.sensitive {
            match (copy.values.get_mut(&path.attribute), &path.key) {
                (Some(Value::Map(map)), Some(key)) => {
                    if let Some(value) = map.get_mut(key) {
                        *value = MARK.to_owned();
                    }
                }
                (Some(Value::List(list)), Some(key)) => {
                    if let Some(value) = key.parse::<usize>().ok().and_then(|i| list.get_mut(i)) {
                        *value = MARK.to_owned();
                    }
                }
                (Some(value), _) => *value = Value::Text(MARK.to_owned()),
                (None, _) => {}
            }
        }
        copy
    }

    /// The sensitive paths as strings, for the state file.
    pub fn sensitive_strings(&self) -> Vec<String> {
        self.sensitive.iter().map(Path::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_and_parse() {
        let cases = [
            (Path::attribute("image"), "image"),
            (Path::key("env", "JWT_SECRET"), "env[\"JWT_SECRET\"]"),
            (
                Path::key("files", "/etc/yoyo/users.json"),
                "files[\"/etc/yoyo/users.json\"]",
            ),
        ];
        for (path, text) in cases {
            assert_eq!(path.to_string(), text);
            assert_eq!(Path::parse(text), Some(path));
        }
    }

    #[test]
    fn sensitivity_covers_keys_of_a_sensitive_attribute() {
        let mut attributes = Attributes::default();
        attributes.sensitive.insert(Path::attribute("value"));
        attributes.sensitive.insert(Path::key("env", "JWT_SECRET"));
        let cases = [
            (Path::attribute("value"), true),
            (Path::key("env", "JWT_SECRET"), true),
            (Path::key("env", "HTTP_PORT"), false),
            (Path::attribute("env"), false),
        ];
        for (path, sensitive) in cases {
            assert_eq!(attributes.is_sensitive(&path), sensitive, "{path}");
        }
    }

    #[test]
    fn redaction_hides_every_sensitive_value() {
        let mut attributes = Attributes::default();
        attributes.text("value", "s3cret");
        attributes.values.insert(
            "env".into(),
            Value::Map([("A".into(), "1".into()), ("KEY".into(), "s3cret".into())].into()),
        );
        attributes.values.insert(
            "command".into(),
            Value::List(vec!["--key".into(), "s3cret".into()]),
        );
        attributes.sensitive.insert(Path::attribute("value"));
        attributes.sensitive.insert(Path::key("env", "KEY"));
        attributes.sensitive.insert(Path::key("command", "1"));
        let text = serde_json::to_string(&attributes.redacted()).unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains(r#""A":"1""#), "{text}");
    }

    #[test]
    fn json_round_trip() {
        let mut attributes = Attributes::default();
        attributes.text("image", "yoyo-auth-api:0123");
        attributes.values.insert(
            "env".into(),
            Value::Map([("A".to_string(), "1".to_string())].into()),
        );
        attributes.values.insert(
            "ports".into(),
            Value::List(vec!["127.0.0.1:8080:5000".into()]),
        );
        attributes.sensitive.insert(Path::key("env", "A"));
        let back = Attributes::from_json(&attributes.to_json(), &attributes.sensitive_strings());
        assert_eq!(back, attributes);
    }
}
