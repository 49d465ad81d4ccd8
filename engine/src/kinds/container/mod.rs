//! What every container kind shares: the keys that say how a container is made (its image,
//! env, files, ports, networks, volumes, command, health check, restart policy), reading
//! them from a table, the attributes a container is planned with, and the plan rules of a
//! container. `service`, `job`, `redis` and `router` are presets over it; [`docker`] makes
//! a container from its planned attributes alone.
//!
//! The attributes of a container, as plans and the state file show them:
//!
//! | attribute | what |
//! |---|---|
//! | `name` | `<project>-<name>[-<i>]` |
//! | `image` | the image reference; for a build, `<project>-<name>:<hash of its inputs>` |
//! | `build` | `{ context, binary }` when the image is built here |
//! | `host` | the name other containers reach it by, on each of its networks |
//! | `networks` | the networks it joins, by name |
//! | `env`, `command` | its environment and the arguments after the entrypoint |
//! | `files`, `file_sources` | container path → content (a digest for binary files), and → the local file |
//! | `ports` | published ports, `127.0.0.1:HOST:CONTAINER` |
//! | `volumes` | container path → volume name |
//! | `health`, `health_test` | the health check's timings (or `none`) and its command, when not the image's |
//! | `restart` | Docker's restart policy |
//! | `running` | `true` for a container that stays up (not a job); not on swarm |
//!
//! On swarm an instance is a swarm service, and the attributes that differ are:
//!
//! | attribute | what |
//! |---|---|
//! | `replicas` | a service's task count (one instance, scaled in place) |
//! | `secrets` | secret name → its value, mounted as `/run/secrets/<name>`; the env key that named it becomes `<KEY>_FILE` |
//! | `ports` | `0.0.0.0:HOST:CONTAINER`: published in host mode, on every address of the node |
//! | `placement` | constraints on the nodes its tasks run on |
//! | `update_order` | `start-first` (new task healthy before the old one stops) or `stop-first` |

pub mod docker;
pub mod hooks;
pub mod swarm;

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};

use std::time::Duration;

use resources::container::{HealthSpec, HealthTimings};
use resources::source::{Disk, Source};
use sha2::Digest;

use crate::attributes::{Attributes, Path};
use crate::config::diagnostic::Problem;
use crate::config::duration;
use crate::config::model::{Address, Part, PortMapping, Reference, Target, Template};
use crate::config::{Checked, Reported, Table, required};
use crate::error::Error;
use crate::kind::{Decision, Diff, Key, Type, Work};
use crate::plan::Instance;
use crate::resolve::Context;
use crate::resolve::Resolved;

/// The keys container kinds take; each kind's schema lists the ones that apply to it.
pub mod keys {
    use super::{Key, Type};

    /// `build = "dir"` or `build = { context = "dir", binary = "crate" }`.
    pub const BUILD: Key = Key::optional("build", Type::StringOrTable);
    /// `image = "name:tag"`: an existing image.
    pub const IMAGE: Key = Key::optional("image", Type::String);
    /// `network = "network.NAME"`.
    pub const NETWORK: Key = Key::optional("network", Type::String);
    /// `networks = ["network.a", "network.b"]`.
    pub const NETWORKS: Key = Key::optional("networks", Type::Array);
    /// `env = { NAME = "value" }`.
    pub const ENV: Key = Key::optional("env", Type::Table);
    /// `files = { "/container/path" = "local/file" }`.
    pub const FILES: Key = Key::optional("files", Type::Table);
    /// `ports = ["127.0.0.1:HOST:CONTAINER"]`.
    pub const PORTS: Key = Key::optional("ports", Type::Array);
    /// `volumes = { "/container/path" = "volume.NAME" }`.
    pub const VOLUMES: Key = Key::optional("volumes", Type::Table);
    /// `command = ["arg", ...]`: the arguments after the image's entrypoint.
    pub const COMMAND: Key = Key::optional("command", Type::Array);
    /// `health = { test, interval, timeout, retries, start_period }` or `health = false`.
    pub const HEALTH: Key = Key::optional("health", Type::TableOrFalse);
    /// `restart = "no" | "on-failure" | "unless-stopped"`.
    pub const RESTART: Key = Key::optional("restart", Type::String);
}

