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

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::diagnostic::{Diagnostic, Diagnostics, Problem, did_you_mean};
use super::model::{
    Address, Body, Config, Health, ImageSource, Kind, Location, Output, Part, PortMapping,
    Reference, Resource, Router, Service, Template, Value, Variable,
};
use super::overrides::{Origin, Overrides};
use super::template;
use crate::graph::Graph;

/// A value with its span in the source.
type Node<'i> = Spanned<DeValue<'i>>;
/// A key with its span.
type Key<'i> = Spanned<DeString<'i>>;

/// A problem was recorded; there is no value.
struct Reported;
type Checked<T> = Result<T, Reported>;

/// Resource, variable and output names: they become Docker names and DNS aliases.
const NAME_PATTERN: &str = "[a-z][a-z0-9_-]*";
/// The project name prefixes every Docker object's name and is a label value.
const PROJECT_PATTERN: &str = "[a-z][a-z0-9-]*";
/// The tables env.toml may hold besides the resource kinds.
const OTHER_TABLES: [&str; 3] = ["project", "variable", "output"];
/// The only address yoyoform publishes ports on (the network rule of this machine).
const LOOPBACK: &str = "127.0.0.1";
/// Port a service listens on inside the network when `port` is not given.
const DEFAULT_SERVICE_PORT: u16 = 5000;
/// Length of a secret when `length` is not given.
const DEFAULT_SECRET_LENGTH: u32 = 32;
const MAX_REPLICAS: i64 = 100;

