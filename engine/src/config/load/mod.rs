//! env.toml → [`Config`]. toml parses with spans; this module walks the tables, maps them
//! to the model and checks everything a person can get wrong, collecting every problem
//! instead of stopping at the first, so one run shows all there is to fix.
//!
//! Each reader returns [`Checked`]: `Err(Reported)` means "a problem was recorded, there is
//! no value". A table's readers all run before their results are combined, so that one bad
//! key does not hide the next.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use resources::source::{Disk, Entry, Source};

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::diagnostic::{Diagnostic, Diagnostics, Problem, did_you_mean};
use super::duration;
use super::model::{
    Address, Config, Location, Output, Part, PortMapping, Reference, Resource, Target, Template,
    Value, Variable,
};
use super::overrides::{Origin, Overrides};
use super::template;
use crate::graph::Graph;
use crate::kind::Kind;
use crate::kinds::container::is_image_reference;
use crate::kinds::registry;

/// A value with its span in the source.
type Node<'i> = Spanned<DeValue<'i>>;
/// A key with its span.
type Key<'i> = Spanned<DeString<'i>>;

/// A problem was recorded; there is no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported;
/// A value read from env.toml, or [`Reported`].
pub type Checked<T> = Result<T, Reported>;

/// Variable and output names.
const NAME_PATTERN: &str = "[a-z][a-z0-9_-]*";
/// Resource names become Docker names, image repositories and DNS aliases: Docker refuses
/// a repository ending in `-` or `_`, or with two kinds of separator side by side.
const RESOURCE_PATTERN: &str = "[a-z][a-z0-9]*([-_][a-z0-9]+)*";
/// A DNS label's limit: the name is the containers' alias on their networks.
const MAX_RESOURCE_NAME: usize = 63;
/// The project name prefixes every Docker object's name and is a label value.
const PROJECT_PATTERN: &str = "[a-z][a-z0-9-]*";
/// The longest string a container can be given: the kernel's limit for one argument or
/// environment variable (`MAX_ARG_STRLEN`, its terminating NUL aside).
const MAX_VALUE_BYTES: usize = 131_071;
/// How many parts a dotted key may have: env.toml's deepest is `service.NAME.health.test`.
const MAX_KEY_DEPTH: usize = 16;
/// The tables env.toml may hold besides the resource kinds.
const OTHER_TABLES: [&str; 3] = ["project", "variable", "output"];
/// The only address yoyoform publishes ports on (the network rule of this machine).
const LOOPBACK: &str = "127.0.0.1";

/// Reads, parses and checks the env file at `path`. Relative paths inside it (build
/// contexts, files) are relative to its folder. On failure, every problem found.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Config, Diagnostics> {
    load_from(Arc::new(Disk), path, overrides)
}

/// [`load`] from `tree`: env.toml and every file it names are read there (a revision of
/// the repository, for a review).
pub fn load_from(
    tree: Arc<dyn Source>,
    path: &Path,
    overrides: &Overrides,
) -> Result<Config, Diagnostics> {
    let read = tree
        .read(path)
        .and_then(|bytes| String::from_utf8(bytes).map_err(std::io::Error::other));
    let text = read.map_err(|source| {
        let problem = Problem::Read {
            path: path.to_owned(),
            source,
        };
        Diagnostics::new(
            path.to_owned(),
            vec![Diagnostic::new(Location::default(), &problem)],
        )
    })?;
    let root = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    read_text(tree, path, &text, &root, overrides)
}

/// [`load`] for text already read from the work tree: `path` names it in messages, `root`
/// is the folder its relative paths start from.
pub fn load_source(
    path: &Path,
    source: &str,
    root: &Path,
    overrides: &Overrides,
) -> Result<Config, Diagnostics> {
    read_text(Arc::new(Disk), path, source, root, overrides)
}

fn read_text(
    tree: Arc<dyn Source>,
    path: &Path,
    source: &str,
    root: &Path,
    overrides: &Overrides,
) -> Result<Config, Diagnostics> {
    let mut loader = Loader::new(source, root, tree);
    let config = loader.config(path, overrides);
    match config {
        Ok(config) if loader.diagnostics.is_empty() => Ok(config),
        _ => Err(Diagnostics::new(path.to_owned(), loader.diagnostics)),
    }
}

