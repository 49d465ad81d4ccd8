//! `yoyoform fmt`: env.toml in one canonical layout, so that a review shows what changed and
//! not how someone spaced it. Read and written with `toml_edit`, which keeps every comment
//! and every value as it was written; only the whitespace around them changes:
//!
//! - `key = value`: one space on each side of `=`, no indentation; a comment after a value
//!   is one space after it, `# like this`;
//! - one blank line before each `[table]` header; inside a table, runs of blank lines
//!   become one; none at the start of the file; one newline at its end;
//! - comments lose their indentation and trailing spaces, and keep their text;
//! - inline tables as `{ a = 1, b = "x" }`, one-line arrays as `["a", "b"]`; an array or
//!   inline table written over several lines is left as its author laid it out;
//! - keys are bare where TOML allows (`"name" = 1` becomes `name = 1`);
//! - headers as `[kind.name]`, without spaces inside the brackets.
//!
//! The order of tables and keys is the author's: a reordering would move the comments
//! that explain them away from what they explain.

use toml_edit::visit_mut::{self, VisitMut};

use super::diagnostic::{Diagnostic, Problem};
use super::model::Location;
use toml_edit::{Array, DocumentMut, InlineTable, Item, KeyMut, RawString, Table};

/// `text` in the canonical layout. Formatting its result again changes nothing. Text
/// that is not TOML is the one problem, where the parser stopped.
pub fn format(text: &str) -> Result<String, Diagnostic> {
    let mut document: DocumentMut = text.parse().map_err(|error: toml_edit::TomlError| {
        let offset = error.span().map_or(0, |span| span.start);
        let message = error
            .message()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        Diagnostic::new(Location::at(text, offset), &Problem::Syntax { message })
    })?;
    Layout::default().visit_document_mut(&mut document);
    let trailing = comment_lines(raw(document.trailing()), true);
    document.set_trailing(trailing.concat());
    let mut out = document.to_string();
    let end = out.trim_end_matches(['\n', ' ', '\t', '\r']).len();
    out.truncate(end);
    out.push('\n');
    Ok(out)
}

/// Walks the document, setting the whitespace of everything it meets.
#[derive(Default)]
struct Layout {
    /// Something has been written: a blank line may go before what comes next.
    started: bool,
    /// The next key is the first under its header: no blank line before it.
    first_in_table: bool,
    /// How deep in inline tables the walk is (their layout is their own).
    inline: usize,
}

impl VisitMut for Layout {
    fn visit_table_mut(&mut self, table: &mut Table) {
        // The root table, the implicit parents of `[a.b]` and the tables of dotted keys
        // (`build.context = ...`) have no header of their own.
        if table.position().is_some() && !table.is_implicit() && !table.is_dotted() {
            let prefix = table.decor().prefix().map_or("", raw);
            let mut lines = comment_lines(prefix, self.started);
            // One blank line before the header and the comments just above it; comments
            // further up (below the last table's keys) stay where they are.
            let attached = lines.iter().rev().take_while(|line| *line != "\n").count();
            if self.started && attached == lines.len() {
                lines.insert(0, "\n".to_owned());
            }
            table.decor_mut().set_prefix(lines.concat());
            let suffix = trailing_comment(table.decor().suffix().map_or("", raw));
            table.decor_mut().set_suffix(suffix);
            self.started = true;
            self.first_in_table = true;
        }
        visit_mut::visit_table_mut(self, table);
    }

    fn visit_table_like_kv_mut(&mut self, mut key: KeyMut<'_>, item: &mut Item) {
        if self.inline == 0 {
            match item {
                Item::Value(value) => {
                    // A dotted key's comments are on its last part, with the rest of the
                    // line's first whitespace.
                    let prefix = key.leaf_decor().prefix().map_or("", raw);
                    let blank_first = self.started && !self.first_in_table;
                    let lines = comment_lines(prefix, blank_first);
                    key.leaf_decor_mut().set_prefix(lines.concat());
                    key.leaf_decor_mut().set_suffix(" ");
                    key.dotted_decor_mut().clear();
                    let suffix = trailing_comment(value.decor().suffix().map_or("", raw));
                    value.decor_mut().set_prefix(" ");
                    value.decor_mut().set_suffix(suffix);
                    self.started = true;
                    self.first_in_table = false;
                }
                // `build` of `build.context = ...`: the dots without spaces.
                Item::Table(table) if table.is_dotted() => {
                    key.dotted_decor_mut().set_prefix("");
                    key.dotted_decor_mut().set_suffix("");
                }
                // A part of a header: `[service . a]` as `[service.a]`; what comes before
                // the header is the table's own decor.
                _ => {
                    key.leaf_decor_mut().set_prefix("");
                    key.leaf_decor_mut().set_suffix("");
                    key.dotted_decor_mut().set_prefix("");
                    key.dotted_decor_mut().set_suffix("");
                }
            }
            bare(&mut key);
        }
        visit_mut::visit_table_like_kv_mut(self, key, item);
    }

    fn visit_inline_table_mut(&mut self, table: &mut InlineTable) {
        self.inline += 1;
        visit_mut::visit_inline_table_mut(self, table);
        self.inline -= 1;
        if !laid_out(&table.to_string()) {
            table.fmt();
            for (mut key, _) in table.iter_mut() {
                bare(&mut key);
            }
        }
    }

