//! Apply: carries out a plan on a backend. Changes run in parallel along the dependency
//! graph (at most `parallelism` at once); a change starts only when everything it depends
//! on is done (and healthy: the drivers wait for that). The state file is written after
//! every completed change. When a change fails, the work in flight finishes, its dependents
//! are skipped, and the root cause is reported. Each result is checked against what the
//! plan promised; a difference is a bug in yoyoform, said as such.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use resources::labels::Labels;
use state::{LockedState, ResourceState};
use tokio::task::{JoinHandle, JoinSet};

use crate::attributes::{Attributes, Path, Value};
use crate::backend::Backend;
use crate::config::model::{Address, Config, Target};
use crate::error::Error;
use crate::kind::{Applied, Kind, Progress, Recorded, Work};
use crate::plan::{Action, Change, Instance, OutputChange, Plan};
use crate::resolve::{Context, index};

/// What apply reports while it works; the binary prints these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A change started.
    Started(Instance, Action),
    /// A change is still going after this long.
    StillWorking(Instance, Action, Duration),
    /// What a long step is doing (an image build). An image is one for all the replicas
    /// of a resource: its build is said once, of the resource (`service.web`).
    Progress(Instance, Progress),
    /// A change finished after this long; the backend's id when there is one.
    Finished(Instance, Action, Duration, Option<String>),
    /// A change failed (why is in the [`Outcome`]).
    Failed(Instance),
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
    pub failures: Vec<(Instance, Error)>,
    /// The changes skipped because a dependency failed.
    pub skipped: Vec<Instance>,
    /// The changes not started because apply was interrupted.
    pub not_started: Vec<Instance>,
}

/// Everything a change needs, shared by the tasks running changes.
pub struct Applier {
    /// env.toml, loaded.
    pub config: Arc<Config>,
    /// Where the changes are made.
    pub backend: Arc<dyn Backend>,
    /// The locked state file.
    pub state: Arc<LockedState>,
    /// Receives progress.
    pub events: Arc<dyn Fn(Event) + Send + Sync>,
    /// Where each resource is in `config.resources`.
    positions: HashMap<Address, usize>,
    /// Computed attributes known so far (secret values, network ids), by resource.
    computed: Mutex<BTreeMap<Address, Attributes>>,
    /// Set on Ctrl-C: no further change starts; those in flight finish and are recorded.
    pub interrupted: AtomicBool,
}

impl Applier {
    /// An applier starting from the computed attributes the state file recorded.
    pub fn new(
        config: Arc<Config>,
        backend: Arc<dyn Backend>,
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
        let positions = config
            .resources
            .iter()
            .enumerate()
            .map(|(position, resource)| (resource.address.clone(), position))
            .collect();
        Applier {
            config,
            backend,
            state,
            events,
            positions,
            computed: Mutex::new(computed),
            interrupted: AtomicBool::new(false),
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
        let index = index(&self.config);
        f(&Context::new(&self.config, &index, &computed))
    }

    fn emit(&self, event: Event) {
        tracing::debug!(?event, "apply");
        (self.events)(event)
    }

    /// The labels of the objects made for `instance` from `planned`: see [`labels`].
    fn labels(
        &self,
        kind: &dyn Kind,
        instance: &Instance,
        planned: &Attributes,
    ) -> BTreeMap<String, String> {
        let lineage = self.state.lineage();
        labels(&self.config.project, &lineage, kind, instance, planned)
    }

    /// What a driver is told of a change of `instance` (not one making way for a
    /// replacement).
    fn work<'a>(
        &'a self,
        instance: &'a Instance,
        labels: &'a BTreeMap<String, String>,
        progress: &'a (dyn Fn(Progress) + Send + Sync),
    ) -> Work<'a> {
        Work {
            instance,
            project: &self.config.project,
            root: &self.config.root,
            labels,
            for_replacement: false,
            awaited: false,
            progress,
        }
    }
}

/// Runs the plan. Never stops half-way on a failure: it finishes what is in flight and
/// skips only what depended on the failure.
///
/// Instances moving to another backend are replaced in two passes: first every one of
/// them is removed with the rest of the plan's deletions, dependents before what they use
/// (a network goes once no container is on it, a replica that has no place on the new
/// backend included), then the rest of the plan runs, in which they are made anew.
pub async fn apply(applier: Arc<Applier>, plan: &Plan, parallelism: usize) -> Outcome {
    let (leaving, rest) = moving(plan);
    if leaving.changes.is_empty() {
        return run(applier, plan, parallelism).await;
    }
    let first = run(applier.clone(), &leaving, parallelism).await;
    if !first.failures.is_empty() || applier.interrupted.load(Ordering::Relaxed) {
        let mut outcome = first;
        let waiting = rest.changes.iter().map(|change| change.instance.clone());
        outcome.not_started.extend(waiting);
        return outcome;
    }
    let mut outcome = run(applier, &rest, parallelism).await;
    outcome.destroyed += first.destroyed;
    outcome
}