/// The keys of `build = { ... }`.
const BUILD_KEYS: &[Key] = &[
    Key::required("context", Type::String),
    Key::optional("binary", Type::String),
];

/// The keys of `health = { ... }`.
const HEALTH_KEYS: &[Key] = &[
    Key::optional("test", Type::Array),
    Key::optional("interval", Type::String),
    Key::optional("timeout", Type::String),
    Key::optional("retries", Type::Integer),
    Key::optional("start_period", Type::String),
];

/// The restart policies env.toml may ask for (Docker's names).
pub const RESTART_POLICIES: &[&str] = &["no", "on-failure", "unless-stopped"];

/// Where a container's image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// Built from a context folder of this repository (relative to env.toml's folder).
    Build {
        /// The context folder holding the Dockerfile.
        context: PathBuf,
        /// A cargo binary built statically and copied into the context first.
        binary: Option<String>,
    },
    /// An existing image, pulled when absent.
    Image(String),
}

/// A health check: Docker runs `test` (or the image's own check) with these timings;
/// durations in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The command, when not the image's own (`HEALTHCHECK` of its Dockerfile).
    pub test: Option<Vec<String>>,
    /// Between checks.
    pub interval_ms: u64,
    /// For one check.
    pub timeout_ms: u64,
    /// Failures before unhealthy.
    pub retries: u32,
    /// Grace period after start.
    pub start_period_ms: u64,
}

impl Health {
    /// Timings for what a `health` table leaves out: quick checks, since everything runs
    /// on one machine and `apply` waits for them.
    pub const DEFAULT: Health = Health {
        test: None,
        interval_ms: 1_000,
        timeout_ms: 3_000,
        retries: 3,
        start_period_ms: 30_000,
    };
}

/// What a container kind's table says about the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// `build` or `image`; `None` for a kind that makes its own image (Redis).
    pub image: Option<ImageSource>,
    /// The networks it joins.
    pub networks: Vec<Address>,
    /// Environment variables.
    pub env: BTreeMap<String, Template>,
    /// Container path → local file (relative to env.toml's folder).
    pub files: BTreeMap<String, PathBuf>,
    /// Published ports.
    pub ports: Vec<PortMapping>,
    /// Container path → the volume mounted there.
    pub volumes: BTreeMap<String, Address>,
    /// Arguments after the entrypoint.
    pub command: Option<Vec<Template>>,
    /// The health check; `None` for none at all (`health = false`).
    pub health: Option<Health>,
    /// Docker's restart policy.
    pub restart: String,
    /// The backend it runs on.
    pub target: Target,
}

/// Where swarm mounts a service's secrets.
pub const SECRETS_DIR: &str = "/run/secrets";
/// The placement of whatever must run on the manager yoyoform talks to: a task that mounts
/// a volume (swarm makes volumes on the node a task runs on) or publishes a host port.
pub const ON_MANAGER: &str = "node.role == manager";

/// How long a job may run, on either backend.
const JOB_TIMEOUT: Duration = Duration::from_secs(3_600);
/// How long a container (or a swarm task) has to finish what it is doing after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);

