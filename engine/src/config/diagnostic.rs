//! What is wrong with an env.toml, said so that a person can fix it: every problem with
//! its `env.toml:LINE:COL`, a lower-case message naming the user's words in backticks, and
//! a "did you mean" when a near name exists.

use std::fmt;
use std::path::PathBuf;

use super::model::Location;
use super::template::TemplateError;

/// One problem in env.toml (or in the values given on the command line for it).
///
/// The messages are written here, in one place, so that they read alike.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The path as given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// toml's own complaint, kept as toml words it.
    #[error("{message}")]
    Syntax {
        /// toml's message.
        message: String,
    },
    /// A top-level table that is no kind.
    #[error("unknown resource kind `{kind}`")]
    UnknownKind {
        /// What was written.
        kind: String,
        /// The nearest kind, if any is near.
        suggestion: Option<String>,
    },
    /// A key a table does not take.
    #[error("unknown key `{key}` in `{table}`")]
    UnknownKey {
        /// The key.
        key: String,
        /// The table, e.g. `service.api`.
        table: String,
        /// The nearest allowed key, if any is near.
        suggestion: Option<String>,
    },
    /// A value of the wrong TOML type.
    #[error("`{key}` must be {expected}, found {found}")]
    WrongType {
        /// The key, e.g. `replicas` or `env.HTTP_PORT`.
        key: String,
        /// With its article: "an integer".
        expected: &'static str,
        /// With its article: "a string".
        found: &'static str,
    },
    /// A required key is absent.
    #[error("missing `{key}` in `{table}`")]
    MissingKey {
        /// The key.
        key: String,
        /// The table.
        table: String,
    },
    /// There is no `[project]` table.
    #[error("missing `[project]` table")]
    MissingProject,
    /// On swarm, a secret inside other text, or in a command: swarm hands secrets over as
    /// files only.
    #[error(
        "`{key}` holds `{secret}` with other text, which on swarm would put the secret in the service's spec"
    )]
    SecretInText {
        /// Where: `env.KEY` or `command`.
        key: String,
        /// The secret.
        secret: String,
    },
    /// `registry` without `backend = "swarm"`.
    #[error("`registry` is for `backend = \"swarm\"`")]
    RegistryWithoutSwarm,
    /// `registry` is not `HOST:PORT`.
    #[error("invalid registry `{found}`")]
    BadRegistry {
        /// What was written.
        found: String,
    },
    /// A service or router without `build` or `image`.
    #[error("`{table}` needs `build` or `image`")]
    NoImageSource {
        /// The resource.
        table: String,
    },
    /// Two keys of which a table takes one: `build` and `image`, `network` and `networks`.
    #[error("`{table}` has both `{first}` and `{second}`")]
    BothKeys {
        /// The resource.
        table: String,
        /// The one written first in the message.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// An env key Docker cannot take.
    #[error("env key {key:?} must not be empty or hold `=`")]
    BadEnvKey {
        /// The key.
        key: String,
    },
    /// A name that does not follow the naming rule.
    #[error("invalid {what} name `{name}`")]
    BadName {
        /// "resource", "variable", "output" or "project".
        what: &'static str,
        /// The name.
        name: String,
        /// The rule, as a pattern.
        pattern: &'static str,
    },
    /// An integer outside its range.
    #[error("`{key}` must be between {min} and {max}, found {found}")]
    OutOfRange {
        /// The key.
        key: String,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
        /// What was written.
        found: String,
    },
    /// A string that must not be empty is.
    #[error("`{key}` must not be empty")]
    Empty {
        /// The key.
        key: String,
    },
    /// A `${...}` that does not parse.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// `${var.NAME}` of an undeclared variable.
    #[error("unknown variable `{name}`")]
    UnknownVariable {
        /// The name.
        name: String,
        /// The nearest declared variable.
        suggestion: Option<String>,
    },
    /// A reference, `network =` or `depends_on` to an undeclared resource.
    #[error("unknown resource `{address}`")]
    UnknownResource {
        /// The address as written.
        address: String,
        /// The nearest declared address.
        suggestion: Option<String>,
    },
    /// `${kind.name.attribute}` with an attribute the kind does not have.
    #[error("`{address}` has no attribute `{attribute}`")]
    UnknownAttribute {
        /// The resource.
        address: String,
        /// The attribute asked for.
        attribute: String,
        /// What the kind exports.
        known: Vec<&'static str>,
        /// The nearest one.
        suggestion: Option<String>,
    },
    /// A string that should be an address `kind.name` and is not.
    #[error("`{key}` must be an address like `{example}`, found `{found}`")]
    NotAnAddress {
        /// The key.
        key: String,
        /// An example address.
        example: String,
        /// What was written.
        found: String,
    },
    /// A bare address of another kind than the key takes: `network = "redis.queue"`.
    #[error("`{key}` must point at a {expected}, `{address}` is a {kind}")]
    WrongKind {
        /// The key.
        key: String,
        /// The kind it takes.
        expected: &'static str,
        /// The address.
        address: String,
        /// Its kind.
        kind: &'static str,
    },
    /// A reference to a resource where only variables are known (published ports).
    #[error("`{key}` may only reference variables, found `{reference}`")]
    OnlyVariables {
        /// The key.
        key: String,
        /// The reference, as written.
        reference: String,
    },
    /// A variable with neither a default nor a value given.
    #[error("variable `{name}` has no value")]
    UnsetVariable {
        /// The variable.
        name: String,
    },
    /// A `--var` / `YOYOFORM_VAR_` value that is not of the variable's type.
    #[error("`{origin}` sets variable `{name}` to `{value}`, which is not {expected}")]
    BadVariableValue {
        /// How it was given: `--var router_port=abc` or `YOYOFORM_VAR_router_port`.
        origin: String,
        /// The variable.
        name: String,
        /// The value given.
        value: String,
        /// With its article: "an integer".
        expected: &'static str,
    },
    /// `--var NAME=...` for a variable env.toml does not declare.
    #[error("`--var {name}=...` sets variable `{name}`, which env.toml does not declare")]
    UndeclaredVariable {
        /// The name.
        name: String,
        /// The nearest declared variable.
        suggestion: Option<String>,
    },
    /// Resources that depend on each other in a circle.
    #[error("dependency cycle `{path}`")]
    Cycle {
        /// `service.a -> service.b -> service.a`.
        path: String,
    },
    /// One host port published by two resources.
    #[error("host port {port} is published by both `{first}` and `{second}`")]
    PortTaken {
        /// The port.
        port: u16,
        /// Who published it first (in file order).
        first: String,
        /// Who publishes it again.
        second: String,
    },
    /// One host port published twice by one resource.
    #[error("host port {port} is published twice by `{owner}`")]
    PortTwice {
        /// The port.
        port: u16,
        /// The resource.
        owner: String,
    },
    /// Published ports on a service with several replicas: they would all want them.
    #[error("`{owner}` publishes host ports and has {replicas} replicas, which cannot share them")]
    PortsWithReplicas {
        /// The service.
        owner: String,
        /// How many replicas.
        replicas: u32,
    },
    /// A `ports` entry that does not parse.
    #[error(
        "`ports` entries look like `127.0.0.1:HOST:CONTAINER` or `HOST:CONTAINER`, found `{found}`"
    )]
    BadPortMapping {
        /// The entry (after variable substitution).
        found: String,
    },
    /// A port number outside 1..=65535.
    #[error("`{key}` must be a port between 1 and 65535, found `{found}`")]
    BadPort {
        /// The key.
        key: String,
        /// What was written.
        found: String,
    },
    /// A port published on an address other than loopback.
    #[error("`{key}` publishes on `{address}`; only 127.0.0.1 is allowed")]
    NotLoopback {
        /// The key.
        key: String,
        /// The address written.
        address: String,
    },
    /// A router `listen` that is not `127.0.0.1:PORT`.
    #[error("`listen` must look like `127.0.0.1:PORT`, found `{found}`")]
    BadListen {
        /// The value after variable substitution.
        found: String,
    },
    /// A `files` source that is not a file.
    #[error("`files` source `{path}` does not exist")]
    MissingFile {
        /// The local path as written.
        path: String,
    },
    /// A container path (`files`, `volumes`) that is not absolute and plain.
    #[error("`{key}` target `{path}` {why}")]
    BadTarget {
        /// `files` or `volumes`.
        key: String,
        /// The container path.
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Two resources whose objects would have one name.
    #[error("`{second}` would be the {object} `{name}`, as `{first}` is")]
    NameTaken {
        /// The resource declared first.
        first: String,
        /// The one declared after it.
        second: String,
        /// "container", "volume", ...
        object: &'static str,
        /// The name both would take.
        name: String,
    },
    /// A resource name too long for a DNS label.
    #[error("{what} name `{name}` is longer than {max} characters")]
    NameTooLong {
        /// "resource".
        what: &'static str,
        /// The name.
        name: String,
        /// The most allowed.
        max: usize,
    },
    /// An `image` that is no image reference.
    #[error("`image` `{found}` is not an image reference")]
    BadImage {
        /// What was written.
        found: String,
    },
    /// A route whose upstreams are not what the router can reach.
    #[error("route `{route}` must go to `http://HOST[:PORT]` addresses, found `{found}`")]
    BadUpstream {
        /// The route's prefix.
        route: String,
        /// The value.
        found: String,
    },
    /// A string too long to give a container.
    #[error(
        "`{key}` is {length} bytes; a value given to a container may be at most {max} (the kernel's limit for one argument or variable)"
    )]
    TooLong {
        /// The key.
        key: String,
        /// Its length.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// Tables or keys nested deeper than anything env.toml holds.
    #[error("`{key}` nests {depth} tables deep; env.toml needs no more than {max}")]
    TooDeep {
        /// The dotted key, shortened.
        key: String,
        /// How deep it goes.
        depth: usize,
        /// The most allowed.
        max: usize,
    },
    /// A `build` context that is not a folder.
    #[error("build context `{path}` does not exist")]
    MissingContext {
        /// The context as written.
        path: String,
    },
    /// A `build` context with no Dockerfile.
    #[error("build context `{path}` has no Dockerfile")]
    NoDockerfile {
        /// The context as written.
        path: String,
    },
    /// A `routes` key that is not `/segment...`.
    #[error("route `{path}` must be a path like `/segment` or `/segment/more`")]
    BadRoute {
        /// The key.
        path: String,
    },
    /// A word that is not one of the few a key takes.
    #[error("`{key}` must be one of {}, found `{found}`", quoted(choices))]
    BadChoice {
        /// The key.
        key: String,
        /// What it takes.
        choices: &'static [&'static str],
        /// What was written.
        found: String,
    },
    /// A duration that does not parse.
    #[error("`{key}` must be a duration like `500ms`, `1s` or `2m`, found `{found}`")]
    BadDuration {
        /// The key.
        key: String,
        /// What was written.
        found: String,
    },
}

