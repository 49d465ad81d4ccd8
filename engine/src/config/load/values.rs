//! Reading single values: keys allowed in a table, strings, integers, maps, names; each
//! wrong one reported with its place and the type that was expected.

use super::*;

impl Loader<'_> {
    /// Reports keys of `table` that are not in `allowed`.
    pub(super) fn keys(&mut self, table: &DeTable, table_name: &str, allowed: &[&str]) {
        for key in table.keys() {
            let written: &str = key.get_ref();
            if !allowed.contains(&written) {
                let problem = Problem::UnknownKey {
                    key: written.to_owned(),
                    table: table_name.to_owned(),
                    suggestion: did_you_mean(written, allowed.iter().copied()),
                };
                self.report(key.span(), problem);
            }
        }
    }

    pub(super) fn optional<T>(
        &mut self,
        table: &DeTable,
        key: &str,
        read: impl FnOnce(&mut Self, &Node, &str) -> Checked<T>,
    ) -> Checked<Option<T>> {
        match table.get(key) {
            Some(node) => read(self, node, key).map(Some),
            None => Ok(None),
        }
    }

    pub(super) fn required<T>(
        &mut self,
        table: &DeTable,
        location: Location,
        table_name: &str,
        key: &str,
        read: impl FnOnce(&mut Self, &Node, &str) -> Checked<T>,
    ) -> Checked<T> {
        match table.get(key) {
            Some(node) => read(self, node, key),
            None => Err(self.report_at(
                location,
                Problem::MissingKey {
                    key: key.to_owned(),
                    table: table_name.to_owned(),
                },
            )),
        }
    }

    pub(super) fn wrong_type(
        &mut self,
        span: Range<usize>,
        key: &str,
        expected: &'static str,
        found: &DeValue,
    ) -> Reported {
        let problem = Problem::WrongType {
            key: key.to_owned(),
            expected,
            found: type_with_article(found),
        };
        self.report(span, problem)
    }

    pub(super) fn table<'a, 'i>(
        &mut self,
        node: &'a Node<'i>,
        key: &str,
    ) -> Checked<&'a DeTable<'i>> {
        match node.get_ref() {
            DeValue::Table(table) => Ok(table),
            other => Err(self.wrong_type(node.span(), key, "a table", other)),
        }
    }

    pub(super) fn array<'a, 'i>(
        &mut self,
        node: &'a Node<'i>,
        key: &str,
    ) -> Checked<&'a [Node<'i>]> {
        match node.get_ref() {
            DeValue::Array(items) => Ok(items),
            other => Err(self.wrong_type(node.span(), key, "an array", other)),
        }
    }

    pub(super) fn string<'a>(&mut self, node: &'a Node, key: &str) -> Checked<&'a str> {
        match node.get_ref() {
            DeValue::String(text) => Ok(text),
            other => Err(self.wrong_type(node.span(), key, "a string", other)),
        }
    }

    pub(super) fn boolean(&mut self, node: &Node, key: &str) -> Checked<bool> {
        match node.get_ref() {
            DeValue::Boolean(flag) => Ok(*flag),
            other => Err(self.wrong_type(node.span(), key, "a boolean", other)),
        }
    }

    pub(super) fn integer(&mut self, node: &Node, key: &str, min: i64, max: i64) -> Checked<i64> {
        let DeValue::Integer(integer) = node.get_ref() else {
            return Err(self.wrong_type(node.span(), key, "an integer", node.get_ref()));
        };
        let number = i128::from_str_radix(integer.as_str(), integer.radix()).ok();
        match number {
            Some(number) if (i128::from(min)..=i128::from(max)).contains(&number) => {
                Ok(number as i64)
            }
            _ => {
                let problem = Problem::OutOfRange {
                    key: key.to_owned(),
                    min,
                    max,
                    found: integer.to_string(),
                };
                Err(self.report(node.span(), problem))
            }
        }
    }

    /// A table of string keys to values read by `read`, keys sorted.
    pub(super) fn map<T>(
        &mut self,
        node: &Node,
        key: &str,
        mut read: impl FnMut(&mut Self, &Key, &Node, &str) -> Checked<T>,
    ) -> Checked<BTreeMap<String, T>> {
        let table = self.table(node, key)?;
        let mut entries: Vec<(&Key, &Node)> = table.iter().collect();
        entries.sort_by_key(|(key, _)| key.span().start);
        let mut map = BTreeMap::new();
        let mut ok = true;
        for (entry_key, value) in entries {
            let path = key_path(key, entry_key.get_ref());
            match read(self, entry_key, value, &path) {
                Ok(value) => {
                    map.insert(entry_key.get_ref().to_string(), value);
                }
                Err(Reported) => ok = false,
            }
        }
        if ok { Ok(map) } else { Err(Reported) }
    }

    /// Checks a declared name against its rule.
    pub(super) fn name(
        &mut self,
        name: &str,
        span: Range<usize>,
        what: &'static str,
        pattern: &'static str,
    ) -> Checked<()> {
        if !is_name(name, pattern) {
            let problem = Problem::BadName {
                what,
                name: name.to_owned(),
                pattern,
            };
            return Err(self.report(span, problem));
        }
        if pattern == RESOURCE_PATTERN && name.len() > MAX_RESOURCE_NAME {
            let problem = Problem::NameTooLong {
                what,
                name: name.to_owned(),
                max: MAX_RESOURCE_NAME,
            };
            return Err(self.report(span, problem));
        }
        Ok(())
    }
}

/// Whether `name` follows `pattern`, one of the name patterns of this module.
pub(super) fn is_name(name: &str, pattern: &str) -> bool {
    let mut chars = name.chars();
    if !chars.next().is_some_and(|first| first.is_ascii_lowercase()) {
        return false;
    }
    let word = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    match pattern {
        RESOURCE_PATTERN => {
            // Words of letters and digits, each separator one `-` or `_` between two.
            let mut after_separator = false;
            for c in chars {
                match c {
                    '-' | '_' if after_separator => return false,
                    '-' | '_' => after_separator = true,
                    c if word(c) => after_separator = false,
                    _ => return false,
                }
            }
            !after_separator
        }
        PROJECT_PATTERN => chars.all(|c| word(c) || c == '-'),
        _ => chars.all(|c| word(c) || c == '-' || c == '_'),
    }
}

/// `env.HTTP_PORT`, or `files."/etc/x"` for keys that are not bare.
pub(super) fn key_path(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        format!("{parent}.{key}")
    } else {
        format!("{parent}.{key:?}")
    }
}

pub(super) fn type_with_article(value: &DeValue) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}
