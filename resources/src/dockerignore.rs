//! The subset of `.dockerignore` that build contexts here use: comments, `*` and `?`
//! within a path segment, `**` across segments, `!` exceptions, the last matching line
//! winning, and a pattern matching a folder covering everything in it. Character classes
//! (`[a-z]`) and escapes are matched literally.

/// The patterns of one `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub(crate) struct DockerIgnore {
    /// `(pattern segments, is an exception)`, in file order.
    rules: Vec<(Vec<String>, bool)>,
}

impl DockerIgnore {
    /// Parses the text of a `.dockerignore`.
    pub(crate) fn parse(text: &str) -> DockerIgnore {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| {
                let (exception, pattern) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let segments: Vec<String> = pattern
                    .split('/')
                    .filter(|segment| !segment.is_empty() && *segment != ".")
                    .map(str::to_string)
                    .collect();
                (!segments.is_empty()).then_some((segments, exception))
            })
            .collect();
        DockerIgnore { rules }
    }

    /// Whether the context-relative path (`/`-separated) is left out of the context.
    pub(crate) fn excludes(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut excluded = false;
        for (pattern, exception) in &self.rules {
            // A pattern naming a folder covers what is inside: try every leading part.
            let matched = (1..=segments.len()).any(|n| matches_segments(pattern, &segments[..n]));
            if matched {
                excluded = !exception;
            }
        }
        excluded
    }
}

/// Whether the pattern's segments match the path's segments exactly.
fn matches_segments(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| matches_segments(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((segment, path_rest)) => {
                matches_segment(first.as_bytes(), segment.as_bytes())
                    && matches_segments(rest, path_rest)
            }
            None => false,
        },
    }
}

/// Glob match of one segment: `*` any run of bytes, `?` one byte.
fn matches_segment(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| matches_segment(rest, &text[skip..])),
        Some((b'?', rest)) => !text.is_empty() && matches_segment(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && matches_segment(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excludes_as_docker_does_for_the_supported_subset() {
        let cases: &[(&str, &str, bool)] = &[
            ("*\n!router\n", "router", false),
            ("*\n!router\n", "src/main.rs", true),
            ("*\n!router\n", "Cargo.toml", true),
            ("# comment\n\ntarget\n", "target/release/x", true),
            ("target\n", "src/target.rs", false),
            ("*.md\n", "README.md", true),
            ("*.md\n", "docs/README.md", false),
            ("**/*.md\n", "docs/README.md", true),
            ("**/*.md\n", "README.md", true),
            ("src/?.rs\n", "src/a.rs", true),
            ("src/?.rs\n", "src/ab.rs", false),
            ("/src/\n", "src/a.rs", true),
            ("src\n!src/keep.rs\n", "src/keep.rs", false),
            ("!src/keep.rs\nsrc\n", "src/keep.rs", true),
            ("", "anything", false),
        ];
        for (ignore, path, excluded) in cases {
            assert_eq!(
                DockerIgnore::parse(ignore).excludes(path),
                *excluded,
                "{ignore:?} on {path}"
            );
        }
    }
}