    fn visit_array_mut(&mut self, array: &mut Array) {
        visit_mut::visit_array_mut(self, array);
        if !laid_out(&array.to_string()) {
            array.fmt();
            array.set_trailing_comma(false);
            array.set_trailing("");
        }
    }
}

/// Writes a key bare where TOML allows it (`"name"` as `name`), its decor kept.
fn bare(key: &mut KeyMut<'_>) {
    let plain = toml_edit::Key::new(key.get()).display_repr().into_owned();
    if plain != key.display_repr() {
        let decor = (key.leaf_decor().clone(), key.dotted_decor().clone());
        key.fmt();
        *key.leaf_decor_mut() = decor.0;
        *key.dotted_decor_mut() = decor.1;
    }
}

/// Whether a value spans several lines or holds a comment: its author laid it out, and
/// it is kept as written.
fn laid_out(text: &str) -> bool {
    let inner = text.trim();
    inner.contains('\n') || inner.contains('#') && comment_outside_strings(inner)
}

/// Whether `text` has a `#` outside its strings (a comment, in a multi-line value).
fn comment_outside_strings(text: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return true,
            None => {}
        }
    }
    false
}

/// The text of decor as parsed (decor made by the program has none).
fn raw(text: &RawString) -> &str {
    text.as_str().unwrap_or_default()
}

/// The lines before a key or header: comments, unindented and without trailing spaces,
/// and blank lines, at most one in a row, and one first only when `blank_first` allows
/// it; each ending with a newline. What follows the last newline (the indentation of the
/// key or header) is dropped.
fn comment_lines(prefix: &str, blank_first: bool) -> Vec<String> {
    let mut out = Vec::new();
    let Some(end) = prefix.rfind('\n') else {
        return out;
    };
    let mut previous_blank = !blank_first;
    for line in prefix[..end].split('\n') {
        let line = line.trim();
        if line.is_empty() && previous_blank {
            continue;
        }
        previous_blank = line.is_empty();
        out.push(format!("{line}\n"));
    }
    out
}

/// A suffix as ` # comment`, or nothing when it holds no comment.
fn trailing_comment(suffix: &str) -> String {
    match suffix.trim() {
        "" => String::new(),
        comment => format!(" {comment}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let cases = [
            (
                "spacing around `=`, indentation, blank lines, the end of the file",
                "\n\n[project]\n   name=\"yoyo\"\n\n\n\n[network.platform]\n\n\n\n",
                "[project]\nname = \"yoyo\"\n\n[network.platform]\n",
            ),
            (
                "comments keep their text and place",
                "# top\n\n[project]   # the project\n  # its name\nname = \"yoyo\"    #  why\n[secret.jwt]\n",
                "# top\n\n[project] # the project\n# its name\nname = \"yoyo\" #  why\n\n[secret.jwt]\n",
            ),
            (
                "inline tables and one-line arrays",
                "[service.a]\nenv={A=\"1\",B  =  \"2\"}\nports=[ \"127.0.0.1:80:80\" ,\"81:81\", ]\n",
                "[service.a]\nenv = { A = \"1\", B = \"2\" }\nports = [\"127.0.0.1:80:80\", \"81:81\"]\n",
            ),
            (
                "keys bare where they can be; headers without inner spaces",
                "[ service . a ]\n\"image\" = 'x'\n[service.a.env]\n\"/path\" = \"y\"\n",
                "[service.a]\nimage = 'x'\n\n[service.a.env]\n\"/path\" = \"y\"\n",
            ),
            (
                "an array laid out over lines is kept",
                "[job.x]\ncommand = [\n    \"a\", # first\n    \"b\",\n]\n",
                "[job.x]\ncommand = [\n    \"a\", # first\n    \"b\",\n]\n",
            ),
            (
                "multi-line strings are kept as written",
                "[service.a]\nimage = \"x\"\nenv = { A = \"\"\"\nline\n\"\"\" }\n",
                "[service.a]\nimage = \"x\"\nenv = { A = \"\"\"\nline\n\"\"\" }\n",
            ),
            (
                "a comment above a header is the header's: the blank line goes above it",
                "[secret.a]\nlength = 8\n# the network\n[network.b]\n\t# end\n",
                "[secret.a]\nlength = 8\n\n# the network\n[network.b]\n# end\n",
            ),
            (
                "dotted keys",
                "[service.a]\nimage = \"x\"\n\n  # how\nbuild . context  =  \"x\"\nbuild.binary=\"a\"\n",
                "[service.a]\nimage = \"x\"\n\n# how\nbuild.context = \"x\"\nbuild.binary = \"a\"\n",
            ),
            (
                "a blank line inside a table stays one",
                "[service.a]\nimage = \"x\"\n\n\n\nreplicas = 2\n",
                "[service.a]\nimage = \"x\"\n\nreplicas = 2\n",
            ),
        ];
        for (name, input, expected) in cases {
            let formatted = format(input).unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(formatted, expected, "{name}");
            assert_eq!(format(&formatted).unwrap(), formatted, "{name}: again");
        }
    }

    #[test]
    fn not_toml_says_where() {
        let error = format("[project]\nname = \n").unwrap_err();
        assert_eq!(error.location, Location { line: 2, column: 8 }, "{error:?}");
    }

    #[test]
    fn the_repository_env_toml_is_formatted() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../env.toml");
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(format(&text).unwrap(), text);
    }
}