/// A plan's moving replacements split in two: their removals with the plan's other
/// deletions (a plan of their own), and the rest of the plan with them as creations. No
/// moves, no removals.
fn moving(plan: &Plan) -> (Plan, Plan) {
    let mut leaving = Plan {
        changes: Vec::new(),
        ..plan.clone()
    };
    let mut rest = Plan {
        changes: Vec::new(),
        ..plan.clone()
    };
    if !plan.changes.iter().any(|change| change.moves) {
        return (leaving, plan.clone());
    }
    for change in &plan.changes {
        match change.action {
            Action::Replace if change.moves => {
                leaving.changes.push(Change {
                    action: Action::Delete,
                    after: None,
                    // Deletions wait for the deletion of their dependents, by these.
                    dependencies: change.prior_dependencies.clone(),
                    ..change.clone()
                });
                rest.changes.push(Change {
                    action: Action::Create,
                    before: None,
                    ..change.clone()
                });
            }
            Action::Delete => leaving.changes.push(change.clone()),
            _ => rest.changes.push(change.clone()),
        }
    }
    (leaving, rest)
}

/// Runs one plan: see [`apply`].
async fn run(applier: Arc<Applier>, plan: &Plan, parallelism: usize) -> Outcome {
    let waits = schedule(&plan.changes, applier.config.target);
    // Whether another change of the plan waits for each one.
    let mut awaited = vec![false; plan.changes.len()];
    for &waited in waits.iter().flatten() {
        awaited[waited] = true;
    }
    let mut outcome = Outcome::default();
    // None: not finished; Some(Ok(())): done; Some(Err(root)): failed or skipped, with the
    // failed change at the root of it.
    let mut finished: Vec<Option<Result<(), Instance>>> = vec![None; plan.changes.len()];
    let mut started = vec![false; plan.changes.len()];
    let mut running = JoinSet::new();
    let parallelism = parallelism.max(1);
    let mut preparations = prepare_all(&applier, plan);

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
                    // Its image will not be needed (a replica's build passes to the next
                    // replica waiting for it).
                    if let Some(preparation) = preparations[index].take() {
                        preparation.abort();
                    }
                    let instance = plan.changes[index].instance.clone();
                    applier.emit(Event::Skipped(instance.clone(), root));
                    outcome.skipped.push(instance);
                    progress = true;
                    continue;
                }
                let ready = waits[index]
                    .iter()
                    .all(|&dependency| matches!(finished[dependency], Some(Ok(()))));
                let interrupted = applier.interrupted.load(Ordering::Relaxed);
                if ready && running.len() < parallelism && !interrupted {
                    started[index] = true;
                    let change = plan.changes[index].clone();
                    let applier = applier.clone();
                    let preparation = preparations[index].take();
                    let awaited = awaited[index];
                    running.spawn(async move {
                        let result = with_progress(&applier, &change, preparation, awaited).await;
                        (index, result)
                    });
                    progress = true;
                }
            }
        }
        let Some(joined) = running.join_next().await else {
            // What was prepared for changes that never started (interrupted) stops with
            // them.
            for preparation in preparations.iter().flatten() {
                preparation.abort();
            }
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
            Err(failed) => {
                finished[index] = Some(Err(change.instance.clone()));
                applier.emit(Event::Failed(change.instance.clone()));
                // The old one of a replacement may be gone though the new one failed.
                if failed.removed_old {
                    outcome.destroyed += 1;
                }
                outcome
                    .failures
                    .push((change.instance.clone(), failed.error));
            }
        }
    }
    outcome
}

/// How often a long change says it is still going.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// A change's preparation ([`Driver::prepare`](crate::kind::Driver::prepare)), running.
type Preparation = JoinHandle<Result<(), Error>>;

