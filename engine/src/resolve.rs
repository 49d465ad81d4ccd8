//! Desired attributes: what each instance of a resource should be, with every `${...}`
//! replaced by its value, or marked unknown (a secret not generated yet) and sensitive
//! (a secret, or anything made from one). Pure: files are read, nothing else is touched.

use std::collections::BTreeMap;
use std::path::Path as FsPath;

use crate::attributes::{Attributes, Path, Value};
use crate::config::model::{
    Address, Body, Config, Health, ImageSource, Kind, Part, Reference, Resource, Template,
};
use crate::plan::{Instance, OutputChange};

/// The port the router listens on inside its container.
pub const ROUTER_PORT: u16 = 5000;
/// The port Redis listens on inside its container.
pub const REDIS_PORT: u16 = 6379;

/// A resolved string: its text (`None` when unknown until apply) and whether a secret
/// went into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The text, when known.
    pub text: Option<String>,
    /// Made from something sensitive.
    pub sensitive: bool,
}

/// What resolution needs beyond env.toml: the image each resource runs (from hashing its
/// build inputs), and the attributes only Docker or apply can give (a network's id, a
/// secret's value), for resources that have them now.
pub struct Context<'a> {
    /// The loaded env.toml.
    pub config: &'a Config,
    /// Its resources by address (see [`index`]).
    pub index: &'a Index<'a>,
    /// Image reference per container resource.
    pub images: &'a BTreeMap<Address, String>,
    /// Computed attributes per resource; a resource absent here has them unknown.
    pub computed: &'a BTreeMap<Address, Attributes>,
}

/// A config's resources by address, built once: references are resolved by address many
/// times over, and a scan of the list each time would make plans quadratic.
pub type Index<'a> = BTreeMap<&'a Address, &'a Resource>;

/// The [`Index`] of `config`.
pub fn index(config: &Config) -> Index<'_> {
    config
        .resources
        .iter()
        .map(|resource| (&resource.address, resource))
        .collect()
}

