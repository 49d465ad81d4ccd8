//! Apply: carries out a plan on Docker. Changes run in parallel along the dependency
//! graph (at most `parallelism` at once); a change starts only when everything it depends
//! on is done and healthy. The state file is written after every completed change. When a
//! change fails, the work in flight finishes, its dependents are skipped, and the root
//! cause is reported.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use resources::container::{ContainerSpec, HealthSpec, HealthTimings};
use resources::labels::Labels;
use state::{LockedState, ResourceState};
use tokio::task::JoinSet;

use crate::attributes::{Attributes, Path, Value};
use crate::config::model::{Address, Body, Config, Health, ImageSource, Kind, Resource};
use crate::plan::{Action, Change, Instance, OutputChange, Plan};
use crate::resolve::{Context, ROUTER_PORT};

/// How long a container may take to become healthy.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(180);

/// What apply reports while it works; the binary prints these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A change started.
    Started(Instance, Action),
    /// A change is still going after this long.
    StillWorking(Instance, Action, Duration),
    /// An image is being built.
    Building(Instance, String),
    /// A change finished after this long; the Docker id when there is one.
    Finished(Instance, Action, Duration, Option<String>),
    /// A change failed.
    Failed(Instance, String),
    /// A change was not attempted because one it depends on failed.
    Skipped(Instance, Instance),
}

/// What apply did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Instances added (creates and the new half of replacements).
    pub added: usize,
    /// Instances changed in place.
    pub changed: usize,
    /// Instances removed (deletes and the old half of replacements).
    pub destroyed: usize,
    /// The changes that failed, with why: the root causes.
    pub failures: Vec<(Instance, String)>,
    /// The changes skipped because a dependency failed.
    pub skipped: Vec<Instance>,
    /// The changes not started because apply was interrupted.
    pub not_started: Vec<Instance>,
}

/// Everything a change needs, shared by the tasks running changes.
pub struct Applier {
    /// env.toml, loaded.
    pub config: Config,
    /// Image reference per container resource (as planned).
    pub images: BTreeMap<Address, String>,
    /// The Docker connection.
    pub docker: resources::Docker,
    /// The locked state file.
    pub state: Arc<LockedState>,
    /// Receives progress.
    pub events: Arc<dyn Fn(Event) + Send + Sync>,
    /// Computed attributes known so far (secret values, network ids), by resource.
    computed: Mutex<BTreeMap<Address, Attributes>>,
    /// One lock per image reference, so replicas build their image once.
    image_locks: tokio::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Builds of static binaries run one at a time (cargo would serialise them anyway).
    cargo: tokio::sync::Mutex<()>,
    /// Set on Ctrl-C: no further change starts; those in flight finish and are recorded.
    pub interrupted: std::sync::atomic::AtomicBool,
}