impl Container {
    /// Reads the container keys the table's kind takes. `default_restart` is what a
    /// missing `restart` key means for the kind.
    pub fn read(table: &mut Table<'_, '_>, default_restart: &str) -> Checked<Container> {
        let image = if table.takes(keys::IMAGE.name) {
            Some(image_source(table).map(Some))
        } else {
            None
        };
        let networks = networks(table);
        let env = table.template_map("env", env_key_problem);
        let files = table.files("files");
        let ports = table.ports("ports");
        let volumes = table.mounts("volumes", "volume");
        let command = table.templates("command");
        let health = health(table);
        let restart = table.choice("restart", RESTART_POLICIES);
        let target = table.target();
        let (env, command) = (env?.unwrap_or_default(), command?);
        if target == Target::Swarm {
            secrets_as_files(table, &env, command.as_deref())?;
        }
        Ok(Container {
            image: image.transpose()?.flatten(),
            networks: networks?,
            env,
            files: files?.unwrap_or_default(),
            ports: ports?.unwrap_or_default(),
            volumes: volumes?.unwrap_or_default(),
            command,
            health: health?,
            restart: restart?.unwrap_or_else(|| default_restart.to_owned()),
            target,
        })
    }

    /// Every template, in a fixed order.
    pub fn templates(&self) -> Vec<&Template> {
        self.env
            .values()
            .chain(self.command.iter().flatten())
            .collect()
    }

    /// The resources it names by address: its networks and volumes.
    pub fn references(&self) -> Vec<&Address> {
        self.networks.iter().chain(self.volumes.values()).collect()
    }

    /// The image reference: for a build, a tag from the hash of its inputs, so unchanged
    /// sources mean the same tag (no rebuild, no replacement). Worked out once for all
    /// instances of the resource.
    pub fn image(&self, cx: &Context<'_>, address: &Address) -> Result<String, Error> {
        match &self.image {
            Some(ImageSource::Image(image)) => Ok(image.clone()),
            Some(ImageSource::Build { context, binary }) => cx.shared(address, "image", || {
                let tree = cx.tree();
                let tag = build_tag(
                    tree,
                    cx.project(),
                    address,
                    cx.root(),
                    context,
                    binary.as_deref(),
                )?;
                Ok(cx.made_image(tag))
            }),
            None => Err(Error::Bug(format!("{address} has no image source"))),
        }
    }

    /// The attributes of one instance, running `image`. `stays_up`: a container that
    /// should be running (every kind but a job). `kind`: what the kind adds (the router's
    /// routes and port), before what the backend needs is worked out from the whole.
    pub fn desired(
        &self,
        cx: &Context<'_>,
        instance: &Instance,
        image: String,
        stays_up: bool,
        kind: impl FnOnce(&mut Attributes) -> Result<(), Error>,
    ) -> Result<Attributes, Error> {
        let mut attributes = Attributes::default();
        attributes.text("name", cx.object_name(instance));
        attributes.text("image", image);
        if let Some(ImageSource::Build { context, binary }) = &self.image {
            let mut build = BTreeMap::new();
            build.insert("context".to_owned(), context.display().to_string());
            if let Some(binary) = binary {
                build.insert("binary".to_owned(), binary.clone());
            }
            attributes.map("build", build);
        }
        attributes.text("host", &instance.resource.name);
        if !self.networks.is_empty() {
            let mut names = Vec::new();
            for network in &self.networks {
                names.push(cx.attribute(network, "name"));
            }
            attributes.resolved_list("networks", names);
        }
        for (key, template) in &self.env {
            match (self.target, whole_secret(template)) {
                // Swarm hands a secret to a service as a file, never in its environment:
                // the twelve-factor `_FILE` convention says where it is.
                (Target::Swarm, Some(secret)) => {
                    let file = format!("{SECRETS_DIR}/{}", secret.name);
                    attributes.resolved_entry("env", &format!("{key}_FILE"), Resolved::known(file));
                    attributes.resolved_entry("secrets", &secret.name, cx.template(template));
                }
                _ => {
                    attributes.resolved_entry("env", key, cx.template(template));
                }
            }
        }
        if !self.files.is_empty() {
            let mut contents = BTreeMap::new();
            let mut sources = BTreeMap::new();
            for (target, source) in &self.files {
                let bytes = read_file(cx.tree(), cx.root(), source)?;
                contents.insert(target.clone(), file_content(&bytes));
                sources.insert(target.clone(), source.display().to_string());
            }
            attributes.map("files", contents);
            attributes.map("file_sources", sources);
        }
        if !self.ports.is_empty() {
            let ports = self
                .ports
                .iter()
                .map(|port| port_text(port, self.target))
                .collect();
            attributes.list("ports", ports);
        }
        for (target, volume) in &self.volumes {
            attributes.resolved_entry("volumes", target, cx.attribute(volume, "name"));
        }
        if let Some(command) = &self.command {
            let items = command.iter().map(|item| cx.template(item)).collect();
            attributes.resolved_list("command", items);
        }
        set_health(&mut attributes, self.health.as_ref());
        attributes.text("restart", &self.restart);
        kind(&mut attributes)?;
        match self.target {
            Target::Docker if stays_up => {
                attributes.text("running", "true");
            }
            Target::Docker => {}
            Target::Swarm => on_swarm(&mut attributes),
        }
        Ok(attributes)
    }
}

