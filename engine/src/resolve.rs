//! Resolution: every `${...}` replaced by its value, or marked unknown (a value only apply
//! can give) and sensitive (a secret, or anything made from one). The [`Context`] is what a
//! kind's [`Settings::desired`](crate::kind::Settings::desired) resolves against; it knows
//! no kind: references go through each kind's schema and settings.

use std::collections::BTreeMap;
use std::path::Path as FsPath;
use std::sync::Mutex;

use crate::attributes::{Attributes, Path};
use crate::config::model::{Address, Config, Part, Reference, Resource, Template};
use crate::error::Error;
use crate::plan::{Instance, OutputChange};

pub use crate::attributes::Resolved;

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

/// What resolution needs beyond env.toml: the computed attributes of the resources that
/// have them now (a network's id, a secret's value).
pub struct Context<'a> {
    /// The loaded env.toml.
    pub config: &'a Config,
    /// Its resources by address.
    pub index: &'a Index<'a>,
    /// Computed attributes per resource; a resource absent here has them unknown.
    pub computed: &'a BTreeMap<Address, Attributes>,
    /// Values worked out once per resource and shared by its instances (an image tag is
    /// a hash of a whole build context).
    shared: Mutex<BTreeMap<(Address, &'static str), String>>,
}

impl<'a> Context<'a> {
    /// A context over `config` with these computed attributes.
    pub fn new(
        config: &'a Config,
        index: &'a Index<'a>,
        computed: &'a BTreeMap<Address, Attributes>,
    ) -> Self {
        Context {
            config,
            index,
            computed,
            shared: Mutex::new(BTreeMap::new()),
        }
    }

    /// The project: the prefix of every object's name.
    pub fn project(&self) -> &str {
        &self.config.project
    }

    /// The folder env.toml's relative paths start from.
    pub fn root(&self) -> &FsPath {
        &self.config.root
    }

    /// Where env.toml's files are read.
    pub fn tree(&self) -> &dyn resources::source::Source {
        self.config.tree.as_ref()
    }