impl Problem {
    /// The second line, if there is something helpful to say.
    pub fn help(&self) -> Option<String> {
        let did_you_mean = |suggestion: &Option<String>| {
            suggestion
                .as_ref()
                .map(|near| format!("did you mean `{near}`?"))
        };
        match self {
            Problem::UnknownKind { suggestion, .. } => did_you_mean(suggestion).or_else(|| {
                let kinds: Vec<&str> = crate::kinds::registry().names().collect();
                Some(format!(
                    "the tables are `project`, `variable`, `output`, {}",
                    quoted(&kinds)
                ))
            }),
            Problem::UnknownKey { suggestion, .. }
            | Problem::UnknownVariable { suggestion, .. }
            | Problem::UnknownResource { suggestion, .. }
            | Problem::UndeclaredVariable { suggestion, .. } => did_you_mean(suggestion),
            Problem::UnknownAttribute {
                suggestion, known, ..
            } => did_you_mean(suggestion).or_else(|| {
                Some(match known.as_slice() {
                    [] => "it has no attributes to reference".to_owned(),
                    known => format!("its attributes are {}", quoted(known)),
                })
            }),
            Problem::Template(error) => error.help(),
            Problem::BadName { pattern, .. } => Some(format!("names must match `{pattern}`")),
            Problem::BothKeys { .. } => Some("keep only one of them".to_owned()),
            Problem::SecretInText { secret, .. } => Some(format!(
                "swarm hands a secret to a service as a file: give it an env key of its own, \
                 `KEY = \"${{{secret}.value}}\"`, and the service reads it from the file \
                 `KEY_FILE` names"
            )),
            Problem::RegistryWithoutSwarm => Some(
                "on one Docker daemon the images stay where they are built; remove `registry`"
                    .to_owned(),
            ),
            Problem::BadRegistry { .. } => Some(
                "a registry is `HOST:PORT`, as image references start: `10.0.0.1:5000`".to_owned(),
            ),
            Problem::NameTaken { .. } => Some("rename one of them".to_owned()),
            Problem::BadImage { .. } => Some(
                "image references look like `name`, `name:tag`, `registry:5000/team/name:tag` or `name@sha256:...`"
                    .to_owned(),
            ),
            Problem::UnsetVariable { name } => Some(format!(
                "give it a `default`, or set it with `--var {name}=VALUE` or `YOYOFORM_VAR_{name}`"
            )),
            Problem::PortsWithReplicas { .. } => {
                Some("publish one port through a router in front of the replicas".to_owned())
            }
            Problem::NotLoopback { .. } => {
                Some("yoyoform publishes ports on 127.0.0.1 only".to_owned())
            }
            Problem::WrongType {
                expected: "a string",
                found: "an integer" | "a boolean",
                ..
            } => Some("put the value in quotes".to_owned()),
            _ => None,
        }
    }
}