/// What a container needs on swarm besides its attributes on one daemon: where it may run
/// and how it is updated. One that mounts a volume or publishes a host port runs on the
/// manager, and its old task stops before the new one starts (two must not write one
/// append-only file, and one node has each host port once).
fn on_swarm(attributes: &mut Attributes) {
    let exclusive = ["ports", "volumes"]
        .iter()
        .any(|name| attributes.values.contains_key(*name));
    if exclusive {
        attributes.list("placement", vec![ON_MANAGER.to_owned()]);
    }
    let order = if exclusive {
        "stop-first"
    } else {
        "start-first"
    };
    attributes.text("update_order", order);
}

/// The secret a template is exactly the value of (`"${secret.jwt.value}"`), if it is.
fn whole_secret(template: &Template) -> Option<&Address> {
    match template.parts.as_slice() {
        [Part::Reference(Reference::Attribute { address, attribute })]
            if is_secret(address, attribute) =>
        {
            Some(address)
        }
        _ => None,
    }
}

/// Whether `address.attribute` is a sensitive computed value (a secret's).
fn is_secret(address: &Address, attribute: &str) -> bool {
    address
        .kind()
        .schema()
        .attribute(attribute)
        .is_some_and(|declared| declared.sensitive && declared.computed)
}

/// On swarm a secret reaches a service only as a file: an env value that is a secret and
/// nothing else. One inside other text, or in the command, would be in the service's spec
/// for anyone who can inspect it.
fn secrets_as_files(
    table: &mut Table<'_, '_>,
    env: &BTreeMap<String, Template>,
    command: Option<&[Template]>,
) -> Checked<()> {
    let secret_in = |template: &Template| {
        template.references().find_map(|reference| match reference {
            Reference::Attribute { address, attribute } if is_secret(address, attribute) => {
                Some(address.clone())
            }
            _ => None,
        })
    };
    let mut ok = true;
    for (key, template) in env {
        if whole_secret(template).is_some() {
            continue;
        }
        if let Some(secret) = secret_in(template) {
            let problem = Problem::SecretInText {
                key: format!("env.{key}"),
                secret: secret.to_string(),
            };
            table.report_entry("env", key, problem);
            ok = false;
        }
    }
    for template in command.into_iter().flatten() {
        if let Some(secret) = secret_in(template) {
            let problem = Problem::SecretInText {
                key: "command".to_owned(),
                secret: secret.to_string(),
            };
            table.report("command", problem);
            ok = false;
        }
    }
    if ok { Ok(()) } else { Err(Reported) }
}

/// The health attributes: `health` (timings, or `none`) and `health_test`.
pub fn set_health(attributes: &mut Attributes, health: Option<&Health>) {
    let Some(health) = health else {
        attributes.text("health", "none");
        return;
    };
    let timings = BTreeMap::from([
        ("interval".to_owned(), duration::format(health.interval_ms)),
        ("timeout".to_owned(), duration::format(health.timeout_ms)),
        ("retries".to_owned(), health.retries.to_string()),
        (
            "start_period".to_owned(),
            duration::format(health.start_period_ms),
        ),
    ]);
    attributes.map("health", timings);
    if let Some(test) = &health.test {
        attributes.list("health_test", test.clone());
    }
}

