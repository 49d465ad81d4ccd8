//! `${...}` in env.toml strings: `${var.NAME}` and `${kind.name.attribute}`, with `$${`
//! for a literal `${`. Parsing only checks the shape; whether the variable or resource
//! exists is [`load`](super::load)'s business, since only it sees the whole file.

use super::diagnostic::did_you_mean;
use super::model::{Address, Part, Reference, Template};

/// A string that does not parse as a template; `column` says where inside the string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct TemplateError {
    /// Byte offset of the offending `${` in the string.
    pub offset: usize,
    /// The same place as a 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub kind: TemplateErrorKind,
}

/// What is wrong with a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateErrorKind {
    /// `${` with no `}` after it.
    #[error("unterminated reference: `${{` without a closing `}}`")]
    Unterminated,
    /// `${}`.
    #[error("empty reference `${{}}`")]
    Empty,
    /// Neither `var.NAME` nor `kind.name.attribute`.
    #[error("malformed reference `${{{inner}}}`")]
    Malformed {
        /// What is between the braces.
        inner: String,
    },
    /// `kind.name.attribute` whose kind is not one.
    #[error("unknown resource kind `{kind}` in `${{{inner}}}`")]
    UnknownKind {
        /// The kind written.
        kind: String,
        /// What is between the braces.
        inner: String,
        /// The nearest kind.
        suggestion: Option<String>,
    },
}

impl TemplateError {
    /// The help line for the diagnostic.
    pub fn help(&self) -> Option<String> {
        match &self.kind {
            TemplateErrorKind::Unterminated => Some("write `$${` for a literal `${`".to_owned()),
            TemplateErrorKind::Empty | TemplateErrorKind::Malformed { .. } => {
                Some("references look like `${var.NAME}` or `${kind.name.attribute}`".to_owned())
            }
            TemplateErrorKind::UnknownKind { suggestion, .. } => suggestion
                .as_ref()
                .map(|kind| format!("did you mean `{kind}`?")),
        }
    }
}

/// Parses `text` into literal text and references.
pub fn parse(text: &str) -> Result<Template, TemplateError> {
    parse_with_offsets(text).map(|(template, _)| template)
}

/// [`parse`], also giving the byte offset of each reference's `${` in `text`, in order, so
/// that a problem with a reference can be shown where it is written.
pub fn parse_with_offsets(text: &str) -> Result<(Template, Vec<usize>), TemplateError> {
    let mut parts = Vec::new();
    let mut offsets = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        literal.push_str(&rest[..dollar]);
        let after = &rest[dollar..];
        if let Some(escaped) = after.strip_prefix("$${") {
            literal.push_str("${");
            rest = escaped;
        } else if let Some(opened) = after.strip_prefix("${") {
            let offset = text.len() - after.len();
            let error = |kind| TemplateError {
                offset,
                column: text[..offset].chars().count() + 1,
                kind,
            };
            let close = opened
                .find('}')
                .ok_or_else(|| error(TemplateErrorKind::Unterminated))?;
            let reference = parse_reference(&opened[..close]).map_err(error)?;
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Reference(reference));
            offsets.push(offset);
            rest = &opened[close + 1..];
        } else {
            // A `$` not starting `${` is just a dollar.
            literal.push('$');
            rest = &after[1..];
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Text(literal));
    }
    Ok((Template { parts }, offsets))
}

/// What is between `${` and `}`, surrounding blanks allowed.
fn parse_reference(inner: &str) -> Result<Reference, TemplateErrorKind> {
    let trimmed = inner.trim();
    if trimmed.is_empty() {
        return Err(TemplateErrorKind::Empty);
    }
    let malformed = || TemplateErrorKind::Malformed {
        inner: inner.to_owned(),
    };
    let segments: Vec<&str> = trimmed.split('.').collect();
    if segments.iter().any(|segment| !is_identifier(segment)) {
        return Err(malformed());
    }
    match segments.as_slice() {
        ["var", name] => Ok(Reference::Variable((*name).to_owned())),
        ["var", ..] => Err(malformed()),
        [kind, name, attribute] => {
            let address =
                Address::new(kind, name).ok_or_else(|| TemplateErrorKind::UnknownKind {
                    kind: (*kind).to_owned(),
                    inner: inner.to_owned(),
                    suggestion: did_you_mean(kind, crate::kinds::registry().names()),
                })?;
            Ok(Reference::Attribute {
                address,
                attribute: (*attribute).to_owned(),
            })
        }
        _ => Err(malformed()),
    }
}