/// Names in backticks, separated by commas: `` `a`, `b` ``.
fn quoted(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    quoted.join(", ")
}

/// One problem at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where; line 0 means the problem is not at one place in the file (it could not be
    /// read, or a value given on the command line is wrong).
    pub location: Location,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is something to say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// The diagnostic for `problem` at `location`.
    pub fn new(location: Location, problem: &Problem) -> Self {
        Diagnostic {
            location,
            message: problem.to_string(),
            help: problem.help(),
        }
    }
}

/// Every problem found in one env.toml, in file order; `Display` writes one per line as
/// `env.toml:LINE:COL: error: MESSAGE`, each followed by its `  help:` line if it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct Diagnostics {
    /// The env file as the user named it: messages start with it.
    pub path: PathBuf,
    /// The problems, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Problems in `path`, sorted by position (the sort is stable: problems at one place
    /// keep the order they were found in).
    pub fn new(path: PathBuf, mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics
            .sort_by_key(|diagnostic| (diagnostic.location.line, diagnostic.location.column));
        Diagnostics { path, diagnostics }
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.diagnostics.len()
    }

    /// True when there are none (a loaded [`Config`](super::model::Config) has none).
    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// Each problem, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter()
    }

    fn render(&self) -> String {
        let mut text = String::new();
        for (i, diagnostic) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(&self.render_one(diagnostic));
        }
        text
    }

    fn render_one(&self, diagnostic: &Diagnostic) -> String {
        let path = self.path.display();
        let Location { line, column } = diagnostic.location;
        let mut text = if line == 0 {
            format!("{path}: error: {}", diagnostic.message)
        } else {
            format!("{path}:{line}:{column}: error: {}", diagnostic.message)
        };
        if let Some(help) = &diagnostic.help {
            text.push_str("\n  help: ");
            text.push_str(help);
        }
        text
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: error: {}",
            self.location.line, self.location.column, self.message
        )
    }
}