/// A published port as attributes write it: on one daemon bound to 127.0.0.1; on swarm
/// in host mode, which binds every address of the node (swarm takes no address).
pub fn port_text(port: &PortMapping, target: Target) -> String {
    let address = match target {
        Target::Docker => "127.0.0.1",
        Target::Swarm => "0.0.0.0",
    };
    format!("{address}:{}:{}", port.host, port.container)
}

/// What an instance of a container kind is on `target`, for messages.
pub fn object(target: Target) -> &'static str {
    match target {
        Target::Docker => "container",
        Target::Swarm => "service",
    }
}

/// The plan rule of a container. On swarm every change is a rolling update of the
/// service, in place (swarm rolls it back if the new tasks fail). On one daemon,
/// starting a stopped container is the one change in place; any other change makes a
/// new container, the new one first when two can run side by side (no host port, no
/// volume: two Redis servers must not write one append-only file) and the kind allows it.
pub fn decide(diff: &Diff<'_>, side_by_side: bool) -> Decision {
    if diff.changed.is_empty() {
        return Decision::Keep;
    }
    if diff.target == Target::Swarm {
        return Decision::Update { reason: None };
    }
    if diff.changed.iter().all(|path| path.attribute == "running") {
        return Decision::Update {
            reason: Some("the container is stopped"),
        };
    }
    let exclusive = ["ports", "volumes"]
        .iter()
        .any(|name| diff.after.values.contains_key(*name));
    Decision::Replace {
        create_before_destroy: side_by_side && !exclusive,
    }
}

/// What a container holds exclusively on `target`: its name (a container's, or a swarm
/// service's) and its host ports.
pub fn claims(attributes: &Attributes, target: Target) -> Vec<String> {
    let mut claims = Vec::new();
    if let Some(name) = attributes.get_text("name") {
        claims.push(format!("{}:{name}", object(target)));
    }
    for mapping in attributes.get_list("ports").unwrap_or_default() {
        if let Some(host) = mapping.split(':').nth(1) {
            claims.push(format!("port:{host}"));
        }
    }
    claims
}

/// The tag of a built image: `<project>-<name>:<first 16 hex of the hash of its inputs>`.
pub fn build_tag(
    tree: &dyn Source,
    project: &str,
    address: &Address,
    root: &FsPath,
    context: &FsPath,
    binary: Option<&str>,
) -> Result<String, Error> {
    let hash = resources::hash::build_inputs_hash(tree, &root.join(context), binary)?;
    Ok(format!("{project}-{}:{}", address.name, &hash[..16]))
}

/// A file's content as a plan shows it: the text, or for a binary file its digest.
pub fn file_content(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => format!("sha256:{:x}", sha2::Sha256::digest(bytes)),
    }
}

/// The file's bytes back from what [`file_content`] made of them; `None` when that is a
/// binary file's digest, which the bytes cannot be had from.
pub fn content_bytes(content: &str) -> Option<&[u8]> {
    let digest = content
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    (!digest).then_some(content.as_bytes())
}

/// Reads a file env.toml names (relative to its folder) from `tree`.
pub fn read_file(tree: &dyn Source, root: &FsPath, source: &FsPath) -> Result<Vec<u8>, Error> {
    tree.read(&root.join(source)).map_err(|error| Error::Read {
        path: source.to_owned(),
        source: error,
    })
}