    /// The instances a declared resource has.
    pub fn instances(resource: &Resource) -> Vec<Instance> {
        match resource.settings.replicas() {
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

    /// The reference of an image yoyoform makes (`<project>-<name>:<hash>`) as its
    /// containers run it: on a swarm with a registry, the registry's copy.
    pub fn made_image(&self, tag: String) -> String {
        match (&self.config.target, &self.config.registry) {
            (crate::config::model::Target::Swarm, Some(registry)) => format!("{registry}/{tag}"),
            _ => tag,
        }
    }

    /// The backend name of a resource: `<project>-<name>`.
    pub fn resource_name(&self, address: &Address) -> String {
        format!("{}-{}", self.config.project, address.name)
    }

    /// The backend name of an instance: `<project>-<name>[-<i>]`.
    pub fn object_name(&self, instance: &Instance) -> String {
        match instance.index {
            None => self.resource_name(&instance.resource),
            Some(index) => format!("{}-{index}", self.resource_name(&instance.resource)),
        }
    }

    /// A value of `address` worked out once: `make` runs for the first instance only.
    pub fn shared(
        &self,
        address: &Address,
        what: &'static str,
        make: impl FnOnce() -> Result<String, Error>,
    ) -> Result<String, Error> {
        let key = (address.clone(), what);
        if let Some(value) = self.shared.lock().expect("shared values").get(&key) {
            return Ok(value.clone());
        }
        let value = make()?;
        self.shared
            .lock()
            .expect("shared values")
            .insert(key, value.clone());
        Ok(value)
    }

    /// Resolves a template.
    pub fn template(&self, template: &Template) -> Resolved {
        let mut text = Some(String::new());
        let mut sensitive = false;
        for part in &template.parts {
            let piece = match part {
                Part::Text(literal) => Resolved::known(literal.clone()),
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
                    ..OutputChange::default()
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

    /// The value of `address.attribute`: a computed one from what apply recorded (unknown
    /// until then), any other from the resource's settings. Validation made sure the
    /// attribute is one the kind exports.
    pub fn attribute(&self, address: &Address, attribute: &str) -> Resolved {
        let schema = address.kind().schema();
        let declared = schema.attribute(attribute);
        let sensitive = declared.is_some_and(|declared| declared.sensitive);
        if declared.is_some_and(|declared| declared.computed) {
            let path = Path::attribute(attribute);
            let text = self
                .computed
                .get(address)
                .filter(|attributes| !attributes.is_unknown(&path))
                .and_then(|attributes| attributes.get_text(attribute))
                .map(str::to_owned);
            return Resolved { text, sensitive };
        }
        let resource = self.index.get(address).unwrap_or_else(|| {
            panic!("bug: `{address}` is referenced but not declared (the loader checks this)")
        });
        let mut resolved = resource.settings.export(self, address, attribute);
        resolved.sensitive |= sensitive;
        resolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, load_source};

    const ENV: &str = r#"
[project]
name = "p"

[variable.port]
default = 8080

[variable.token]
default = "t0ken"
sensitive = true

[secret.key]

[network.net]

[service.api]
image = "api:1"
network = "network.net"
port = 5001
env = { KEY = "${secret.key.value}", NET = "${network.net.name}/${network.net.id}", TOKEN = "${var.token}" }

[router.edge]
image = "router:1"
listen = "127.0.0.1:${var.port}"
routes = { "/api" = "${service.api.url}" }

[output.edge]
value = "${router.edge.url}"

[output.secret]
value = "${secret.key.value}"
"#;

    fn config() -> Config {
        load_source(
            std::path::Path::new("env.toml"),
            ENV,
            &std::env::temp_dir(),
            &Overrides::new(),
        )
        .unwrap_or_else(|problems| panic!("{problems}"))
    }

    fn reference(text: &str) -> Reference {
        let template = crate::config::template::parse(text).unwrap();
        match &template.parts[..] {
            [Part::Reference(reference)] => reference.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn references_resolve_through_the_kinds() {
        let config = config();
        let index = index(&config);
        let mut computed = BTreeMap::new();
        let mut network = Attributes::default();
        network.text("id", "n3t");
        computed.insert(Address::parse("network.net").unwrap(), network);
        let cx = Context::new(&config, &index, &computed);
        let table = [
            ("${var.port}", Some("8080"), false),
            ("${var.token}", Some("t0ken"), true),
            ("${network.net.name}", Some("p-net"), false),
            ("${network.net.id}", Some("n3t"), false),
            ("${service.api.url}", Some("http://api:5001"), false),
            ("${service.api.host}", Some("api"), false),
            ("${service.api.name}", Some("p-api"), false),
            ("${router.edge.url}", Some("http://127.0.0.1:8080"), false),
            // Not generated yet: unknown, and sensitive all the same.
            ("${secret.key.value}", None, true),
        ];
        for (text, value, sensitive) in table {
            let resolved = cx.reference(&reference(text));
            assert_eq!(
                (resolved.text.as_deref(), resolved.sensitive),
                (value, sensitive),
                "{text}"
            );
        }
    }

    #[test]
    fn templates_are_unknown_when_a_part_is_and_sensitive_when_a_part_is() {
        let config = config();
        let index = index(&config);
        let mut computed = BTreeMap::new();
        let cx = Context::new(&config, &index, &computed);
        let api = &config.resources[2];
        let instance = &Context::instances(api)[0];
        let desired = api.settings.desired(&cx, instance).unwrap();
        let key = Path::key("env", "KEY");
        let net = Path::key("env", "NET");
        let token = Path::key("env", "TOKEN");
        assert!(desired.is_unknown(&key) && desired.is_sensitive(&key));
        assert!(desired.is_unknown(&net) && !desired.is_sensitive(&net));
        assert!(!desired.is_unknown(&token) && desired.is_sensitive(&token));
        assert_eq!(
            cx.outputs()["edge"].value.as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert!(cx.outputs()["secret"].sensitive);

        // Once apply has made them, the values are known.
        let mut secret = Attributes::default();
        secret.text("value", "s3cret");
        computed.insert(Address::parse("secret.key").unwrap(), secret);
        let mut network = Attributes::default();
        network.text("id", "n3t");
        computed.insert(Address::parse("network.net").unwrap(), network);
        let cx = Context::new(&config, &index, &computed);
        let desired = api.settings.desired(&cx, instance).unwrap();
        assert_eq!(desired.get_map("env").unwrap()["KEY"], "s3cret");
        assert_eq!(desired.get_map("env").unwrap()["NET"], "p-net/n3t");
        assert!(desired.unknown.is_empty());
    }

    #[test]
    fn names_of_instances() {
        let config = config();
        let index = index(&config);
        let computed = BTreeMap::new();
        let cx = Context::new(&config, &index, &computed);
        let one = Instance::parse("service.api").unwrap();
        let replica = Instance::parse("service.api[2]").unwrap();
        assert_eq!(cx.object_name(&one), "p-api");
        assert_eq!(cx.object_name(&replica), "p-api-2");
        let mut made = 0;
        let address = one.resource.clone();
        for _ in 0..3 {
            let value = cx.shared(&address, "image", || {
                made += 1;
                Ok("tag".to_owned())
            });
            assert_eq!(value.unwrap(), "tag");
        }
        assert_eq!(made, 1, "a shared value is worked out once");
    }
}