/// The candidate nearest to `written`, if one is near enough to be a typo: at most a
/// quarter of the word's length in edits, and at least one (Damerau-Levenshtein, so swapped
/// letters count once). Ties go to the first in sorted order, so the answer is stable.
pub fn did_you_mean<'a>(
    written: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let limit = (written.chars().count() / 4).max(1);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != written)
        .map(|candidate| (strsim::damerau_levenshtein(written, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let keys = ["build", "image", "network", "replicas", "depends_on"];
        let table = [
            ("imagee", Some("image")),
            ("netwrok", Some("network")),
            ("replcias", Some("replicas")),
            ("dependson", Some("depends_on")),
            ("bild", Some("build")),
            ("image", None),
            ("colour", None),
            ("x", None),
        ];
        for (written, expected) in table {
            assert_eq!(
                did_you_mean(written, keys).as_deref(),
                expected,
                "{written:?}"
            );
        }
        // Equally near: the smaller name wins, whatever the order given.
        assert_eq!(did_you_mean("ab", ["ac", "aa"]).as_deref(), Some("aa"));
    }

    #[test]
    fn sorted_by_position_with_help_lines() {
        let at = |line, column| Location { line, column };
        let problems = Diagnostics::new(
            PathBuf::from("dir/env.toml"),
            vec![
                Diagnostic::new(at(3, 1), &Problem::MissingProject),
                Diagnostic::new(
                    at(1, 5),
                    &Problem::UnknownKey {
                        key: "imagee".to_owned(),
                        table: "service.api".to_owned(),
                        suggestion: Some("image".to_owned()),
                    },
                ),
                Diagnostic::new(
                    Location::default(),
                    &Problem::UnsetVariable {
                        name: "port".to_owned(),
                    },
                ),
                Diagnostic::new(
                    at(1, 2),
                    &Problem::Empty {
                        key: "image".to_owned(),
                    },
                ),
            ],
        );
        assert_eq!(problems.len(), 4);
        assert_eq!(
            problems.to_string(),
            "dir/env.toml: error: variable `port` has no value\n  \
             help: give it a `default`, or set it with `--var port=VALUE` or `YOYOFORM_VAR_port`\n\
             dir/env.toml:1:2: error: `image` must not be empty\n\
             dir/env.toml:1:5: error: unknown key `imagee` in `service.api`\n  \
             help: did you mean `image`?\n\
             dir/env.toml:3:1: error: missing `[project]` table"
        );
    }
}