/// The files a container is planned with, read again: container path → content. The plan
/// showed their content; a file changed since must not slip in unseen.
pub fn planned_files(
    work: &Work<'_>,
    planned: &Attributes,
) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let mut files = BTreeMap::new();
    let contents = planned.get_map("files").cloned().unwrap_or_default();
    for (target, source) in planned.get_map("file_sources").into_iter().flatten() {
        let bytes = read_file(&Disk, work.root, FsPath::new(source))?;
        if contents.get(target) != Some(&file_content(&bytes)) {
            return Err(Error::ChangedSincePlan {
                instance: work.instance.clone(),
                path: Path::key("files", target).to_string(),
            });
        }
        files.insert(target.clone(), bytes);
    }
    Ok(files)
}

/// The health check the planned `health` and `health_test` describe.
pub fn health_spec(planned: &Attributes) -> Result<HealthSpec, Error> {
    let Some(timings) = planned.get_map("health") else {
        return Ok(HealthSpec::Disabled);
    };
    let duration = |key: &str| {
        timings
            .get(key)
            .and_then(|text| duration::parse(text))
            .map(Duration::from_millis)
            .ok_or_else(|| Error::Bug(format!("planned health `{key}` is not a duration")))
    };
    let timings = HealthTimings {
        interval: Some(duration("interval")?),
        timeout: Some(duration("timeout")?),
        retries: timings.get("retries").and_then(|text| text.parse().ok()),
        start_period: Some(duration("start_period")?),
    };
    Ok(match planned.get_list("health_test") {
        Some(test) => HealthSpec::Command(test.to_vec(), timings),
        None => HealthSpec::Timings(timings),
    })
}

/// Exactly one of `build` and `image`.
fn image_source(table: &mut Table<'_, '_>) -> Checked<ImageSource> {
    let name = table.address().to_string();
    match (table.has("build"), table.has("image")) {
        (true, false) => build(table),
        (false, true) => {
            let image = required(table.non_empty("image"))?;
            if !is_image_reference(&image) {
                return Err(table.report("image", Problem::BadImage { found: image }));
            }
            Ok(ImageSource::Image(image))
        }
        (false, false) if table.rejected("build") || table.rejected("image") => Err(Reported),
        (false, false) => Err(table.report_here(Problem::NoImageSource { table: name })),
        (true, true) => Err(table.report_second(
            "build",
            "image",
            Problem::BothKeys {
                table: name,
                first: "build",
                second: "image",
            },
        )),
    }
}

/// Whether `text` is an image reference Docker takes: `[registry[:port]/]path[:tag][@digest]`,
/// the path lower-case words joined by `.`, `_`, `__` or dashes, a tag of at most 128
/// word characters, dots and dashes, a digest `algorithm:hex`.
pub fn is_image_reference(text: &str) -> bool {
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (text, None),
    };
    let digest_ok = digest.is_none_or(|digest| {
        digest.split_once(':').is_some_and(|(algorithm, hex)| {
            !algorithm.is_empty()
                && algorithm
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+._-".contains(c))
                && hex.len() >= 32
                && hex.chars().all(|c| c.is_ascii_hexdigit())
        })
    });
    // A tag is after the last `:` that comes after the last `/` (a registry's port is not).
    let last_slash = rest.rfind('/').map_or(0, |at| at + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(at) => (&rest[..last_slash + at], Some(&rest[last_slash + at + 1..])),
        None => (rest, None),
    };
    let tag_ok = tag.is_none_or(|tag| {
        let mut chars = tag.chars();
        tag.len() <= 128
            && chars
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    });
    let mut components: Vec<&str> = name.split('/').collect();
    // The first part names a registry when it looks like a host: `localhost`, a dot or a port.
    if components.len() > 1 {
        let first = components[0];
        if first == "localhost" || first.contains(['.', ':']) {
            let (host, port) = first.split_once(':').unwrap_or((first, "1"));
            let host_ok = !host.is_empty()
                && host.split('.').all(|part| {
                    !part.is_empty()
                        && !part.starts_with('-')
                        && !part.ends_with('-')
                        && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if !host_ok || port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
                return false;
            }
            components.remove(0);
        }
    }
    let path_ok = !components.is_empty() && components.iter().all(|part| path_component(part));
    name.len() <= 255 && path_ok && tag_ok && digest_ok
}