/// Reads, parses and checks the env file at `path`. Relative paths inside it (build
/// contexts, files) are relative to its folder. On failure, every problem found.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Config, Diagnostics> {
    let source = std::fs::read_to_string(path).map_err(|source| {
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
    load_source(path, &source, &root, overrides)
}

/// [`load`] for text already read: `path` names it in messages, `root` is the folder its
/// relative paths start from.
pub fn load_source(
    path: &Path,
    source: &str,
    root: &Path,
    overrides: &Overrides,
) -> Result<Config, Diagnostics> {
    let mut loader = Loader::new(source, root);
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

struct Loader<'s> {
    source: &'s str,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    root: PathBuf,
    diagnostics: Vec<Diagnostic>,
    declared: Declared,
    /// Variable values in effect, for the values that must be known at load (ports).
    values: BTreeMap<String, Value>,
    /// Host ports published so far: port, where, by whom.
    host_ports: Vec<(u16, Location, Address)>,
}

impl<'s> Loader<'s> {
    fn new(source: &'s str, root: &Path) -> Self {
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        Loader {
            source,
            line_starts,
            root: root.to_owned(),
            diagnostics: Vec::new(),
            declared: Declared::default(),
            values: BTreeMap::new(),
            host_ports: Vec::new(),
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
                let location = error
                    .span()
                    .map_or(Location { line: 1, column: 1 }, |span| {
                        self.location(span.start)
                    });
                let message = error.message().to_owned();
                self.report_at(location, Problem::Syntax { message });
            }
            return Err(Reported);
        }
        let document = document.into_inner();
        let mut tables: Vec<(&Key, &Node)> = document.iter().collect();
        tables.sort_by_key(|(key, _)| key.span().start);

        self.declare(&tables);
        let variables = self.variables(&tables, overrides);
        let mut resources = Vec::new();
        let mut resources_ok = true;
        let mut outputs = Ok(BTreeMap::new());
        let mut project = None;
        for &(key, node) in &tables {
            match key.get_ref().as_ref() {
                "project" => project = Some(self.project(node, overrides)),
                "variable" => {}
                "output" => outputs = self.outputs(node),
                name => match Kind::parse(name) {
                    Some(kind) => {
                        for resource in self.resources(kind, node) {
                            match resource {
                                Ok(resource) => resources.push(resource),
                                Err(Reported) => resources_ok = false,
                            }
                        }
                    }
                    None => {
                        let kinds = Kind::ALL.iter().map(|kind| kind.as_str());
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
        let project = project.unwrap_or_else(|| {
            Err(self.report_at(Location { line: 1, column: 1 }, Problem::MissingProject))
        });
        resources
            .sort_by_key(|resource: &Resource| (resource.location.line, resource.location.column));
        self.check_host_ports();
        self.check_cycles(&resources);

        let config = Config {
            path: path.to_owned(),
            root: self.root.clone(),
            project: project?,
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
                    if let Some(kind) = Kind::parse(table) {
                        let addresses = names.map(|name| Address { kind, name });
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
                let name_ok = self.name(name, key.span(), what, NAME_PATTERN);
                let body = self.table(node, &format!("{group}.{name}"));
                name_ok?;
                Ok((name, self.location(node.span().start), body?))
            })
            .collect()
    }

    // ----- project, variables, outputs -----

    fn project(&mut self, node: &Node, overrides: &Overrides) -> Checked<String> {
        let table = self.table(node, "project")?;
        self.keys(table, "project", &["name"]);
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
            Some(project) if is_name(project, false) => Ok(project.clone()),
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

    // ----- resources -----

    fn resources(&mut self, kind: Kind, node: &Node) -> Vec<Checked<Resource>> {
        self.named_tables(node, kind.as_str(), "resource")
            .into_iter()
            .map(|entry| {
                let (name, location, table) = entry?;
                let address = Address {
                    kind,
                    name: name.to_owned(),
                };
                self.resource(address, location, table)
            })
            .collect()
    }

    fn resource(
        &mut self,
        address: Address,
        location: Location,
        table: &DeTable,
    ) -> Checked<Resource> {
        let table_name = address.to_string();
        let depends_on = self.optional(table, "depends_on", |loader, node, key| {
            let items = loader.array(node, key)?;
            let addresses: Vec<Checked<Address>> = items
                .iter()
                .map(|item| {
                    let text = loader.string(item, key)?;
                    loader.address(text, item.span(), key)
                })
                .collect();
            addresses.into_iter().collect()
        });
        let body = match address.kind {
            Kind::Network => {
                self.keys(table, &table_name, &["depends_on"]);
                Ok(Body::Network)
            }
            Kind::Redis => {
                self.keys(table, &table_name, &["network", "depends_on"]);
                self.network(table).map(|network| Body::Redis { network })
            }
            Kind::Secret => {
                self.keys(table, &table_name, &["length", "depends_on"]);
                self.optional(table, "length", |loader, node, key| {
                    loader.integer(node, key, 1, 4096)
                })
                .map(|length| Body::Secret {
                    length: length.map_or(DEFAULT_SECRET_LENGTH, |length| length as u32),
                })
            }
            Kind::Service => self.service(&address, location, table).map(Body::Service),
            Kind::Router => self.router(&address, location, table).map(Body::Router),
        };
        Ok(Resource {
            address,
            body: body?,
            depends_on: depends_on?.unwrap_or_default(),
            location,
        })
    }

    fn service(
        &mut self,
        address: &Address,
        location: Location,
        table: &DeTable,
    ) -> Checked<Service> {
        let table_name = address.to_string();
        self.keys(
            table,
            &table_name,
            &[
                "build",
                "image",
                "network",
                "port",
                "env",
                "files",
                "ports",
                "replicas",
                "command",
                "health",
                "depends_on",
            ],
        );
        let image = self.image_source(table, location, &table_name);
        let network = self.network(table);
        let port = self.optional(table, "port", |loader, node, key| {
            loader.integer(node, key, 1, 65535).map(|port| port as u16)
        });
        let env = self.optional(table, "env", |loader, node, key| {
            loader.map(node, key, |loader, _, node, key| loader.template(node, key))
        });
        let files = self.optional(table, "files", |loader, node, key| {
            loader.map(node, key, Self::file)
        });
        let ports = self.optional(table, "ports", |loader, node, key| {
            let items = loader.array(node, key)?;
            let mappings: Vec<Checked<PortMapping>> = items
                .iter()
                .map(|item| loader.port_mapping(address, item))
                .collect();
            mappings.into_iter().collect()
        });
        let replicas = self.optional(table, "replicas", |loader, node, key| {
            loader.integer(node, key, 1, MAX_REPLICAS).map(|n| n as u32)
        });
        let command = self.optional(table, "command", |loader, node, key| {
            let items = loader.array(node, key)?;
            let templates: Vec<Checked<Template>> = items
                .iter()
                .map(|item| loader.template(item, key))
                .collect();
            templates.into_iter().collect()
        });
        let health = self.health(table);

        let ports: Vec<PortMapping> = ports?.unwrap_or_default();
        let replicas = replicas?;
        if let Some(count @ 2..) = replicas
            && !ports.is_empty()
        {
            let span = table.get("ports").map_or(0..0, |node| node.span());
            let problem = Problem::PortsWithReplicas {
                owner: table_name,
                replicas: count,
            };
            self.report(span, problem);
        }
        Ok(Service {
            image: image?,
            network: network?,
            port: port?.unwrap_or(DEFAULT_SERVICE_PORT),
            env: env?.unwrap_or_default(),
            files: files?.unwrap_or_default(),
            ports,
            replicas,
            command: command?,
            health: health?,
        })
    }

    fn router(
        &mut self,
        address: &Address,
        location: Location,
        table: &DeTable,
    ) -> Checked<Router> {
        let table_name = address.to_string();
        self.keys(
            table,
            &table_name,
            &[
                "build",
                "image",
                "network",
                "listen",
                "routes",
                "health",
                "depends_on",
            ],
        );
        let image = self.image_source(table, location, &table_name);
        let network = self.network(table);
        let listen = self.required(
            table,
            location,
            &table_name,
            "listen",
            |loader, node, key| {
                let listen = loader.template(node, key)?;
                if let Some(text) = loader.substitute(&listen, node, key)? {
                    let port = loader.listen_port(&text, node.span())?;
                    let location = loader.location(node.span().start);
                    loader.host_ports.push((port, location, address.clone()));
                }
                Ok(listen)
            },
        );
        let routes = self.required(
            table,
            location,
            &table_name,
            "routes",
            |loader, node, key| {
                let routes = loader.map(node, key, |loader, route, node, key| {
                    if !is_route(route.get_ref()) {
                        let problem = Problem::BadRoute {
                            path: route.get_ref().to_string(),
                        };
                        return Err(loader.report(route.span(), problem));
                    }
                    loader.template(node, key)
                })?;
                if routes.is_empty() {
                    let problem = Problem::Empty {
                        key: key.to_owned(),
                    };
                    return Err(loader.report(node.span(), problem));
                }
                Ok(routes)
            },
        );
        let health = self.health(table);
        Ok(Router {
            image: image?,
            network: network?,
            listen: listen?,
            routes: routes?,
            health: health?,
        })
    }

    /// Exactly one of `build` and `image`.
    fn image_source(
        &mut self,
        table: &DeTable,
        location: Location,
        table_name: &str,
    ) -> Checked<ImageSource> {
        match (table.get("build"), table.get("image")) {
            (Some(build), None) => self.build(build),
            (None, Some(image)) => {
                let name = self.string(image, "image")?;
                if name.is_empty() {
                    let problem = Problem::Empty {
                        key: "image".to_owned(),
                    };
                    return Err(self.report(image.span(), problem));
                }
                Ok(ImageSource::Image(name.to_owned()))
            }
            (None, None) => Err(self.report_at(
                location,
                Problem::NoImageSource {
                    table: table_name.to_owned(),
                },
            )),
            (Some(build), Some(image)) => {
                let second = build.span().start.max(image.span().start);
                Err(self.report(
                    second..second,
                    Problem::BothImageSources {
                        table: table_name.to_owned(),
                    },
                ))
            }
        }
    }

    /// `build = "dir"` or `build = { context = "dir", binary = "name" }`.
    fn build(&mut self, node: &Node) -> Checked<ImageSource> {
        let (context_node, binary) = match node.get_ref() {
            DeValue::String(_) => (node, Ok(None)),
            DeValue::Table(table) => {
                self.keys(table, "build", &["context", "binary"]);
                let binary = self.optional(table, "binary", |loader, node, key| {
                    let name = loader.string(node, key)?;
                    if name.is_empty() {
                        let key = key.to_owned();
                        return Err(loader.report(node.span(), Problem::Empty { key }));
                    }
                    Ok(name.to_owned())
                });
                let Some(context) = table.get("context") else {
                    let problem = Problem::MissingKey {
                        key: "context".to_owned(),
                        table: "build".to_owned(),
                    };
                    return Err(self.report(node.span(), problem));
                };
                (context, binary)
            }
            other => {
                return Err(self.wrong_type(node.span(), "build", "a string or a table", other));
            }
        };
        let context = self.string(context_node, "build.context")?;
        let folder = self.root.join(context);
        if !folder.is_dir() {
            let problem = Problem::MissingContext {
                path: context.to_owned(),
            };
            return Err(self.report(context_node.span(), problem));
        }
        if !folder.join("Dockerfile").is_file() {
            let problem = Problem::NoDockerfile {
                path: context.to_owned(),
            };
            return Err(self.report(context_node.span(), problem));
        }
        Ok(ImageSource::Build {
            context: PathBuf::from(context),
            binary: binary?,
        })
    }

    /// `network = "network.NAME"`.
    fn network(&mut self, table: &DeTable) -> Checked<Option<Address>> {
        self.optional(table, "network", |loader, node, key| {
            let text = loader.string(node, key)?;
            let address = loader.address(text, node.span(), key)?;
            if address.kind != Kind::Network {
                let problem = Problem::NotANetwork {
                    address: address.to_string(),
                    kind: address.kind.as_str(),
                };
                return Err(loader.report(node.span(), problem));
            }
            Ok(address)
        })
    }

    /// A bare address, `kind.name`, that must be declared.
    fn address(&mut self, text: &str, span: Range<usize>, key: &str) -> Checked<Address> {
        let Some((kind, name)) = text.split_once('.') else {
            let problem = Problem::NotAnAddress {
                key: key.to_owned(),
                example: if key == "network" {
                    "network.NAME"
                } else {
                    "service.NAME"
                },
                found: text.to_owned(),
            };
            return Err(self.report(span, problem));
        };
        let address = Kind::parse(kind).map(|kind| Address {
            kind,
            name: name.to_owned(),
        });
        match address {
            Some(address) if self.declared.resources.contains(&address) => Ok(address),
            _ => {
                let problem = self.unknown_resource(text);
                Err(self.report(span, problem))
            }
        }
    }

    fn unknown_resource(&self, address: &str) -> Problem {
        let declared: Vec<String> = self
            .declared
            .resources
            .iter()
            .map(ToString::to_string)
            .collect();
        Problem::UnknownResource {
            address: address.to_owned(),
            suggestion: did_you_mean(address, declared.iter().map(String::as_str)),
        }
    }

    /// One `files` entry: an absolute container path = a local file.
    fn file(&mut self, target: &Key, node: &Node, key: &str) -> Checked<PathBuf> {
        let source = self.string(node, key);
        if !target.get_ref().starts_with('/') {
            let problem = Problem::RelativeTarget {
                path: target.get_ref().to_string(),
            };
            self.report(target.span(), problem);
            return Err(Reported);
        }
        let source = source?;
        if !self.root.join(source).is_file() {
            let problem = Problem::MissingFile {
                path: source.to_owned(),
            };
            return Err(self.report(node.span(), problem));
        }
        Ok(PathBuf::from(source))
    }

    /// `health = false`, `health = true` (the image's own check) or a table of timings.
    fn health(&mut self, table: &DeTable) -> Checked<Option<Option<Health>>> {
        let Some(node) = table.get("health") else {
            return Ok(None);
        };
        match node.get_ref() {
            DeValue::Boolean(false) => Ok(Some(None)),
            DeValue::Boolean(true) => Ok(None),
            DeValue::Table(timings) => {
                self.keys(
                    timings,
                    "health",
                    &["interval", "timeout", "retries", "start_period"],
                );
                let duration = |loader: &mut Self, key: &str| {
                    loader.optional(timings, key, |loader, node, key| {
                        let text = loader.string(node, &format!("health.{key}"))?;
                        parse_duration(text).ok_or_else(|| {
                            let problem = Problem::BadDuration {
                                key: format!("health.{key}"),
                                found: text.to_owned(),
                            };
                            loader.report(node.span(), problem)
                        })
                    })
                };
                let interval = duration(self, "interval");
                let timeout = duration(self, "timeout");
                let start_period = duration(self, "start_period");
                let retries = self.optional(timings, "retries", |loader, node, _| {
                    loader
                        .integer(node, "health.retries", 1, 100)
                        .map(|n| n as u32)
                });
                let default = Health::DEFAULT;
                Ok(Some(Some(Health {
                    interval_ms: interval?.unwrap_or(default.interval_ms),
                    timeout_ms: timeout?.unwrap_or(default.timeout_ms),
                    retries: retries?.unwrap_or(default.retries),
                    start_period_ms: start_period?.unwrap_or(default.start_period_ms),
                })))
            }
            other => Err(self.wrong_type(node.span(), "health", "a table or `false`", other)),
        }
    }

    // ----- ports -----

    /// One `ports` entry, `127.0.0.1:HOST:CONTAINER` or `HOST:CONTAINER`, after variables.
    fn port_mapping(&mut self, owner: &Address, node: &Node) -> Checked<PortMapping> {
        let template = self.template(node, "ports")?;
        // A value that cannot be known (an unset variable) was reported already.
        let text = self.substitute(&template, node, "ports")?.ok_or(Reported)?;
        let span = node.span();
        let fields: Vec<&str> = text.split(':').collect();
        let (host, container) = match fields.as_slice() {
            [host, container] => (*host, *container),
            [address, host, container] if *address == LOOPBACK => (*host, *container),
            [address, _, _] => {
                let problem = Problem::NotLoopback {
                    key: "ports".to_owned(),
                    address: (*address).to_owned(),
                };
                return Err(self.report(span, problem));
            }
            _ => {
                let problem = Problem::BadPortMapping {
                    found: text.clone(),
                };
                return Err(self.report(span, problem));
            }
        };
        let host = self.port_number(host, "ports", span.clone());
        let container = self.port_number(container, "ports", span.clone());
        let mapping = PortMapping {
            host: host?,
            container: container?,
        };
        let location = self.location(span.start);
        self.host_ports
            .push((mapping.host, location, owner.clone()));
        Ok(mapping)
    }

    /// The port of a router's `listen`, which must be `127.0.0.1:PORT`.
    fn listen_port(&mut self, text: &str, span: Range<usize>) -> Checked<u16> {
        match text.rsplit_once(':') {
            Some((LOOPBACK, port)) => self.port_number(port, "listen", span),
            Some((address, port)) if !address.is_empty() && port.parse::<u16>().is_ok() => {
                let problem = Problem::NotLoopback {
                    key: "listen".to_owned(),
                    address: address.to_owned(),
                };
                Err(self.report(span, problem))
            }
            _ => Err(self.report(
                span,
                Problem::BadListen {
                    found: text.to_owned(),
                },
            )),
        }
    }

    fn port_number(&mut self, text: &str, key: &str, span: Range<usize>) -> Checked<u16> {
        match text.parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(self.report(
                span,
                Problem::BadPort {
                    key: key.to_owned(),
                    found: text.to_owned(),
                },
            )),
        }
    }

    /// Two resources on one host port, or one resource on it twice: Docker would refuse
    /// the second at apply, after the first half of the environment is up.
    fn check_host_ports(&mut self) {
        let mut first_owner: BTreeMap<u16, Address> = BTreeMap::new();
        let mut ports = std::mem::take(&mut self.host_ports);
        ports.sort_by_key(|(_, location, _)| (location.line, location.column));
        for (port, location, owner) in ports {
            match first_owner.get(&port) {
                None => {
                    first_owner.insert(port, owner);
                }
                Some(first) if *first == owner => {
                    let owner = owner.to_string();
                    self.report_at(location, Problem::PortTwice { port, owner });
                }
                Some(first) => {
                    let problem = Problem::PortTaken {
                        port,
                        first: first.to_string(),
                        second: owner.to_string(),
                    };
                    self.report_at(location, problem);
                }
            }
        }
    }

    fn check_cycles(&mut self, resources: &[Resource]) {
        let graph = Graph::unchecked(resources);
        for cycle in graph.cycles() {
            let start = &cycle.addresses[0];
            let location = resources
                .iter()
                .find(|resource| &resource.address == start)
                .map_or_else(Location::default, |resource| resource.location);
            self.report_at(location, Problem::Cycle { path: cycle.path() });
        }
    }

    // ----- templates -----

    /// A string value parsed as a template, its references checked against what is
    /// declared. Problems point at the `${` inside the string when that can be found.
    fn template(&mut self, node: &Node, key: &str) -> Checked<Template> {
        let text = self.string(node, key)?;
        let span = node.span();
        let (template, offsets) = template::parse_with_offsets(text).map_err(|error| {
            let at = self.offset_in_string(span.clone(), text, error.offset);
            self.report(at..at, Problem::Template(error))
        })?;
        let mut ok = true;
        for (reference, offset) in template.references().zip(offsets) {
            if let Some(problem) = self.check_reference(reference) {
                let at = self.offset_in_string(span.clone(), text, offset);
                self.report(at..at, problem);
                ok = false;
            }
        }
        if ok { Ok(template) } else { Err(Reported) }
    }

    fn check_reference(&self, reference: &Reference) -> Option<Problem> {
        match reference {
            Reference::Variable(name) if !self.declared.variables.contains(name) => {
                let declared = self.declared.variables.iter().map(String::as_str);
                Some(Problem::UnknownVariable {
                    name: name.clone(),
                    suggestion: did_you_mean(name, declared),
                })
            }
            Reference::Variable(_) => None,
            Reference::Attribute { address, .. } if !self.declared.resources.contains(address) => {
                Some(self.unknown_resource(&address.to_string()))
            }
            Reference::Attribute { address, attribute } => {
                let known = address.kind.attributes();
                (!known.contains(&attribute.as_str())).then(|| Problem::UnknownAttribute {
                    address: address.to_string(),
                    attribute: attribute.clone(),
                    known,
                    suggestion: did_you_mean(attribute, known.iter().copied()),
                })
            }
        }
    }

    /// The text of a template whose only references are variables; `Ok(None)` when a
    /// variable has no value (already reported where it is declared).
    fn substitute(
        &mut self,
        template: &Template,
        node: &Node,
        key: &str,
    ) -> Checked<Option<String>> {
        let mut text = String::new();
        for part in &template.parts {
            match part {
                Part::Text(literal) => text.push_str(literal),
                Part::Reference(Reference::Variable(name)) => match self.values.get(name) {
                    Some(value) => text.push_str(&value.to_string()),
                    None => return Ok(None),
                },
                Part::Reference(Reference::Attribute { address, attribute }) => {
                    let problem = Problem::OnlyVariables {
                        key: key.to_owned(),
                        reference: format!("${{{address}.{attribute}}}"),
                    };
                    return Err(self.report(node.span(), problem));
                }
            }
        }
        Ok(Some(text))
    }

    /// Where byte `offset` of a string value's text is in the file. Exact when the value
    /// is written without escapes (the usual case); otherwise the start of the string.
    fn offset_in_string(&self, span: Range<usize>, text: &str, offset: usize) -> usize {
        let raw = &self.source[span.clone()];
        let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            3
        } else {
            1
        };
        match raw.get(quote..raw.len().saturating_sub(quote)) {
            Some(inner) if inner == text => span.start + quote + offset,
            _ => span.start,
        }
    }

    // ----- typed readers -----

    /// Reports keys of `table` that are not in `allowed`.
    fn keys(&mut self, table: &DeTable, table_name: &str, allowed: &[&str]) {
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

    fn optional<T>(
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

    fn required<T>(
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

    fn wrong_type(
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

    fn table<'a, 'i>(&mut self, node: &'a Node<'i>, key: &str) -> Checked<&'a DeTable<'i>> {
        match node.get_ref() {
            DeValue::Table(table) => Ok(table),
            other => Err(self.wrong_type(node.span(), key, "a table", other)),
        }
    }

    fn array<'a, 'i>(&mut self, node: &'a Node<'i>, key: &str) -> Checked<&'a [Node<'i>]> {
        match node.get_ref() {
            DeValue::Array(items) => Ok(items),
            other => Err(self.wrong_type(node.span(), key, "an array", other)),
        }
    }

    fn string<'a>(&mut self, node: &'a Node, key: &str) -> Checked<&'a str> {
        match node.get_ref() {
            DeValue::String(text) => Ok(text),
            other => Err(self.wrong_type(node.span(), key, "a string", other)),
        }
    }

    fn boolean(&mut self, node: &Node, key: &str) -> Checked<bool> {
        match node.get_ref() {
            DeValue::Boolean(flag) => Ok(*flag),
            other => Err(self.wrong_type(node.span(), key, "a boolean", other)),
        }
    }

    fn integer(&mut self, node: &Node, key: &str, min: i64, max: i64) -> Checked<i64> {
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
    fn map<T>(
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
    fn name(
        &mut self,
        name: &str,
        span: Range<usize>,
        what: &'static str,
        pattern: &'static str,
    ) -> Checked<()> {
        if is_name(name, pattern == NAME_PATTERN) {
            return Ok(());
        }
        let problem = Problem::BadName {
            what,
            name: name.to_owned(),
            pattern,
        };
        Err(self.report(span, problem))
    }
}

/// `[a-z][a-z0-9-]*`, with `_` too when `underscore`.
fn is_name(name: &str, underscore: bool) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_lowercase())
        && chars.all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (underscore && c == '_')
        })
}

/// `/segment` or `/segment/more`: what the router matches requests' paths against.
fn is_route(path: &str) -> bool {
    path.strip_prefix('/').is_some_and(|rest| {
        rest.split('/').all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        })
    })
}

/// `500ms`, `1s`, `2m`, `1h` → milliseconds.
fn parse_duration(text: &str) -> Option<u64> {
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    number.checked_mul(scale)
}

/// `env.HTTP_PORT`, or `files."/etc/x"` for keys that are not bare.
fn key_path(parent: &str, key: &str) -> String {
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

fn type_with_article(value: &DeValue) -> &'static str {
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

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