/// Starts the preparation of every change that makes something, each on a task of its
/// own, all at once: an image build needs nothing of the dependency chain, so it runs
/// alongside it instead of after it (the router's image used to be built only once every
/// service was healthy). Replicas of one resource share one build: the driver sees to
/// that. (Outside `--parallelism`: that bounds the changes, and a build waiting for its
/// turn would hold a change's place for nothing.)
fn prepare_all(applier: &Arc<Applier>, plan: &Plan) -> Vec<Option<Preparation>> {
    plan.changes
        .iter()
        .map(|change| {
            if change.action == Action::Delete || change.after.is_none() {
                return None;
            }
            let applier = applier.clone();
            let change = change.clone();
            Some(tokio::spawn(
                async move { prepare(&applier, &change).await },
            ))
        })
        .collect()
}

/// One change's preparation, with the attributes as planned.
async fn prepare(applier: &Applier, change: &Change) -> Result<(), Error> {
    let instance = &change.instance;
    let kind = instance.resource.kind();
    let driver = applier.backend.driver(kind.name())?;
    let planned = change.after.clone().unwrap_or_default();
    let resource = Instance {
        resource: instance.resource.clone(),
        index: None,
    };
    let progress = |step: Progress| applier.emit(Event::Progress(resource.clone(), step));
    let labels = applier.labels(kind, instance, &planned);
    let work = applier.work(instance, &labels, &progress);
    driver.prepare(&work, &planned).await
}

/// Runs one change, saying every ten seconds that it is still going (health checks can
/// take minutes), except while it waits for its preparation: an image build says how far
/// it is itself, once for all the replicas waiting for it.
async fn with_progress(
    applier: &Applier,
    change: &Change,
    preparation: Option<Preparation>,
    awaited: bool,
) -> Result<(), Failed> {
    let began = tokio::time::Instant::now();
    let mut ticker = tokio::time::interval_at(began + PROGRESS_EVERY, PROGRESS_EVERY);
    let preparing = AtomicBool::new(false);
    let work = execute(applier, change, preparation, awaited, &preparing);
    tokio::pin!(work);
    loop {
        tokio::select! {
            result = &mut work => return result,
            _ = ticker.tick() => if !preparing.load(Ordering::Relaxed) {
                applier.emit(Event::StillWorking(
                    change.instance.clone(),
                    change.action,
                    began.elapsed(),
                ))
            },
        }
    }
}

/// For each change, the changes it must wait for.
///
/// - A deletion waits until nothing uses what it removes: the deletion of whatever
///   depended on it, and the replacement of whatever did (its old object goes then).
/// - A create or replacement waits for its dependencies, and for a deletion that frees
///   something it claims (a container name, a host port).
pub fn schedule(changes: &[Change], target: Target) -> Vec<Vec<usize>> {
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
                    (_, Action::Delete) => frees(other, change, target),
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

/// Whether deleting `deletion`'s object frees something `change`'s object claims on
/// `target`. (Instances that move from another backend are all removed before anything
/// is made: see [`apply`].)
fn frees(deletion: &Change, change: &Change, target: Target) -> bool {
    let (Some(old), Some(new)) = (&deletion.before, &change.after) else {
        return false;
    };
    let freed = deletion.instance.resource.kind().claims(old, target);
    let claimed = change.instance.resource.kind().claims(new, target);
    freed.iter().any(|claim| claimed.contains(claim))
}

/// A change that failed: why, and whether it removed the old object of a replacement
/// before it did (that counts as destroyed).
struct Failed {
    error: Error,
    removed_old: bool,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Failed {
            error,
            removed_old: false,
        }
    }
}

impl From<state::StateError> for Failed {
    fn from(error: state::StateError) -> Self {
        Error::from(error).into()
    }
}