/// Lower-case letters and digits, in words joined by `.`, `_`, `__` or any run of `-`.
fn path_component(part: &str) -> bool {
    let word = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes: Vec<char> = part.chars().collect();
    if bytes.is_empty() || !word(bytes[0]) || !word(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut at = 0;
    while at < bytes.len() {
        if word(bytes[at]) {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && !word(bytes[at]) {
            at += 1;
        }
        let separator: String = bytes[start..at].iter().collect();
        let ok =
            matches!(separator.as_str(), "." | "_" | "__") || separator.chars().all(|c| c == '-');
        if !ok {
            return false;
        }
    }
    true
}

/// `build = "dir"` or `build = { context = "dir", binary = "name" }`.
fn build(table: &mut Table<'_, '_>) -> Checked<ImageSource> {
    if !table.is_table("build") {
        let context = required(table.build_context("build"))?;
        return Ok(ImageSource::Build {
            context,
            binary: None,
        });
    }
    let mut build = table.nested("build", BUILD_KEYS).ok_or(Reported)?;
    let binary = build.non_empty("binary");
    let context = required(build.build_context("context"));
    Ok(ImageSource::Build {
        context: context?,
        binary: binary?,
    })
}

/// `network = "network.NAME"` or `networks = [...]`, not both.
fn networks(table: &mut Table<'_, '_>) -> Checked<Vec<Address>> {
    if table.has("network") && table.has("networks") {
        let problem = Problem::BothKeys {
            table: table.address().to_string(),
            first: "network",
            second: "networks",
        };
        return Err(table.report_second("network", "networks", problem));
    }
    let one = table.reference("network", "network")?;
    let several = table.references("networks", Some("network"))?;
    Ok(one
        .into_iter()
        .chain(several.into_iter().flatten())
        .collect())
}

/// `health = false`, `health = true` (the image's own check) or a table.
fn health(table: &mut Table<'_, '_>) -> Checked<Option<Health>> {
    if table.is_false("health") {
        return Ok(None);
    }
    let Some(mut health) = table.nested("health", HEALTH_KEYS) else {
        return Ok(Some(Health::DEFAULT));
    };
    let test = health.strings("test");
    let interval = health.duration("interval");
    let timeout = health.duration("timeout");
    let start_period = health.duration("start_period");
    let retries = health.integer("retries", 1, 100);
    let default = Health::DEFAULT;
    Ok(Some(Health {
        test: test?,
        interval_ms: interval?.unwrap_or(default.interval_ms),
        timeout_ms: timeout?.unwrap_or(default.timeout_ms),
        retries: retries?.map_or(default.retries, |retries| retries as u32),
        start_period_ms: start_period?.unwrap_or(default.start_period_ms),
    }))
}

/// An env key Docker would refuse or mangle: empty, or holding `=` (the separator of
/// `NAME=value`) or a NUL.
fn env_key_problem(key: &str) -> Option<Problem> {
    (key.is_empty() || key.contains(['=', '\0'])).then(|| Problem::BadEnvKey {
        key: key.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff_of(before: &Attributes, after: &Attributes) -> Decision {
        let changed = crate::plan::changed_paths(before, after, &[]);
        let drifted = Default::default();
        decide(
            &Diff {
                before,
                after,
                changed: &changed,
                drifted: &drifted,
                target: Target::Docker,
            },
            true,
        )
    }

    fn container(pairs: &[(&str, &str)]) -> Attributes {
        let mut attributes = Attributes::default();
        for (name, value) in pairs {
            attributes.text(name, *value);
        }
        attributes
    }

    #[test]
    fn plan_rules() {
        let running = container(&[("name", "p-a"), ("image", "a:1"), ("running", "true")]);
        let stopped = container(&[("name", "p-a"), ("image", "a:1"), ("running", "false")]);
        let newer = container(&[("name", "p-a"), ("image", "a:2"), ("running", "true")]);
        let mut published = newer.clone();
        published.list("ports", vec!["127.0.0.1:8080:5000".into()]);
        let mut mounted = newer.clone();
        mounted.map(
            "volumes",
            [("/data".to_owned(), "p-data".to_owned())].into(),
        );
        let replace = |create_before_destroy| Decision::Replace {
            create_before_destroy,
        };
        let table = [
            ("unchanged", &running, &running, Decision::Keep),
            (
                "stopped: started in place",
                &stopped,
                &running,
                Decision::Update {
                    reason: Some("the container is stopped"),
                },
            ),
            ("new image: new one first", &running, &newer, replace(true)),
            ("stopped and new image", &stopped, &newer, replace(true)),
            (
                "a host port: old one first",
                &running,
                &published,
                replace(false),
            ),
            (
                "a volume: old one first",
                &running,
                &mounted,
                replace(false),
            ),
        ];
        for (case, before, after, expected) in table {
            assert_eq!(diff_of(before, after), expected, "{case}");
        }
    }

    #[test]
    fn claims_are_the_name_and_host_ports() {
        let mut attributes = container(&[("name", "p-web")]);
        attributes.list(
            "ports",
            vec!["127.0.0.1:8080:5000".into(), "127.0.0.1:8443:5001".into()],
        );
        assert_eq!(
            claims(&attributes, Target::Docker),
            ["container:p-web", "port:8080", "port:8443"]
        );
        assert_eq!(
            claims(&attributes, Target::Swarm),
            ["service:p-web", "port:8080", "port:8443"]
        );
    }

    #[test]
    fn planned_health_becomes_the_spec() {
        let mut planned = Attributes::default();
        planned.text("health", "none");
        assert_eq!(health_spec(&planned).unwrap(), HealthSpec::Disabled);
        let mut timings = Attributes::default();
        set_health(&mut timings, Some(&Health::DEFAULT));
        let expected = HealthTimings {
            interval: Some(Duration::from_secs(1)),
            timeout: Some(Duration::from_secs(3)),
            retries: Some(3),
            start_period: Some(Duration::from_secs(30)),
        };
        assert_eq!(
            health_spec(&timings).unwrap(),
            HealthSpec::Timings(expected)
        );
        timings.list("health_test", vec!["check".into()]);
        assert_eq!(
            health_spec(&timings).unwrap(),
            HealthSpec::Command(vec!["check".into()], expected)
        );
    }

    #[test]
    fn image_references() {
        for (reference, good) in [
            ("x", true),
            ("redis", true),
            ("redis:7", true),
            ("library/redis:7.0.15-alpine", true),
            ("localhost:5000/team/app:1.0", true),
            ("registry.example.com/a/b", true),
            ("my_app__x.y--z:tag_1", true),
            (
                "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                true,
            ),
            ("Redis", false),
            ("app-", false),
            ("app:", false),
            ("app::1", false),
            ("app:-1", false),
            ("a/_b", false),
            ("a b", false),
            ("app@sha256:xyz", false),
            ("localhost:port/app", false),
            ("", false),
        ] {
            assert_eq!(is_image_reference(reference), good, "{reference:?}");
        }
    }

    #[test]
    fn file_contents_are_text_or_a_digest() {
        assert_eq!(file_content(b"[]\n"), "[]\n");
        assert_eq!(
            file_content(&[0xff, 0xfe]),
            format!("sha256:{:x}", sha2::Sha256::digest([0xff, 0xfe]))
        );
        // And back: a text's bytes, none for a digest.
        assert_eq!(content_bytes(&file_content(b"[]\n")), Some(&b"[]\n"[..]));
        assert_eq!(content_bytes(&file_content(&[0xff, 0xfe])), None);
        assert_eq!(content_bytes("sha256:short"), Some(&b"sha256:short"[..]));
    }
}