/// What the checks of one table need from the others: what is declared.
#[derive(Default)]
struct Declared {
    variables: BTreeSet<String>,
    resources: BTreeSet<Address>,
}

/// `[project]`, as the loader reads it before the resources.
struct Project {
    name: String,
    target: Target,
    registry: Option<String>,
}

struct Loader<'s> {
    source: &'s str,
    /// Where the files env.toml names are.
    tree: Arc<dyn Source>,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    root: PathBuf,
    diagnostics: Vec<Diagnostic>,
    declared: Declared,
    /// Variable values in effect, for the values that must be known at load (ports).
    values: BTreeMap<String, Value>,
    /// Host ports published so far: port, where, by whom.
    host_ports: Vec<(u16, Location, Address)>,
    /// The project's backend, which kinds may read their tables by.
    target: Target,
}

impl<'s> Loader<'s> {
    fn new(source: &'s str, root: &Path, tree: Arc<dyn Source>) -> Self {
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        Loader {
            source,
            tree,
            line_starts,
            root: root.to_owned(),
            diagnostics: Vec::new(),
            declared: Declared::default(),
            values: BTreeMap::new(),
            host_ports: Vec::new(),
            target: Target::Docker,
        }
    }

    fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.source.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self
            .source
            .get(start..offset)
            .map_or(1, |text| text.chars().count() + 1);
        Location {
            line: line + 1,
            column,
        }
    }

    fn report_at(&mut self, location: Location, problem: Problem) -> Reported {
        self.diagnostics.push(Diagnostic::new(location, &problem));
        Reported
    }

    fn report(&mut self, span: Range<usize>, problem: Problem) -> Reported {
        let location = self.location(span.start);
        self.report_at(location, problem)
    }

    // ----- the whole file -----

    fn config(&mut self, path: &Path, overrides: &Overrides) -> Checked<Config> {
        let (document, errors) = DeTable::parse_recoverable(self.source);
        if !errors.is_empty() {
            // What toml recovered is a guess; checking it would add noise to real problems.
            for error in errors {
                match error.span() {
                    Some(span) => {
                        let message = error.message().to_owned();
                        self.report(span, Problem::Syntax { message });
                    }
                    None => self.spanless(error.message()),
                }
            }
            return Err(Reported);
        }
        let document = document.into_inner();
        let mut tables: Vec<(&Key, &Node)> = document.iter().collect();
        tables.sort_by_key(|(key, _)| key.span().start);

        self.declare(&tables);
        let variables = self.variables(&tables, overrides);
        // Before the resources: how a kind reads its table may depend on the backend.
        let project = match tables.iter().find(|(key, _)| *key.get_ref() == "project") {
            Some((_, node)) => self.project(node, overrides),
            None => Err(self.report_at(Location { line: 1, column: 1 }, Problem::MissingProject)),
        };
        if let Ok(project) = &project {
            self.target = project.target;
        }
        let mut resources = Vec::new();
        let mut resources_ok = true;
        let mut outputs = Ok(BTreeMap::new());
        for &(key, node) in &tables {
            match key.get_ref().as_ref() {
                "project" | "variable" => {}
                "output" => outputs = self.outputs(node),
                name => match registry().get(name) {
                    Some(kind) => {
                        for resource in self.resources(kind, node) {
                            match resource {
                                Ok(resource) => resources.push(resource),
                                Err(Reported) => resources_ok = false,
                            }
                        }
                    }
                    None => {
                        let kinds = registry().names();
                        let suggestion = did_you_mean(name, kinds.chain(OTHER_TABLES));
                        self.report(
                            key.span(),
                            Problem::UnknownKind {
                                kind: name.to_owned(),
                                suggestion,
                            },
                        );
                    }
                },
            }
        }
        resources
            .sort_by_key(|resource: &Resource| (resource.location.line, resource.location.column));
        self.check_host_ports();
        self.check_cycles(&resources);
        let prefix = project.as_ref().ok().map(|project| project.name.as_str());
        self.check_names(&resources, prefix);

        let project = project?;
        let config = Config {
            path: path.to_owned(),
            root: self.root.clone(),
            tree: self.tree.clone(),
            review: false,
            project: project.name,
            target: project.target,
            registry: project.registry,
            variables: variables?,
            resources,
            outputs: outputs?,
        };
        if resources_ok {
            Ok(config)
        } else {
            Err(Reported)
        }
    }

    /// A toml error that says not where. The one seen is its recursion limit, hit by keys
    /// dotted too deep: the deepest key is where to look.
    fn spanless(&mut self, message: &str) {
        match deepest_key(self.source) {
            Some((offset, key, depth)) if depth > MAX_KEY_DEPTH => {
                let problem = Problem::TooDeep {
                    key,
                    depth,
                    max: MAX_KEY_DEPTH,
                };
                self.report(offset..offset, problem);
            }
            _ => {
                let message = message.to_owned();
                self.report_at(Location { line: 1, column: 1 }, Problem::Syntax { message });
            }
        }
    }

    /// Names every variable and resource first, so that references can be checked in any
    /// order, and a reference to a resource whose table has problems is not also "unknown".
    fn declare(&mut self, tables: &[(&Key, &Node)]) {
        for &(key, node) in tables {
            let Some(entries) = node.get_ref().as_table() else {
                continue;
            };
            let names = entries.keys().map(|name| name.get_ref().to_string());
            match key.get_ref().as_ref() {
                "variable" => self.declared.variables.extend(names),
                table => {
                    if let Some(kind) = registry().get(table) {
                        let addresses = names.map(|name| Address {
                            kind: kind.name(),
                            name,
                        });
                        self.declared.resources.extend(addresses);
                    }
                }
            }
        }
    }

    /// The entries of a `[kind.*]`-style table, in file order, with their names checked.
    fn named_tables<'a, 'i>(
        &mut self,
        node: &'a Node<'i>,
        group: &str,
        what: &'static str,
    ) -> Vec<Checked<(&'a str, Location, &'a DeTable<'i>)>> {
        let Ok(entries) = self.table(node, group) else {
            return Vec::new();
        };
        let mut named: Vec<(&Key, &Node)> = entries.iter().collect();
        named.sort_by_key(|(key, _)| key.span().start);
        named
            .into_iter()
            .map(|(key, node)| {
                let name: &str = key.get_ref();
                let pattern = if what == "resource" {
                    RESOURCE_PATTERN
                } else {
                    NAME_PATTERN
                };
                let name_ok = self.name(name, key.span(), what, pattern);
                let body = self.table(node, &format!("{group}.{name}"));
                name_ok?;
                Ok((name, self.location(node.span().start), body?))
            })
            .collect()
    }

    // ----- resources -----

    fn resources(&mut self, kind: &'static dyn Kind, node: &Node<'s>) -> Vec<Checked<Resource>> {
        self.named_tables(node, kind.name(), "resource")
            .into_iter()
            .map(|entry| {
                let (name, location, table) = entry?;
                let address = Address {
                    kind: kind.name(),
                    name: name.to_owned(),
                };
                let depends_on = self.depends_on(table);
                let settings = {
                    let keys = kind.schema().keys;
                    let mut reader = Table::resource(self, table, &address, keys, location);
                    kind.load(&mut reader)
                };
                Ok(Resource {
                    address,
                    settings: settings?,
                    depends_on: depends_on?,
                    location,
                })
            })
            .collect()
    }

    // ----- project, variables, outputs -----

    fn project(&mut self, node: &Node, overrides: &Overrides) -> Checked<Project> {
        let table = self.table(node, "project")?;
        self.keys(table, "project", &["name", "backend", "registry"]);
        let target = self.target_of(table);
        let registry = self.registry(table);
        let name = self.project_name(node, table, overrides);
        let (target, registry) = (target?, registry?);
        if target != Target::Swarm
            && let Some(node) = table.get("registry")
        {
            return Err(self.report(node.span(), Problem::RegistryWithoutSwarm));
        }
        Ok(Project {
            name: name?,
            target,
            registry,
        })
    }

    /// `backend = "docker" | "swarm"`; `docker` when left out.
    fn target_of(&mut self, table: &DeTable) -> Checked<Target> {
        let Some(node) = table.get("backend") else {
            return Ok(Target::Docker);
        };
        let written = self.string(node, "project.backend")?;
        Target::parse(written).ok_or_else(|| {
            let problem = Problem::BadChoice {
                key: "project.backend".to_owned(),
                choices: Target::NAMES,
                found: written.to_owned(),
            };
            self.report(node.span(), problem)
        })
    }

    /// `registry = "HOST:PORT"`: a registry's address, as an image reference starts.
    fn registry(&mut self, table: &DeTable) -> Checked<Option<String>> {
        let Some(node) = table.get("registry") else {
            return Ok(None);
        };
        let written = self.string(node, "project.registry")?;
        let good = written.rsplit_once(':').is_some_and(|(host, port)| {
            port.parse::<u16>().is_ok_and(|port| port > 0)
                && is_image_reference(&format!("{host}:{port}/x"))
        });
        if !good {
            let problem = Problem::BadRegistry {
                found: written.to_owned(),
            };
            return Err(self.report(node.span(), problem));
        }
        Ok(Some(written.to_owned()))
    }

    /// `name`, or the override of `--project`.
    fn project_name(
        &mut self,
        node: &Node,
        table: &DeTable,
        overrides: &Overrides,
    ) -> Checked<String> {
        let name = match table.get("name") {
            Some(name) => {
                let written = self.string(name, "name")?;
                self.name(written, name.span(), "project", PROJECT_PATTERN)?;
                written.to_owned()
            }
            None => {
                let problem = Problem::MissingKey {
                    key: "name".to_owned(),
                    table: "project".to_owned(),
                };
                return Err(self.report(node.span(), problem));
            }
        };
        match &overrides.project {
            None => Ok(name),
            Some(project) if is_name(project, PROJECT_PATTERN) => Ok(project.clone()),
            Some(project) => Err(self.report_at(
                Location::default(),
                Problem::BadName {
                    what: "project",
                    name: project.clone(),
                    pattern: PROJECT_PATTERN,
                },
            )),
        }
    }

    fn variables(
        &mut self,
        tables: &[(&Key, &Node)],
        overrides: &Overrides,
    ) -> Checked<BTreeMap<String, Variable>> {
        let mut variables = BTreeMap::new();
        let mut ok = true;
        let given = overrides.effective();
        if let Some((_, node)) = tables.iter().find(|(key, _)| *key.get_ref() == "variable") {
            for entry in self.named_tables(node, "variable", "variable") {
                match entry.and_then(|(name, location, table)| {
                    self.variable(name, location, table, given.get(name).copied())
                }) {
                    Ok((name, variable)) => {
                        self.values.insert(name.clone(), variable.value.clone());
                        variables.insert(name, variable);
                    }
                    Err(Reported) => ok = false,
                }
            }
        }
        for (name, value) in &given {
            if value.origin == Origin::Flag && !self.declared.variables.contains(*name) {
                let declared = self.declared.variables.iter().map(String::as_str);
                let suggestion = did_you_mean(name, declared);
                self.report_at(
                    Location::default(),
                    Problem::UndeclaredVariable {
                        name: (*name).to_owned(),
                        suggestion,
                    },
                );
                ok = false;
            }
        }
        // An environment variable for an undeclared variable is ignored: environments
        // outlive the files they were set for.
        if ok { Ok(variables) } else { Err(Reported) }
    }

    fn variable(
        &mut self,
        name: &str,
        location: Location,
        table: &DeTable,
        given: Option<&super::overrides::VariableValue>,
    ) -> Checked<(String, Variable)> {
        let table_name = format!("variable.{name}");
        self.keys(table, &table_name, &["default", "description", "sensitive"]);
        let default = match table.get("default") {
            None => Ok(None),
            Some(node) => match node.get_ref() {
                DeValue::String(text) => Ok(Some(Value::String(text.to_string()))),
                DeValue::Boolean(flag) => Ok(Some(Value::Boolean(*flag))),
                DeValue::Integer(_) => self
                    .integer(node, "default", i64::MIN, i64::MAX)
                    .map(|number| Some(Value::Integer(number))),
                other => Err(self.wrong_type(
                    node.span(),
                    "default",
                    "a string, an integer or a boolean",
                    other,
                )),
            },
        };
        let description = self.optional(table, "description", |loader, node, key| {
            loader.string(node, key).map(str::to_owned)
        });
        let sensitive = self.optional(table, "sensitive", Self::boolean);
        let default = default?;
        let value = match (given, &default) {
            (Some(given), Some(default)) => {
                let converted = match default {
                    Value::String(_) => Some(Value::String(given.value.clone())),
                    Value::Integer(_) => given.value.parse().ok().map(Value::Integer),
                    Value::Boolean(_) => given.value.parse().ok().map(Value::Boolean),
                };
                converted.ok_or_else(|| {
                    self.report_at(
                        location,
                        Problem::BadVariableValue {
                            origin: given.to_string(),
                            name: name.to_owned(),
                            value: given.value.clone(),
                            expected: match default {
                                Value::String(_) => "a string",
                                Value::Integer(_) => "an integer",
                                Value::Boolean(_) => "a boolean (`true` or `false`)",
                            },
                        },
                    )
                })?
            }
            // Without a default there is no type to hold to: the value is a string.
            (Some(given), None) => Value::String(given.value.clone()),
            (None, Some(default)) => default.clone(),
            (None, None) => {
                let problem = Problem::UnsetVariable {
                    name: name.to_owned(),
                };
                return Err(self.report_at(location, problem));
            }
        };
        Ok((
            name.to_owned(),
            Variable {
                value,
                default,
                description: description?,
                sensitive: sensitive?.unwrap_or(false),
                location,
            },
        ))
    }

    fn outputs(&mut self, node: &Node) -> Checked<BTreeMap<String, Output>> {
        let mut outputs = BTreeMap::new();
        let mut ok = true;
        for entry in self.named_tables(node, "output", "output") {
            let output = entry.and_then(|(name, location, table)| {
                let table_name = format!("output.{name}");
                self.keys(table, &table_name, &["value", "sensitive"]);
                let value = self.required(
                    table,
                    location,
                    &table_name,
                    "value",
                    |loader, node, key| loader.template(node, key),
                );
                let sensitive = self.optional(table, "sensitive", Self::boolean);
                Ok((
                    name.to_owned(),
                    Output {
                        value: value?,
                        sensitive: sensitive?.unwrap_or(false),
                        location,
                    },
                ))
            });
            match output {
                Ok((name, output)) => {
                    outputs.insert(name, output);
                }
                Err(Reported) => ok = false,
            }
        }
        if ok { Ok(outputs) } else { Err(Reported) }
    }
}

/// The deepest dotted key of the file (a table header or the key of a `key = value`
/// line): where it starts, its first parts, how many parts it has. Dots inside quotes do
/// not count.
fn deepest_key(source: &str) -> Option<(usize, String, usize)> {
    let mut deepest: Option<(usize, String, usize)> = None;
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let start = offset + (line.len() - line.trim_start().len());
        offset += line.len();
        let text = line.trim_start().trim_start_matches('[');
        let mut quote = None;
        let mut depth = 1;
        let mut end = text.len();
        for (at, c) in text.char_indices() {
            match (quote, c) {
                (Some(open), c) if c == open => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '.') => depth += 1,
                (None, '=' | ']' | '#') => {
                    end = at;
                    break;
                }
                (None, _) => {}
            }
        }
        if deepest.as_ref().is_none_or(|(_, _, most)| depth > *most) {
            let key: String = text[..end].trim().chars().take(40).collect();
            deepest = Some((start, format!("{key}..."), depth));
        }
    }
    deepest
}

mod checks;
mod table;
mod values;

pub use table::{Table, required};
use values::is_name;

#[cfg(test)]
mod tests;