impl Context<'_> {
    /// The instances a declared resource has.
    pub fn instances(resource: &Resource) -> Vec<Instance> {
        let replicas = match &resource.body {
            Body::Service(service) => service.replicas,
            _ => None,
        };
        match replicas {
            None => vec![Instance {
                resource: resource.address.clone(),
                index: None,
            }],
            Some(count) => (0..count)
                .map(|index| Instance {
                    resource: resource.address.clone(),
                    index: Some(index),
                })
                .collect(),
        }
    }

    /// The Docker name of an instance: `<project>-<name>[-<i>]`.
    pub fn docker_name(&self, instance: &Instance) -> String {
        match instance.index {
            None => format!("{}-{}", self.config.project, instance.resource.name),
            Some(index) => format!("{}-{}-{index}", self.config.project, instance.resource.name),
        }
    }

    /// Resolves a template.
    pub fn template(&self, template: &Template) -> Resolved {
        let mut text = Some(String::new());
        let mut sensitive = false;
        for part in &template.parts {
            let piece = match part {
                Part::Text(literal) => Resolved {
                    text: Some(literal.clone()),
                    sensitive: false,
                },
                Part::Reference(reference) => self.reference(reference),
            };
            sensitive |= piece.sensitive;
            text = match (text, piece.text) {
                (Some(mut so_far), Some(piece)) => {
                    so_far.push_str(&piece);
                    Some(so_far)
                }
                _ => None,
            };
        }
        Resolved { text, sensitive }
    }

    /// Every output's value (`None` when known only after apply).
    pub fn outputs(&self) -> BTreeMap<String, OutputChange> {
        self.config
            .outputs
            .iter()
            .map(|(name, output)| {
                let value = self.template(&output.value);
                let change = OutputChange {
                    value: value.text,
                    sensitive: output.sensitive || value.sensitive,
                };
                (name.clone(), change)
            })
            .collect()
    }

    /// The value a reference stands for.
    pub fn reference(&self, reference: &Reference) -> Resolved {
        match reference {
            Reference::Variable(name) => {
                let variable = &self.config.variables[name];
                Resolved {
                    text: Some(variable.value.to_string()),
                    sensitive: variable.sensitive,
                }
            }
            Reference::Attribute { address, attribute } => self.attribute(address, attribute),
        }
    }

    /// The value of `address.attribute`. Validation has made sure the pair exists.
    pub fn attribute(&self, address: &Address, attribute: &str) -> Resolved {
        let known = |text: String| Resolved {
            text: Some(text),
            sensitive: false,
        };
        let name = &address.name;
        match (address.kind, attribute) {
            (Kind::Network, "name") => known(format!("{}-{name}", self.config.project)),
            (Kind::Redis, "host") | (Kind::Service, "host") => known(name.clone()),
            (Kind::Redis, "port") => known(REDIS_PORT.to_string()),
            (Kind::Redis, "url") => known(format!("redis://{name}:{REDIS_PORT}/0")),
            (Kind::Service, "name") => known(format!("{}-{name}", self.config.project)),
            (Kind::Service, "url") => {
                let port = match self.resource(address).map(|r| &r.body) {
                    Some(Body::Service(service)) => service.port,
                    _ => 5000,
                };
                known(format!("http://{name}:{port}"))
            }
            (Kind::Router, "url") => match self.resource(address).map(|r| &r.body) {
                Some(Body::Router(router)) => {
                    let listen = self.template(&router.listen);
                    Resolved {
                        text: listen.text.map(|listen| format!("http://{listen}")),
                        sensitive: listen.sensitive,
                    }
                }
                _ => unreachable!("validation checks references point at their kind"),
            },
            _ => {
                // Computed attributes: a network's id, a secret's value.
                let computed = self.computed.get(address);
                let path = Path::attribute(attribute);
                Resolved {
                    text: computed
                        .filter(|attributes| !attributes.is_unknown(&path))
                        .and_then(|attributes| attributes.get_text(attribute))
                        .map(str::to_owned),
                    sensitive: address.kind == Kind::Secret,
                }
            }
        }
    }

    fn resource(&self, address: &Address) -> Option<&Resource> {
        self.index.get(address).copied()
    }

    /// The desired attributes of one instance.
    pub fn desired(&self, resource: &Resource, instance: &Instance) -> Result<Attributes, String> {
        let mut attributes = Attributes::default();
        match &resource.body {
            Body::Network => {
                attributes.text("name", self.docker_name(instance));
            }
            Body::Secret { length } => {
                attributes.text("length", length.to_string());
            }
            Body::Redis { network } => {
                self.container_basics(&mut attributes, instance, network);
                // Its data outlives the container: a replaced Redis keeps the queue.
                let volume = format!("{}-data", self.docker_name(instance));
                attributes.text("volume", volume);
            }
            Body::Service(service) => {
                self.container_basics(&mut attributes, instance, &service.network);
                let mut env = BTreeMap::new();
                for (key, template) in &service.env {
                    let value = self.template(template);
                    let path = Path::key("env", key);
                    put(&mut attributes, &mut env, path, key, value);
                }
                attributes.values.insert("env".into(), Value::Map(env));
                let mut files = BTreeMap::new();
                for (target, source) in &service.files {
                    files.insert(target.clone(), read_file(&self.config.root, source)?);
                }
                if !files.is_empty() {
                    attributes.values.insert("files".into(), Value::Map(files));
                }
                if !service.ports.is_empty() {
                    let ports = service
                        .ports
                        .iter()
                        .map(|port| format!("127.0.0.1:{}:{}", port.host, port.container))
                        .collect();
                    attributes.values.insert("ports".into(), Value::List(ports));
                }
                if let Some(command) = &service.command {
                    let mut list = Vec::new();
                    for (position, template) in command.iter().enumerate() {
                        let value = self.template(template);
                        let path = Path::key("command", &position.to_string());
                        if value.sensitive {
                            attributes.sensitive.insert(path.clone());
                        }
                        if value.text.is_none() {
                            attributes.unknown.insert(path);
                        }
                        list.push(value.text.unwrap_or_default());
                    }
                    attributes
                        .values
                        .insert("command".into(), Value::List(list));
                }
                attributes.text("health", health_text(&service.health));
            }
            Body::Router(router) => {
                self.container_basics(&mut attributes, instance, &router.network);
                let listen = self.template(&router.listen);
                if listen.text.is_none() {
                    attributes.unknown.insert(Path::attribute("listen"));
                }
                attributes.text("listen", listen.text.unwrap_or_default());
                let mut routes = BTreeMap::new();
                for (prefix, template) in &router.routes {
                    let value = self.template(template);
                    put(
                        &mut attributes,
                        &mut routes,
                        Path::key("routes", prefix),
                        prefix,
                        value,
                    );
                }
                attributes
                    .values
                    .insert("routes".into(), Value::Map(routes));
                attributes.text("health", health_text(&router.health));
            }
        }
        Ok(attributes)
    }

    fn container_basics(
        &self,
        attributes: &mut Attributes,
        instance: &Instance,
        network: &Option<Address>,
    ) {
        attributes.text("name", self.docker_name(instance));
        let image = self
            .images
            .get(&instance.resource)
            .cloned()
            .unwrap_or_default();
        attributes.text("image", image);
        if let Some(network) = network {
            let name = self.attribute(network, "name").text.unwrap_or_default();
            attributes.text("network", name);
        }
    }
}

