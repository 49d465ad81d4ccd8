//! Normalisation of the path of an incoming request, done before any routing decision.
//!
//! The router matches routes on whole path segments, so it first turns the raw path into
//! a list of segments. Empty segments (`//`) and `.` segments are dropped: they mean
//! nothing and every HTTP server ignores them. A `..` segment is **rejected**, not
//! resolved: resolving would let `/authentication/../transactions/x` look like a
//! `/transactions` request while it was written under `/authentication`, and a backend
//! that resolves paths differently from the router could be reached by a side door.
//! Browsers and HTTP libraries resolve dot-segments before sending, so only a crafted
//! request ever carries one. The same holds for segments that only *decode* to `..`,
//! `/` or `\` (`%2e%2e`, `%2f`, `%5c`, also when encoded twice as in `%252e`).

use std::borrow::Cow;
use std::fmt;

/// How many rounds of percent-decoding are checked for hidden traversal. A backend that
/// decodes twice is already unusual; three rounds covers it with room to spare.
const DECODE_ROUNDS: usize = 3;

/// A path split into segments, with the traversal tricks removed or rejected. It borrows
/// the request's path: nothing is copied unless a segment holds a `%` escape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPath<'a> {
    segments: Vec<Segment<'a>>,
    trailing_slash: bool,
}

/// One path segment: as it was written (still percent-encoded, forwarded upstream as is)
/// and decoded once (what route prefixes are compared with).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment<'a> {
    raw: &'a str,
    decoded: Cow<'a, [u8]>,
}

/// Why a path was refused. Each maps to a 400 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// The path does not start with `/` (e.g. `*` or an empty path).
    NotAbsolute,
    /// A segment is, or decodes to, `..`.
    Traversal,
    /// A segment decodes to something holding `/` or `\`.
    EncodedSeparator,
    /// A segment decodes to a NUL or another control character.
    ControlCharacter,
    /// A `%` not followed by two hexadecimal digits.
    MalformedEscape,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::NotAbsolute => "Path must start with /",
            PathError::Traversal => "Path traversal (..) is not allowed",
            PathError::EncodedSeparator => "Encoded path separators are not allowed",
            PathError::ControlCharacter => "Control characters are not allowed in the path",
            PathError::MalformedEscape => "Malformed percent-encoding in the path",
        })
    }
}

impl std::error::Error for PathError {}

impl<'a> RequestPath<'a> {
    /// Splits and checks `raw` (the path part of a request target, without the query).
    pub fn parse(raw: &'a str) -> Result<Self, PathError> {
        if !raw.starts_with('/') {
            return Err(PathError::NotAbsolute);
        }
        let mut segments = Vec::new();
        for raw_segment in raw.split('/') {
            if raw_segment.is_empty() {
                continue;
            }
            let decoded = decode_checked(raw_segment)?;
            if *decoded == *b"." {
                continue;
            }
            segments.push(Segment {
                raw: raw_segment,
                decoded,
            });
        }
        // `/a/` and `/a` can mean different things to a backend; keep the difference.
        let trailing_slash = raw.len() > 1 && raw.ends_with('/');
        Ok(RequestPath {
            segments,
            trailing_slash,
        })
    }

    /// Whether this path is exactly the one given as segments (`["health"]` for `/health`).
    pub fn is(&self, segments: &[&str]) -> bool {
        self.segments.len() == segments.len()
            && !self.trailing_slash
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(have, want)| *have.decoded == *want.as_bytes())
    }

    /// If the path starts with the whole segments of `prefix`, the path that remains after
    /// them, as the backend must see it: `/token` for `/authentication/token` under the
    /// prefix `["authentication"]`, and `/` when nothing remains.
    pub fn strip_prefix(&self, prefix: &[String]) -> Option<String> {
        if self.segments.len() < prefix.len() {
            return None;
        }
        let matches = self
            .segments
            .iter()
            .zip(prefix)
            .all(|(have, want)| *have.decoded == *want.as_bytes());
        if !matches {
            return None;
        }
        let rest = &self.segments[prefix.len()..];
        let length = rest
            .iter()
            .map(|segment| segment.raw.len() + 1)
            .sum::<usize>();
        // Room for a trailing slash and a query the caller may add.
        let mut path = String::with_capacity(length + 64);
        for segment in rest {
            path.push('/');
            path.push_str(segment.raw);
        }
        // Nothing left is the root; a trailing slash is kept.
        if path.is_empty() || self.trailing_slash {
            path.push('/');
        }
        Some(path)
    }

    /// The normalised path, as written (still percent-encoded).
    #[cfg(test)]
    fn to_raw_string(&self) -> String {
        self.strip_prefix(&[]).unwrap_or_else(|| "/".to_owned())
    }
}