/// Carries out one change and records it in the state file; first waits for its
/// preparation, with `preparing` set meanwhile. `awaited`: another change waits for it
/// (see [`Work::awaited`]).
async fn execute(
    applier: &Applier,
    change: &Change,
    preparation: Option<Preparation>,
    awaited: bool,
    preparing: &AtomicBool,
) -> Result<(), Failed> {
    let instance = &change.instance;
    let start = Instant::now();
    applier.emit(Event::Started(instance.clone(), change.action));
    if let Some(preparation) = preparation {
        preparing.store(true, Ordering::Relaxed);
        let prepared = preparation.await;
        preparing.store(false, Ordering::Relaxed);
        match prepared {
            Ok(result) => result?,
            Err(join) => {
                return Err(
                    Error::Bug(format!("the preparation of {instance} ended: {join}")).into(),
                );
            }
        }
    }
    let kind = instance.resource.kind();
    let driver = applier.backend.driver(kind.name())?;
    let key = instance.to_string();
    let prior = applier
        .state
        .state()
        .resources
        .get(&key)
        .map(Recorded::from);
    let progress = |step: Progress| applier.emit(Event::Progress(instance.clone(), step));
    let planned = match change.action {
        Action::Delete => Attributes::default(),
        _ => resolve_now(applier, change)?,
    };
    let labels = applier.labels(kind, instance, &planned);
    let work = Work {
        // A move removes the old one to make it anew on the other backend.
        for_replacement: change.moves,
        awaited,
        ..applier.work(instance, &labels, &progress)
    };

    let applied = match (change.action, prior) {
        // What an interrupted apply of this state left and the state does not record.
        (Action::Delete, _) if change.unrecorded.is_some() => {
            let left = Recorded {
                ids: change.unrecorded.iter().cloned().collect(),
                attributes: change.before.clone().unwrap_or_default(),
                target: applier.config.target,
            };
            driver.delete(&work, &left).await?;
            applier.emit(Event::Finished(
                instance.clone(),
                change.action,
                start.elapsed(),
                None,
            ));
            return Ok(());
        }
        (Action::Delete, prior) => {
            if let Some(prior) = prior {
                taint(applier, &key)?;
                driver.delete(&work, &prior).await?;
            }
            applier.state.remove_resource(&key)?;
            applier.emit(Event::Finished(
                instance.clone(),
                change.action,
                start.elapsed(),
                None,
            ));
            return Ok(());
        }
        (Action::Update, Some(prior)) => driver.update(&work, &prior, &planned).await?,
        (Action::Update, None) => {
            return Err(Error::Bug(format!(
                "{instance} is planned as an update but is not recorded"
            ))
            .into());
        }
        // As the plan said: the new one first when two can run side by side.
        (Action::Replace, Some(prior)) if change.create_before_destroy => {
            driver.replace(&work, &prior, &planned).await?
        }
        (Action::Replace, Some(prior)) => {
            // What the new one needs and the old one does not hold must be free before
            // the old one goes: a failure now leaves the old one running.
            driver.check(&work, &planned, Some(&prior)).await?;
            let making_way = Work {
                for_replacement: true,
                ..work
            };
            taint(applier, &key)?;
            driver.delete(&making_way, &prior).await?;
            // The old one is gone whatever happens next: the state file must not say
            // otherwise should the new one fail.
            applier.state.remove_resource(&key)?;
            driver
                .create(&work, &planned)
                .await
                .map_err(|error| Failed {
                    error,
                    removed_old: true,
                })?
        }
        (Action::Create, _) if change.unrecorded.is_some() => {
            let id = change.unrecorded.as_deref().unwrap_or_default();
            driver.adopt(&work, id, &planned).await?
        }
        (Action::Create | Action::Replace, _) => {
            driver.check(&work, &planned, None).await?;
            driver.create(&work, &planned).await?
        }
    };

    check_result(change, &applied.attributes)?;
    record(applier, change, kind, &applied)?;
    applier
        .computed
        .lock()
        .expect("computed attributes lock")
        .insert(instance.resource.clone(), applied.attributes);
    let id = applied.ids.first().map(|id| short(id));
    applier.emit(Event::Finished(
        instance.clone(),
        change.action,
        start.elapsed(),
        id,
    ));
    Ok(())
}

/// The desired attributes resolved now that the dependencies are applied (so every value
/// is known), checked against what the plan promised: a known value that changed in
/// between means something it is made from changed (a file, the sources of an image), and
/// nothing is done.
fn resolve_now(applier: &Applier, change: &Change) -> Result<Attributes, Error> {
    let instance = &change.instance;
    let resource = applier
        .positions
        .get(&instance.resource)
        .map(|&position| &applier.config.resources[position])
        .ok_or_else(|| Error::Bug(format!("{} is planned but not declared", instance.resource)))?;
    let desired = applier.with_context(|context| resource.settings.desired(context, instance))?;
    let planned = change
        .after
        .as_ref()
        .ok_or_else(|| Error::Bug(format!("{instance} is planned with no attributes")))?;
    let computed = instance.resource.kind().schema().computed_names();
    let mut promised = planned.clone();
    for name in &computed {
        promised.values.remove(*name);
    }
    if let Some(path) = broken_promise(&promised, &desired) {
        return Err(Error::ChangedSincePlan {
            instance: instance.clone(),
            path: path.to_string(),
        });
    }
    if let Some(path) = desired.unknown.iter().next() {
        return Err(Error::Bug(format!(
            "`{path}` of {instance} is still unknown once everything it depends on is applied"
        )));
    }
    Ok(desired)
}