/// Letters, digits, `-` and `_`: anything else inside `${...}` is a typo, not a name
/// (whether the name is a valid one is checked where it is declared).
fn is_identifier(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Part {
        Part::Text(value.to_owned())
    }

    fn variable(name: &str) -> Part {
        Part::Reference(Reference::Variable(name.to_owned()))
    }

    fn attribute(kind: &'static str, name: &str, attribute: &str) -> Part {
        Part::Reference(Reference::Attribute {
            address: Address {
                kind,
                name: name.to_owned(),
            },
            attribute: attribute.to_owned(),
        })
    }

    #[test]
    fn parses() {
        let table: Vec<(&str, Vec<Part>)> = vec![
            ("", vec![]),
            ("plain", vec![text("plain")]),
            ("${var.port}", vec![variable("port")]),
            ("${ var.port }", vec![variable("port")]),
            (
                "127.0.0.1:${var.router_port}",
                vec![text("127.0.0.1:"), variable("router_port")],
            ),
            (
                "redis://${redis.queue.host}:6379",
                vec![
                    text("redis://"),
                    attribute("redis", "queue", "host"),
                    text(":6379"),
                ],
            ),
            (
                "${service.auth-api.url}${secret.jwt.value}",
                vec![
                    attribute("service", "auth-api", "url"),
                    attribute("secret", "jwt", "value"),
                ],
            ),
            ("$${var.port}", vec![text("${var.port}")]),
            ("a$${b}c", vec![text("a${b}c")]),
            ("$$${var.x}", vec![text("$${var.x}")]),
            ("cost: $5 or $$", vec![text("cost: $5 or $$")]),
            ("}{ $", vec![text("}{ $")]),
            ("é${var.x}", vec![text("é"), variable("x")]),
        ];
        for (input, parts) in table {
            assert_eq!(parse(input), Ok(Template { parts }), "{input:?}");
        }
    }

    #[test]
    fn rejects() {
        let table = [
            (
                "${",
                1,
                "unterminated reference: `${` without a closing `}`",
            ),
            (
                "abc ${var.x",
                5,
                "unterminated reference: `${` without a closing `}`",
            ),
            ("${}", 1, "empty reference `${}`"),
            ("x${  }", 2, "empty reference `${}`"),
            ("${var}", 1, "malformed reference `${var}`"),
            ("${var.a.b}", 1, "malformed reference `${var.a.b}`"),
            ("${service.api}", 1, "malformed reference `${service.api}`"),
            (
                "${service..url}",
                1,
                "malformed reference `${service..url}`",
            ),
            (
                "${service.a b.url}",
                1,
                "malformed reference `${service.a b.url}`",
            ),
            (
                "ok ${var.x} ${a.b.c.d}",
                13,
                "malformed reference `${a.b.c.d}`",
            ),
            ("éé${x}", 3, "malformed reference `${x}`"),
            (
                "${servise.api.url}",
                1,
                "unknown resource kind `servise` in `${servise.api.url}`",
            ),
            (
                "${thing.api.url}",
                1,
                "unknown resource kind `thing` in `${thing.api.url}`",
            ),
        ];
        for (input, column, message) in table {
            let error = parse(input).expect_err(input);
            assert_eq!(
                (error.column, error.to_string().as_str()),
                (column, message),
                "{input:?}"
            );
        }
    }

    #[test]
    fn helps() {
        let help = |input: &str| parse(input).expect_err(input).help();
        assert_eq!(
            help("${servise.a.url}").as_deref(),
            Some("did you mean `service`?")
        );
        assert_eq!(help("${thing.a.url}"), None);
        assert_eq!(
            help("${var}").as_deref(),
            Some("references look like `${var.NAME}` or `${kind.name.attribute}`")
        );
        assert_eq!(
            help("${").as_deref(),
            Some("write `$${` for a literal `${`")
        );
    }

    #[test]
    fn reference_offsets() {
        let (_, offsets) = parse_with_offsets("é${var.a}$${x} ${var.b}").unwrap();
        assert_eq!(offsets, [2, 16]);
    }

    #[test]
    fn offsets_are_bytes() {
        let error = parse("éé${x}").unwrap_err();
        assert_eq!((error.offset, error.column), (4, 3));
    }
}