/// Decodes a segment once for matching, and checks up to [`DECODE_ROUNDS`] decodings for
/// a hidden `..`, separator or control character.
fn decode_checked(raw: &str) -> Result<Cow<'_, [u8]>, PathError> {
    if !raw.contains('%') {
        // Nothing to decode: the segment is its own decoding.
        check_decoded(raw.as_bytes())?;
        return Ok(Cow::Borrowed(raw.as_bytes()));
    }
    let once = percent_decode(raw.as_bytes()).ok_or(PathError::MalformedEscape)?;
    check_decoded(&once)?;
    let mut current = once.clone();
    for _ in 1..DECODE_ROUNDS {
        if !current.contains(&b'%') {
            break;
        }
        // A deeper layer that is not valid percent-encoding is just a literal `%`.
        match percent_decode(&current) {
            Some(next) if next != current => {
                check_decoded(&next)?;
                current = next;
            }
            _ => break,
        }
    }
    Ok(Cow::Owned(once))
}

fn check_decoded(decoded: &[u8]) -> Result<(), PathError> {
    if decoded == b".." {
        return Err(PathError::Traversal);
    }
    if decoded.iter().any(|b| *b == b'/' || *b == b'\\') {
        return Err(PathError::EncodedSeparator);
    }
    if decoded.iter().any(|b| b.is_ascii_control()) {
        return Err(PathError::ControlCharacter);
    }
    Ok(())
}

/// Decodes `%XX` escapes. `None` if a `%` is not followed by two hexadecimal digits.
fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let high = hex_value(*input.get(i + 1)?)?;
            let low = hex_value(*input.get(i + 2)?)?;
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_harmless_forms() {
        let cases = [
            ("/", "/"),
            ("/a", "/a"),
            ("/a/", "/a/"),
            ("//a//b", "/a/b"),
            ("/a/./b", "/a/b"),
            ("/./a/.", "/a"),
            ("/a/%2e/b", "/a/b"),
            ("/a/%2E/b/", "/a/b/"),
            ("/a%20b/c", "/a%20b/c"),
            ("/a/%25", "/a/%25"),
            ("/a/%2525", "/a/%2525"),
            ("/a/...", "/a/..."),
            ("/a/..b", "/a/..b"),
        ];
        for (raw, want) in cases {
            let path = RequestPath::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(path.to_raw_string(), want, "normalising {raw}");
        }
    }

    #[test]
    fn rejects_traversal_and_encoded_separators() {
        let cases = [
            ("", PathError::NotAbsolute),
            ("*", PathError::NotAbsolute),
            ("a/b", PathError::NotAbsolute),
            ("/..", PathError::Traversal),
            ("/a/../b", PathError::Traversal),
            ("/a/..", PathError::Traversal),
            ("/a/%2e%2e/b", PathError::Traversal),
            ("/a/%2E%2E/b", PathError::Traversal),
            ("/a/.%2e/b", PathError::Traversal),
            ("/a/%2e./b", PathError::Traversal),
            ("/a/%252e%252e/b", PathError::Traversal),
            ("/a/%25252e%25252e/b", PathError::Traversal),
            ("/a%2f..%2fb", PathError::EncodedSeparator),
            ("/a/%2F", PathError::EncodedSeparator),
            ("/a/%5c", PathError::EncodedSeparator),
            ("/a/%252f", PathError::EncodedSeparator),
            ("/a/%00", PathError::ControlCharacter),
            ("/a/%0a", PathError::ControlCharacter),
            ("/a/%zz", PathError::MalformedEscape),
            ("/a/%2", PathError::MalformedEscape),
        ];
        for (raw, want) in cases {
            assert_eq!(RequestPath::parse(raw), Err(want), "parsing {raw:?}");
        }
    }

    #[test]
    fn strips_whole_segment_prefixes() {
        let prefix = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cases: [(&str, &[&str], Option<&str>); 12] = [
            ("/authentication", &["authentication"], Some("/")),
            ("/authentication/", &["authentication"], Some("/")),
            ("/authentication/token", &["authentication"], Some("/token")),
            ("/authentication/a/b/", &["authentication"], Some("/a/b/")),
            ("/authenticationX", &["authentication"], None),
            ("/authenticationX/token", &["authentication"], None),
            ("/auth", &["authentication"], None),
            ("/", &["authentication"], None),
            ("/a/b/c", &["a", "b"], Some("/c")),
            ("/a/c", &["a", "b"], None),
            ("/anything/here", &[], Some("/anything/here")),
            (
                "/authentic%61tion/token",
                &["authentication"],
                Some("/token"),
            ),
        ];
        for (raw, pre, want) in cases {
            let path = RequestPath::parse(raw).unwrap();
            assert_eq!(
                path.strip_prefix(&prefix(pre)).as_deref(),
                want,
                "stripping {pre:?} from {raw}"
            );
        }
    }

    #[test]
    fn recognises_exact_paths() {
        let cases = [
            ("/health", true),
            ("//health", true),
            ("/./health", true),
            ("/health/", false),
            ("/health/x", false),
            ("/healthz", false),
        ];
        for (raw, want) in cases {
            assert_eq!(
                RequestPath::parse(raw).unwrap().is(&["health"]),
                want,
                "{raw}"
            );
        }
    }
}