/// After a change: what the backend made must be what the plan promised, for every value
/// the plan knew. A difference is yoyoform's bug (Terraform's "inconsistent result after
/// apply"), not the user's error; the values of sensitive paths are not printed.
fn check_result(change: &Change, result: &Attributes) -> Result<(), Error> {
    let Some(planned) = &change.after else {
        return Ok(());
    };
    let Some(path) = broken_promise(planned, result) else {
        return Ok(());
    };
    let shown = |attributes: &Attributes| {
        if attributes.is_sensitive(&path) || planned.is_sensitive(&path) {
            "(sensitive value)".to_owned()
        } else {
            value_at(attributes, &path).unwrap_or_else(|| "(absent)".to_owned())
        }
    };
    Err(Error::Bug(format!(
        "after the {} of {}, `{path}` is {} where the plan said {}",
        change.action.noun(),
        change.instance,
        shown(result),
        shown(planned)
    )))
}

/// The first path whose value `promised` knows and `actual` has otherwise (or lacks).
fn broken_promise(promised: &Attributes, actual: &Attributes) -> Option<Path> {
    for (name, value) in &promised.values {
        match (value, actual.values.get(name)) {
            (Value::Map(then), Some(Value::Map(now))) => {
                let keys: BTreeSet<&String> = then.keys().chain(now.keys()).collect();
                for key in keys {
                    let path = Path::key(name, key);
                    if !promised.is_unknown(&path) && then.get(key) != now.get(key) {
                        return Some(path);
                    }
                }
            }
            (then, now) => {
                let path = Path::attribute(name);
                if !promised.is_unknown(&path) && now != Some(then) {
                    return Some(path);
                }
            }
        }
    }
    None
}

/// The value at a path, as a plan would quote it.
fn value_at(attributes: &Attributes, path: &Path) -> Option<String> {
    let value = attributes.values.get(&path.attribute)?;
    let text = match (value, &path.key) {
        (Value::Map(map), Some(key)) => map.get(key)?.clone(),
        (Value::Text(text), None) => text.clone(),
        (other, _) => serde_json::to_string(other).ok()?,
    };
    Some(serde_json::to_string(&text).unwrap_or(text))
}

/// The labels of every object made for an instance: whose it is (the project and the
/// lineage of the state making it), what it is for, what it was made from.
fn labels(
    project: &str,
    lineage: &str,
    kind: &dyn Kind,
    instance: &Instance,
    planned: &Attributes,
) -> BTreeMap<String, String> {
    Labels::new(project)
        .address(&instance.to_string())
        .lineage(lineage)
        .config_hash(&config_hash(kind, planned))
        .build()
}

/// The configuration hash: the attributes, the computed ones aside.
pub fn config_hash(kind: &dyn Kind, attributes: &Attributes) -> String {
    let mut json = attributes.to_json();
    for attribute in kind.schema().computed() {
        json.remove(attribute.name);
    }
    resources::hash::config_hash(&serde_json::Value::Object(json))
}

/// Marks an instance's record before its removal starts: should the command be killed
/// while the backend removes it, the next plan makes it anew instead of trusting what it
/// finds (a container half-stopped still looks running).
fn taint(applier: &Applier, key: &str) -> Result<(), Error> {
    applier.state.update(|state| {
        if let Some(recorded) = state.resources.get_mut(key) {
            recorded.tainted = true;
        }
    })?;
    Ok(())
}

/// Writes the instance's new record into the state file.
fn record(
    applier: &Applier,
    change: &Change,
    kind: &dyn Kind,
    applied: &Applied,
) -> Result<(), Error> {
    let dependencies = change
        .dependencies
        .iter()
        .map(Instance::to_string)
        .collect();
    let resource = ResourceState {
        address: change.instance.to_string(),
        kind: kind.name().to_owned(),
        backend: applier.config.target.recorded(),
        docker_ids: applied.ids.clone(),
        config_hash: config_hash(kind, &applied.attributes),
        attributes: applied.attributes.to_json(),
        sensitive_attributes: applied.attributes.sensitive_strings(),
        dependencies,
        tainted: false,
    };
    applier.state.set_resource(resource)?;
    Ok(())
}

/// The first 12 characters of an id, as `docker ps` shows it.
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
            unrecorded: None,
            moves: false,
        }
    }

    /// The waits, as addresses, for readability.
    fn waits(changes: &[Change]) -> Vec<(String, Vec<String>)> {
        schedule(changes, Target::Docker)
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