/// Puts a resolved value under `path` in a map attribute, marking it as needed.
fn put(
    attributes: &mut Attributes,
    map: &mut BTreeMap<String, String>,
    path: Path,
    key: &str,
    value: Resolved,
) {
    if value.sensitive {
        attributes.sensitive.insert(path.clone());
    }
    if value.text.is_none() {
        attributes.unknown.insert(path);
    }
    map.insert(key.to_owned(), value.text.unwrap_or_default());
}

/// A file's content as a plan shows it: the text, or for a binary file its digest.
fn read_file(root: &FsPath, source: &FsPath) -> Result<String, String> {
    let path = root.join(source);
    let bytes = std::fs::read(&path)
        .map_err(|error| format!("cannot read `{}`: {error}", source.display()))?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            use sha2::Digest;
            format!("sha256:{:x}", sha2::Sha256::digest(error.as_bytes()))
        }
    })
}

/// The health settings as one readable value: the timings apply gives Docker (the image's
/// own check command runs with them).
pub fn health_text(health: &Option<Option<Health>>) -> String {
    match health {
        Some(None) => "none".to_owned(),
        Some(Some(health)) => timings(health),
        None => timings(&Health::DEFAULT),
    }
}

fn timings(health: &Health) -> String {
    format!(
        "interval={}ms timeout={}ms retries={} start_period={}ms",
        health.interval_ms, health.timeout_ms, health.retries, health.start_period_ms
    )
}

/// The image reference each container resource runs. For a build, the tag is derived
/// from the hash of its inputs, so unchanged sources mean the same tag: no rebuild and no
/// replacement.
pub fn image_tags(config: &Config) -> Result<BTreeMap<Address, String>, String> {
    let mut images = BTreeMap::new();
    for resource in &config.resources {
        let source = match &resource.body {
            Body::Service(service) => Some(&service.image),
            Body::Router(router) => Some(&router.image),
            Body::Redis { .. } => {
                let hash = resources::redis_image::redis_inputs_hash()
                    .map_err(|error| format!("{}: {error}", resource.address))?;
                images.insert(
                    resource.address.clone(),
                    format!(
                        "{}-{}:{}",
                        config.project,
                        resource.address.name,
                        &hash[..16]
                    ),
                );
                None
            }
            Body::Network | Body::Secret { .. } => None,
        };
        let Some(source) = source else { continue };
        let image = match source {
            ImageSource::Image(image) => image.clone(),
            ImageSource::Build { context, binary } => {
                let hash = resources::hash::build_inputs_hash(
                    &config.root,
                    &config.root.join(context),
                    binary.as_deref(),
                )
                .map_err(|error| format!("{}: {error}", resource.address))?;
                format!(
                    "{}-{}:{}",
                    config.project,
                    resource.address.name,
                    &hash[..16]
                )
            }
        };
        images.insert(resource.address.clone(), image);
    }
    Ok(images)
}