impl Applier {
    /// An applier starting from the computed attributes the state file recorded.
    pub fn new(
        config: Config,
        images: BTreeMap<Address, String>,
        docker: resources::Docker,
        state: Arc<LockedState>,
        events: Arc<dyn Fn(Event) + Send + Sync>,
    ) -> Self {
        let mut computed = BTreeMap::new();
        for recorded in state.state().resources.values() {
            if let Some(instance) = Instance::parse(&recorded.address) {
                let attributes =
                    Attributes::from_json(&recorded.attributes, &recorded.sensitive_attributes);
                computed.insert(instance.resource, attributes);
            }
        }
        Applier {
            config,
            images,
            docker,
            state,
            events,
            computed: Mutex::new(computed),
            image_locks: tokio::sync::Mutex::new(HashMap::new()),
            cargo: tokio::sync::Mutex::new(()),
            interrupted: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The outputs, from what is applied now.
    pub fn outputs(&self) -> BTreeMap<String, OutputChange> {
        self.with_context(|context| context.outputs())
    }

    /// Runs `f` with a resolution context over what is applied now.
    fn with_context<T>(&self, f: impl FnOnce(&Context<'_>) -> T) -> T {
        let computed = self
            .computed
            .lock()
            .expect("computed attributes lock")
            .clone();
        let index = crate::resolve::index(&self.config);
        f(&Context {
            config: &self.config,
            index: &index,
            images: &self.images,
            computed: &computed,
        })
    }

    fn emit(&self, event: Event) {
        (self.events)(event)
    }
}

/// Runs the plan. Never stops half-way on a failure: it finishes what is in flight and
/// skips only what depended on the failure.
pub async fn apply(applier: Arc<Applier>, plan: &Plan, parallelism: usize) -> Outcome {
    let waits = schedule(&plan.changes);
    let mut outcome = Outcome::default();
    // None: not finished; Some(Ok(())): done; Some(Err(root)): failed or skipped, with the
    // failed change at the root of it.
    let mut finished: Vec<Option<Result<(), Instance>>> = vec![None; plan.changes.len()];
    let mut started = vec![false; plan.changes.len()];
    let mut running = JoinSet::new();
    let parallelism = parallelism.max(1);

    loop {
        // Skip what can never run; start what is ready.
        let mut progress = true;
        while progress {
            progress = false;
            for index in 0..plan.changes.len() {
                if started[index] {
                    continue;
                }
                let failed_dependency = waits[index]
                    .iter()
                    .find_map(|&dependency| finished[dependency].clone()?.err());
                if let Some(root) = failed_dependency {
                    started[index] = true;
                    finished[index] = Some(Err(root.clone()));
                    let instance = plan.changes[index].instance.clone();
                    applier.emit(Event::Skipped(instance.clone(), root));
                    outcome.skipped.push(instance);
                    progress = true;
                    continue;
                }
                let ready = waits[index]
                    .iter()
                    .all(|&dependency| matches!(finished[dependency], Some(Ok(()))));
                let interrupted = applier
                    .interrupted
                    .load(std::sync::atomic::Ordering::Relaxed);
                if ready && running.len() < parallelism && !interrupted {
                    started[index] = true;
                    let change = plan.changes[index].clone();
                    let applier = applier.clone();
                    running.spawn(async move {
                        let result = with_progress(&applier, &change).await;
                        (index, result)
                    });
                    progress = true;
                }
            }
        }
        let Some(joined) = running.join_next().await else {
            outcome.not_started = (0..plan.changes.len())
                .filter(|&index| !started[index])
                .map(|index| plan.changes[index].instance.clone())
                .collect();
            break;
        };
        let (index, result) = joined.expect("apply tasks do not panic");
        let change = &plan.changes[index];
        match result {
            Ok(()) => {
                finished[index] = Some(Ok(()));
                match change.action {
                    Action::Create => outcome.added += 1,
                    Action::Update => outcome.changed += 1,
                    Action::Replace => {
                        outcome.added += 1;
                        outcome.destroyed += 1;
                    }
                    Action::Delete => outcome.destroyed += 1,
                }
            }
            Err(error) => {
                finished[index] = Some(Err(change.instance.clone()));
                applier.emit(Event::Failed(change.instance.clone(), error.clone()));
                outcome.failures.push((change.instance.clone(), error));
            }
        }
    }
    outcome
}

/// How often a long change says it is still going.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Runs one change, saying every ten seconds that it is still going (image builds and
/// health checks can take minutes).
async fn with_progress(applier: &Applier, change: &Change) -> Result<(), String> {
    let began = tokio::time::Instant::now();
    let mut ticker = tokio::time::interval_at(began + PROGRESS_EVERY, PROGRESS_EVERY);
    let work = execute(applier, change);
    tokio::pin!(work);
    loop {
        tokio::select! {
            result = &mut work => return result,
            _ = ticker.tick() => applier.emit(Event::StillWorking(
                change.instance.clone(),
                change.action,
                began.elapsed(),
            )),
        }
    }
}

/// For each change, the changes it must wait for.
///
/// - A deletion waits until nothing uses what it removes: the deletion of whatever
///   depended on it, and the replacement of whatever did (its old container goes then).
/// - A create or replacement waits for its dependencies, and for a deletion that frees a
///   container name or host port it takes.
pub fn schedule(changes: &[Change]) -> Vec<Vec<usize>> {
    changes
        .iter()
        .map(|change| {
            changes
                .iter()
                .enumerate()
                .filter(|(_, other)| !std::ptr::eq(*other, change))
                .filter(|(_, other)| match (change.action, other.action) {
                    (Action::Delete, Action::Delete) => {
                        refers(&other.dependencies, &change.instance)
                    }
                    (Action::Delete, Action::Replace) => {
                        refers(&other.prior_dependencies, &change.instance)
                    }
                    (Action::Delete, _) => false,
                    (_, Action::Delete) => frees(other, change),
                    _ => refers(&change.dependencies, &other.instance),
                })
                .map(|(index, _)| index)
                .collect()
        })
        .collect()
}

/// Whether `instances` names `instance` (a whole resource names all its replicas).
fn refers(instances: &BTreeSet<Instance>, instance: &Instance) -> bool {
    instances.iter().any(|named| {
        named == instance
            || (named.resource == instance.resource
                && (named.index.is_none() || instance.index.is_none()))
    })
}

/// Whether deleting `deletion`'s container frees a container name or host port that
/// `change`'s container takes.
fn frees(deletion: &Change, change: &Change) -> bool {
    let is_container = |kind| !matches!(kind, Kind::Network | Kind::Secret);
    if !is_container(deletion.instance.resource.kind)
        || !is_container(change.instance.resource.kind)
    {
        return false;
    }
    let (Some(old), Some(new)) = (&deletion.before, &change.after) else {
        return false;
    };
    let same_name = old.get_text("name").is_some() && old.get_text("name") == new.get_text("name");
    let shared_port = host_ports(old)
        .iter()
        .any(|port| host_ports(new).contains(port));
    same_name || shared_port
}

/// The host ports a container's attributes publish (`ports`, or a router's `listen`).
fn host_ports(attributes: &Attributes) -> Vec<String> {
    let mut ports: Vec<String> = attributes
        .get_list("ports")
        .unwrap_or_default()
        .iter()
        .filter_map(|mapping| mapping.split(':').nth(1).map(str::to_owned))
        .collect();
    if let Some((_, port)) = attributes
        .get_text("listen")
        .and_then(|listen| listen.rsplit_once(':'))
    {
        ports.push(port.to_owned());
    }
    ports
}

/// Carries out one change and records it in the state file.
async fn execute(applier: &Applier, change: &Change) -> Result<(), String> {
    let instance = &change.instance;
    let start = Instant::now();
    applier.emit(Event::Started(instance.clone(), change.action));
    let prior = applier
        .state
        .state()
        .resources
        .get(&instance.to_string())
        .cloned();
    let prior_id = prior
        .as_ref()
        .and_then(|recorded| recorded.docker_ids.first().cloned());

    if change.action == Action::Delete {
        if let Some(id) = &prior_id {
            delete(applier, instance.resource.kind, id).await?;
        }
        // A volume goes with its resource (not with a replaced container).
        let volume = prior
            .as_ref()
            .and_then(|recorded| recorded.attributes.get("volume"))
            .and_then(|volume| volume.as_str());
        if let Some(volume) = volume {
            resources::volume::remove(&applier.docker, volume)
                .await
                .map_err(|error| error.to_string())?;
        }
        let address = instance.to_string();
        applier
            .state
            .remove_resource(&address)
            .map_err(|error| error.to_string())?;
        applier.emit(Event::Finished(
            instance.clone(),
            change.action,
            start.elapsed(),
            None,
        ));
        return Ok(());
    }

    let resource = applier
        .config
        .resources
        .iter()
        .find(|resource| resource.address == instance.resource)
        .ok_or_else(|| format!("bug: {} is planned but not declared", instance.resource))?
        .clone();
    let desired = resolve_now(applier, &resource, change)?;

    let (id, attributes) = match (instance.resource.kind, change.action) {
        (_, Action::Update) => {
            let id = prior_id.clone().unwrap_or_default();
            resources::container::start(&applier.docker, &id)
                .await
                .map_err(|error| error.to_string())?;
            wait_healthy(applier, &id).await?;
            let mut attributes = desired;
            attributes.text("id", id.clone());
            (id, attributes)
        }
        (Kind::Secret, _) => {
            let length = match resource.body {
                Body::Secret { length } => length as usize,
                _ => unreachable!("a secret's body is a secret"),
            };
            let value: String = rand::rng()
                .sample_iter(rand::distr::Alphanumeric)
                .take(length)
                .map(char::from)
                .collect();
            let mut attributes = desired;
            attributes.text("value", value);
            attributes.sensitive.insert(Path::attribute("value"));
            (String::new(), attributes)
        }
        (Kind::Network, action) => {
            if action == Action::Replace
                && let Some(id) = &prior_id
            {
                delete(applier, Kind::Network, id).await?;
            }
            let name = desired.get_text("name").unwrap_or_default().to_owned();
            let labels = Labels::new(&applier.config.project)
                .address(&instance.to_string())
                .config_hash(&config_hash(&desired))
                .build();
            let id = resources::network::create(&applier.docker, &name, &labels)
                .await
                .map_err(|error| error.to_string())?;
            let mut attributes = desired;
            attributes.text("id", id.clone());
            (id, attributes)
        }
        (_, action) => {
            let id =
                replace_container(applier, &resource, change, &desired, prior_id, action).await?;
            let mut attributes = desired;
            attributes.text("id", id.clone());
            (id, attributes)
        }
    };

    record(applier, change, &id, &attributes)?;
    applier
        .computed
        .lock()
        .expect("computed attributes lock")
        .insert(instance.resource.clone(), attributes);
    let id = (!id.is_empty()).then(|| short(&id));
    applier.emit(Event::Finished(
        instance.clone(),
        change.action,
        start.elapsed(),
        id,
    ));
    Ok(())
}

/// The desired attributes resolved now that the dependencies are applied, checked against
/// what the plan promised: a known value that changed in between is a bug, not a user
/// error, and nothing is done.
fn resolve_now(
    applier: &Applier,
    resource: &Resource,
    change: &Change,
) -> Result<Attributes, String> {
    let mut desired = applier
        .with_context(|context| context.desired(resource, &change.instance))
        .map_err(|error| format!("{}: {error}", change.instance))?;
    let planned = change.after.as_ref().expect("only deletes have no after");
    for (name, value) in &desired.values {
        let path = Path::attribute(name);
        if planned.is_unknown(&path) && !matches!(value, Value::Map(_)) {
            continue;
        }
        let promised = planned.values.get(name);
        let same = match (value, promised) {
            (Value::Map(now), Some(Value::Map(then))) => now.iter().all(|(key, now)| {
                planned.is_unknown(&Path::key(name, key)) || then.get(key) == Some(now)
            }),
            (now, then) => Some(now) == then,
        };
        if !same && name == "files" {
            return Err(format!(
                "a file that `files` of {} copies changed since the plan was made; nothing was done, run plan again",
                change.instance.resource
            ));
        }
        if !same && name != "running" {
            return Err(format!(
                "bug: `{name}` of {} differs from the plan; nothing was done (please report this)",
                change.instance
            ));
        }
    }
    desired.unknown.clear();
    Ok(desired)
}

/// Creates the container for a create or replacement; returns its id. A service without
/// published ports or volumes is replaced without downtime: the new container starts
/// under the name, the old one (renamed) goes only once the new one is healthy. Otherwise
/// the old one must go first.
async fn replace_container(
    applier: &Applier,
    resource: &Resource,
    change: &Change,
    desired: &Attributes,
    prior_id: Option<String>,
    action: Action,
) -> Result<String, String> {
    let docker = &applier.docker;
    let spec = container_spec(applier, resource, change, desired)?;
    ensure_image(applier, resource, change).await?;
    for (volume, _) in &spec.volumes {
        resources::volume::create(docker, volume, &spec.labels)
            .await
            .map_err(|error| error.to_string())?;
    }
    let mut old = None;
    if action == Action::Replace
        && let Some(id) = prior_id
    {
        // As the plan said: the new one first when two can run side by side.
        if change.create_before_destroy {
            let parked = format!("{}-replaced-{}", spec.name, short(&id));
            match resources::container::rename(docker, &id, &parked).await {
                Ok(()) => old = Some(id),
                // Already gone: nothing to keep running meanwhile.
                Err(_) => delete(applier, Kind::Service, &id).await?,
            }
        } else {
            delete(applier, Kind::Service, &id).await?;
            // The old one is gone whatever happens next: the state file must not say
            // otherwise should the new one fail.
            applier
                .state
                .remove_resource(&change.instance.to_string())
                .map_err(|error| error.to_string())?;
        }
    }
    // A container left with this name by an interrupted apply of this project is ours to
    // remove; anyone else's is not.
    if let Some(existing) = resources::container::inspect(docker, &spec.name)
        .await
        .map_err(|error| error.to_string())?
    {
        let ours = existing.labels.get(resources::labels::PROJECT) == Some(&applier.config.project);
        if !ours {
            return Err(format!(
                "a container named `{}` exists and was not made by yoyoform for project `{}`",
                spec.name, applier.config.project
            ));
        }
        delete(applier, Kind::Service, &existing.id).await?;
    }
    let id = resources::container::create(docker, &spec)
        .await
        .map_err(|error| error.to_string())?;
    if let Err(error) = wait_healthy(applier, &id).await {
        // Leave nothing half-made behind, and put the old one back under its name.
        let _ = resources::container::remove(docker, &id).await;
        if let Some(old) = &old {
            let _ = resources::container::rename(docker, old, &spec.name).await;
        }
        return Err(error);
    }
    if let Some(old) = old {
        delete(applier, Kind::Service, &old).await?;
    }
    Ok(id)
}

async fn wait_healthy(applier: &Applier, id: &str) -> Result<(), String> {
    // Progress is reported by `with_progress` for the change as a whole.
    resources::container::wait_healthy(&applier.docker, id, HEALTH_TIMEOUT, |_| {})
        .await
        .map_err(|error| error.to_string())
}

/// How long a container has to finish what it is doing after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Removes a Docker object; one that is already gone counts as removed. A container is
/// stopped first, so that the requests it is serving finish.
async fn delete(applier: &Applier, kind: Kind, id: &str) -> Result<(), String> {
    let result = match kind {
        Kind::Secret => Ok(()),
        Kind::Network => resources::network::remove(&applier.docker, id).await,
        _ => resources::container::stop_and_remove(&applier.docker, id, STOP_GRACE).await,
    };
    result.map_err(|error| error.to_string())
}

/// Builds (or pulls) the image the resource runs, unless Docker has it already. Replicas
/// share one build.
async fn ensure_image(
    applier: &Applier,
    resource: &Resource,
    change: &Change,
) -> Result<(), String> {
    let tag = applier.images[&resource.address].clone();
    let lock = {
        let mut locks = applier.image_locks.lock().await;
        locks.entry(tag.clone()).or_default().clone()
    };
    let _guard = lock.lock().await;
    let docker = &applier.docker;
    if resources::image::exists(docker, &tag)
        .await
        .map_err(|error| error.to_string())?
    {
        return Ok(());
    }
    applier.emit(Event::Building(change.instance.clone(), tag.clone()));
    let labels = Labels::new(&applier.config.project)
        .address(&resource.address.to_string())
        .build();
    let root = &applier.config.root;
    let source = match &resource.body {
        Body::Service(service) => Some(&service.image),
        Body::Router(router) => Some(&router.image),
        _ => None,
    };
    match source {
        None => {
            resources::redis_image::build(docker, &tag, &labels)
                .await
                .map_err(|error| error.to_string())?;
        }
        Some(ImageSource::Image(name)) => {
            resources::image::pull(docker, name)
                .await
                .map_err(|error| error.to_string())?;
        }
        Some(ImageSource::Build { context, binary }) => {
            let context: PathBuf = root.join(context);
            // The tag names the sources as they were at plan time; an image built from
            // anything else would carry a lie under that tag for good. So the sources are
            // hashed again before and after the build.
            let unchanged = || -> Result<(), String> {
                let hash = resources::hash::build_inputs_hash(root, &context, binary.as_deref())
                    .map_err(|error| error.to_string())?;
                if tag.ends_with(&format!(":{}", &hash[..16])) {
                    Ok(())
                } else {
                    Err(format!(
                        "the sources of `{}` changed since the plan was made; run plan again",
                        resource.address
                    ))
                }
            };
            unchanged()?;
            if let Some(binary) = binary {
                let _cargo = applier.cargo.lock().await;
                resources::binary::build_static(root, binary, &context)
                    .await
                    .map_err(|error| error.to_string())?;
            }
            resources::image::build(docker, &tag, &context, &labels)
                .await
                .map_err(|error| error.to_string())?;
            if let Err(error) = unchanged() {
                let _ = resources::image::remove(docker, &tag).await;
                return Err(error);
            }
        }
    }
    Ok(())
}

/// The container for an instance of a redis, service or router resource.
fn container_spec(
    applier: &Applier,
    resource: &Resource,
    change: &Change,
    desired: &Attributes,
) -> Result<ContainerSpec, String> {
    let config = &applier.config;
    let text = |name: &str| desired.get_text(name).unwrap_or_default().to_owned();
    let mut spec = ContainerSpec {
        name: text("name"),
        image: text("image"),
        network: desired.get_text("network").map(str::to_owned),
        aliases: vec![resource.address.name.clone()],
        labels: Labels::new(&config.project)
            .address(&change.instance.to_string())
            .config_hash(&config_hash(desired))
            .build(),
        ..ContainerSpec::default()
    };
    match &resource.body {
        Body::Redis { .. } => {
            spec.health = health(&None);
            let volume = text("volume");
            spec.volumes = vec![(volume, resources::redis_image::DATA_DIR.to_owned())];
        }
        Body::Service(service) => {
            spec.env = desired.get_map("env").cloned().unwrap_or_default();
            for (target, source) in &service.files {
                let bytes = std::fs::read(config.root.join(source))
                    .map_err(|error| format!("cannot read `{}`: {error}", source.display()))?;
                spec.files.insert(target.clone(), bytes);
            }
            spec.ports = service
                .ports
                .iter()
                .map(|port| (port.host, port.container))
                .collect();
            spec.command = desired.get_list("command").map(<[String]>::to_vec);
            spec.health = health(&service.health);
        }
        Body::Router(router) => {
            let routes = desired.get_map("routes").cloned().unwrap_or_default();
            let routes: Vec<String> = routes
                .iter()
                .map(|(prefix, url)| format!("{prefix}={url}"))
                .collect();
            spec.env.insert("ROUTES".into(), routes.join(","));
            spec.env.insert("HTTP_PORT".into(), ROUTER_PORT.to_string());
            let listen = text("listen");
            let port = listen
                .rsplit_once(':')
                .and_then(|(_, port)| port.parse().ok())
                .ok_or_else(|| format!("bug: router listen `{listen}` has no port"))?;
            spec.ports = vec![(port, ROUTER_PORT)];
            spec.health = health(&router.health);
        }
        Body::Network | Body::Secret { .. } => unreachable!("not a container"),
    }
    Ok(spec)
}

/// Docker health settings from env.toml's `health`: the image's own check, with timings
/// fit for a development environment (a check a second, not Docker's 30 s) unless told
/// otherwise, or none at all.
fn health(health: &Option<Option<Health>>) -> Option<HealthSpec> {
    let health = match health {
        Some(None) => return Some(HealthSpec::Disabled),
        Some(Some(health)) => health.clone(),
        None => Health::DEFAULT,
    };
    Some(HealthSpec::Timings(HealthTimings {
        interval: Some(Duration::from_millis(health.interval_ms)),
        timeout: Some(Duration::from_millis(health.timeout_ms)),
        retries: Some(health.retries),
        start_period: Some(Duration::from_millis(health.start_period_ms)),
    }))
}

/// The configuration hash: the desired attributes, computed ones aside.
pub fn config_hash(desired: &Attributes) -> String {
    let mut json = desired.to_json();
    json.remove("id");
    json.remove("value");
    resources::hash::config_hash(&serde_json::Value::Object(json))
}

/// Writes the instance's new record into the state file.
fn record(
    applier: &Applier,
    change: &Change,
    id: &str,
    attributes: &Attributes,
) -> Result<(), String> {
    let dependencies = change
        .dependencies
        .iter()
        .map(Instance::to_string)
        .collect();
    let resource = ResourceState {
        address: change.instance.to_string(),
        kind: change.instance.resource.kind.to_string(),
        docker_ids: if id.is_empty() {
            vec![]
        } else {
            vec![id.to_owned()]
        },
        config_hash: config_hash(attributes),
        attributes: attributes.to_json(),
        sensitive_attributes: attributes.sensitive_strings(),
        dependencies,
    };
    applier
        .state
        .set_resource(resource)
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// The first 12 characters of a Docker id, as `docker ps` shows it.
pub fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::Value;

    fn instance(text: &str) -> Instance {
        Instance::parse(text).expect("an address")
    }

    fn container(name: &str, ports: &[&str]) -> Attributes {
        let mut attributes = Attributes::default();
        attributes.text("name", name);
        if !ports.is_empty() {
            let ports = ports.iter().map(|port| port.to_string()).collect();
            attributes.values.insert("ports".into(), Value::List(ports));
        }
        attributes
    }

    fn change(
        address: &str,
        action: Action,
        before: Option<Attributes>,
        after: Option<Attributes>,
        dependencies: &[&str],
        prior: &[&str],
    ) -> Change {
        Change {
            instance: instance(address),
            action,
            before,
            after,
            forces_replacement: BTreeSet::new(),
            reason: None,
            dependencies: dependencies.iter().map(|d| instance(d)).collect(),
            prior_dependencies: prior.iter().map(|d| instance(d)).collect(),
            create_before_destroy: false,
        }
    }

    /// The waits, as addresses, for readability.
    fn waits(changes: &[Change]) -> Vec<(String, Vec<String>)> {
        schedule(changes)
            .into_iter()
            .enumerate()
            .map(|(index, waits)| {
                let names = waits
                    .iter()
                    .map(|&w| changes[w].instance.to_string())
                    .collect();
                (changes[index].instance.to_string(), names)
            })
            .collect()
    }

    #[test]
    fn a_network_no_longer_used_goes_after_the_replacement_that_leaves_it() {
        // service.a moved off network.net: its old container must go before the network.
        let changes = [
            change(
                "service.a",
                Action::Replace,
                Some(container("p-a", &[])),
                Some(container("p-a", &[])),
                &[],
                &["network.net"],
            ),
            change(
                "network.net",
                Action::Delete,
                Some(Attributes::default()),
                None,
                &[],
                &[],
            ),
        ];
        assert_eq!(
            waits(&changes),
            [
                ("service.a".into(), vec![]),
                ("network.net".into(), vec!["service.a".into()])
            ]
        );
    }

    #[test]
    fn creates_wait_only_for_deletions_that_free_their_name_or_port() {
        let changes = [
            change(
                "service.old",
                Action::Delete,
                Some(container("p-old", &["127.0.0.1:8081:5000"])),
                None,
                &[],
                &[],
            ),
            change(
                "service.gone",
                Action::Delete,
                Some(container("p-gone", &[])),
                None,
                &[],
                &[],
            ),
            change(
                "service.new",
                Action::Create,
                None,
                Some(container("p-new", &["127.0.0.1:8081:5000"])),
                &[],
                &[],
            ),
            change(
                "service.other",
                Action::Create,
                None,
                Some(container("p-other", &[])),
                &["service.new"],
                &[],
            ),
            change(
                "service.worker[2]",
                Action::Delete,
                Some(container("p-worker-2", &[])),
                None,
                &["secret.key"],
                &[],
            ),
            change(
                "secret.key",
                Action::Delete,
                Some(Attributes::default()),
                None,
                &[],
                &[],
            ),
        ];
        assert_eq!(
            waits(&changes),
            [
                ("service.old".into(), vec![]),
                ("service.gone".into(), vec![]),
                ("service.new".into(), vec!["service.old".into()]),
                ("service.other".into(), vec!["service.new".into()]),
                ("service.worker[2]".into(), vec![]),
                ("secret.key".into(), vec!["service.worker[2]".into()]),
            ]
        );
    }
}
