//! What one command works on, and the flows of `plan`, `apply FILE` and `destroy` over it:
//! env.toml loaded, the state file locked, the backend, and what the backend has for every
//! recorded instance. The binary prints and picks exit codes; this decides.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use state::{LockedState, State};

use crate::apply::{Applier, Event, Outcome, apply};
use crate::backend::Backend;
use crate::config::model::Config;
use crate::config::model::Target;
use crate::error::Error;
use crate::graph::Graph;
use crate::kind::Applied;
use crate::ownership;
use crate::plan::{self, Action, Actual, Change, Instance, Mode, OutputChange, Plan, SavedPlan};
use crate::refresh::refresh;
use crate::resolve::Context;

/// The commands that change what the backend has.
const CHANGES: [&str; 3] = ["apply", "destroy", "import"];

/// How many times an apply repairs what did not stay as it made it.
pub const REPAIRS: usize = 2;

/// The state file of `config` unless one is given: `.yoyoform/<project>.state.json` beside
/// env.toml.
pub fn state_path(config: &Config, given: Option<&Path>) -> PathBuf {
    given.map(Path::to_path_buf).unwrap_or_else(|| {
        config
            .root
            .join(".yoyoform")
            .join(format!("{}.state.json", config.project))
    })
}

/// How a command reads what it plans against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Ask the backend what it has for every recorded instance; without, the state file
    /// alone is planned against (no backend needed).
    pub refresh: bool,
    /// Take the state file's lock; without, it is read as it is, and nothing can be
    /// written (a reviewer's plan while someone applies).
    pub lock: bool,
    /// How long to wait for a lock someone else holds before giving up (Terraform's
    /// `-lock-timeout`); zero refuses at once.
    pub lock_timeout: std::time::Duration,
}

impl Default for Reading {
    fn default() -> Self {
        Reading {
            refresh: true,
            lock: true,
            lock_timeout: std::time::Duration::ZERO,
        }
    }
}

/// What the command line says a plan covers: Terraform's planning modes, `-target` and
/// `-replace`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// What the plan is for.
    pub mode: Mode,
    /// `--target`: only these (instances or resources) and what they depend on (for a
    /// destroy: what depends on them); none, everything.
    pub targets: Vec<String>,
    /// `--replace`: recorded instances (or resources) made anew though nothing changed.
    pub replace: Vec<String>,
}

/// One command's view of the world.
pub struct Session {
    /// env.toml, loaded.
    pub config: Arc<Config>,
    /// Its resources, ordered.
    pub graph: Graph,
    /// The state file, locked for the length of the command.
    pub state: Arc<LockedState>,
    /// The state as the command found it.
    pub prior: State,
    /// Where the resources are made.
    pub backend: Arc<dyn Backend>,
    /// What the backend has for each recorded instance.
    pub actual: Actual,
    /// How it was read.
    pub reading: Reading,
    /// What its plans cover.
    pub scope: Scope,
}

impl Session {
    /// Locks the state file at `path` for `operation` (made with its folder when absent)
    /// and reads every recorded instance from the backend.
    pub async fn open(
        config: Config,
        path: &Path,
        operation: &str,
        backend: Arc<dyn Backend>,
        reading: Reading,
    ) -> Result<Session, Error> {
        let graph = Graph::build(&config)?;
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(|source| Error::Read {
                path: folder.to_owned(),
                source,
            })?;
        }
        let file = state::StateFile::new(path)
            .writer_version(env!("CARGO_PKG_VERSION"))
            .lock_timeout(reading.lock_timeout);
        let state = if reading.lock {
            file.open(operation)?
        } else {
            file.open_read_only()?
        };
        // The state file's lock keeps out commands on the same file; a command that
        // changes the project also holds it on the backend, against other state files.
        if CHANGES.contains(&operation) {
            backend.hold(&config.project, state::LockInfo::current(operation));
        }
        let prior = state.state();
        tracing::debug!(
            path = %path.display(),
            operation,
            locked = reading.lock,
            serial = prior.serial,
            instances = prior.resources.len(),
            "state file read"
        );
        // A record of a backend this yoyoform does not know cannot be read, kept or
        // removed: nothing is planned against it.
        if let Some(recorded) = prior
            .resources
            .values()
            .find(|recorded| Target::of_record(recorded.backend.as_deref()).is_none())
        {
            return Err(Error::UnknownBackend {
                address: recorded.address.clone(),
                backend: recorded.backend.clone().unwrap_or_default(),
            });
        }
        let actual = if reading.refresh {
            refresh(backend.as_ref(), &config.project, &prior).await?
        } else {
            Actual::new()
        };
        Ok(Session {
            config: Arc::new(config),
            graph,
            state: Arc::new(state),
            prior,
            backend,
            actual,
            reading,
            scope: Scope::default(),
        })
    }

    /// Reads the state and the backend again: after an apply, to see whether what it made
    /// stayed as made.
    pub async fn refresh(&mut self) -> Result<(), Error> {
        self.prior = self.state.state();
        self.actual = refresh(self.backend.as_ref(), &self.config.project, &self.prior).await?;
        Ok(())
    }

    /// The plan the session's [`Scope`] asks for: by default what it takes to make the
    /// backend match env.toml; what the backend holds under the names it takes is held
    /// against it (see [`ownership`]).
    pub async fn plan(&self) -> Result<Plan, Error> {
        let targets = self.selected("--target", &self.scope.targets, || self.known())?;
        match self.scope.mode {
            Mode::Normal => {}
            Mode::Destroy => {
                let mut plan = plan::destroy(&self.prior, &self.actual);
                if !targets.is_empty() {
                    plan::restrict_destroy(&mut plan, &targets);
                }
                return Ok(plan);
            }
            Mode::RefreshOnly => {
                let mut plan = plan::refresh_only(&self.prior, &self.actual);
                if !targets.is_empty() {
                    plan::restrict_found(&mut plan, &targets);
                }
                return Ok(plan);
            }
        }
        let replace = self.replaced()?;
        let started = std::time::Instant::now();
        let mut plan = plan::build(&plan::Planner {
            config: &self.config,
            graph: &self.graph,
            prior: &self.prior,
            actual: &self.actual,
            replace: &replace,
        })?;
        if !targets.is_empty() {
            plan::restrict(&mut plan, &targets, &self.graph);
        }
        tracing::debug!(
            resources = self.config.resources.len(),
            changes = plan.changes.len(),
            elapsed = ?started.elapsed(),
            "planned"
        );
        let target = self.config.target;
        if self.reading.refresh && ownership::matters(&plan, &self.prior, target) {
            let found = self.backend.survey().await?;
            tracing::debug!(
                objects = found.len(),
                "surveyed what the backend holds by name"
            );
            let lineage = self.state.lineage();
            ownership::reconcile(
                &mut plan,
                &self.prior,
                &found,
                &self.config.project,
                &lineage,
                target,
            )?;
        }
        Ok(plan)
    }

    /// Every instance env.toml declares or the state records: what `--target` may name.
    fn known(&self) -> BTreeSet<Instance> {
        let declared = self.config.resources.iter().flat_map(Context::instances);
        declared.chain(self.recorded()).collect()
    }

    /// Every instance the state records.
    fn recorded(&self) -> impl Iterator<Item = Instance> + '_ {
        let addresses = self.prior.resources.keys();
        addresses.filter_map(|address| Instance::parse(address))
    }

    /// The addresses `given` with `flag`, each checked against what `known` lists (only
    /// worked out when there are any: a large plan pays nothing for no flags).
    fn selected(
        &self,
        flag: &'static str,
        given: &[String],
        known: impl FnOnce() -> BTreeSet<Instance>,
    ) -> Result<Vec<Instance>, Error> {
        if given.is_empty() {
            return Ok(Vec::new());
        }
        plan::select(flag, given, &known())
    }

    /// The `--replace` addresses: each must name something recorded; one that names an
    /// instance not made yet is said so.
    fn replaced(&self) -> Result<Vec<Instance>, Error> {
        self.selected("--replace", &self.scope.replace, || {
            self.recorded().collect()
        })
        .map_err(|error| match error {
            Error::NoSuchAddress { address, .. }
                if plan::select("--replace", std::slice::from_ref(&address), &self.known())
                    .is_ok() =>
            {
                Error::NothingToReplace(address)
            }
            error => error,
        })
    }

    /// A plan saved by `plan --out`, if it still fits: the same env.toml, variables and
    /// state, and everything its changes are made from as it was.
    pub async fn saved_plan(&self, saved: SavedPlan) -> Result<Plan, Error> {
        saved.check(&self.config, &self.prior.lineage, self.prior.serial)?;
        saved.check_inputs(&self.plan().await?)?;
        Ok(saved.plan)
    }

    /// The applier of this session's changes, reporting to `events`.
    pub fn applier(&self, events: Arc<dyn Fn(Event) + Send + Sync>) -> Arc<Applier> {
        Arc::new(Applier::new(
            self.config.clone(),
            self.backend.clone(),
            self.state.clone(),
            events,
        ))
    }

    /// After an apply: what it made must still be as planned (a container that exited
    /// once it was up, one an interrupted destroy was stopping when the plan looked). The
    /// state and the backend are read again; what differs is applied again when `repair`
    /// (at most [`REPAIRS`] times, each plan shown with `show` first), and reported in
    /// `outcome` as failures otherwise: an apply is complete only when it is.
    pub async fn settle(
        &mut self,
        applier: &Arc<Applier>,
        outcome: &mut Outcome,
        repair: bool,
        parallelism: usize,
        show: &(dyn Fn(&Plan) + Sync),
    ) -> Result<(), Error> {
        // What `--replace` asked for is done once: made anew, it is as planned.
        self.scope.replace.clear();
        for round in 0..=REPAIRS {
            self.refresh().await?;
            let again = self.plan().await?;
            if again.changes.is_empty() {
                return Ok(());
            }
            if !repair || round == REPAIRS {
                for change in &again.changes {
                    let why = change
                        .reason
                        .clone()
                        .unwrap_or_else(|| "it differs from env.toml".to_owned());
                    outcome
                        .failures
                        .push((change.instance.clone(), Error::Unsettled(why)));
                }
                return Ok(());
            }
            show(&again);
            let more = apply(applier.clone(), &again, parallelism).await;
            outcome.added += more.added;
            outcome.changed += more.changed;
            outcome.destroyed += more.destroyed;
            outcome.failures.extend(more.failures);
            outcome.skipped.extend(more.skipped);
            outcome.not_started.extend(more.not_started);
            if !outcome.failures.is_empty() || !outcome.not_started.is_empty() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// For `import ADDRESS ID`: the instance's planned create, which the import stands
    /// for. It must be declared and not recorded yet.
    pub fn import_change(&self, address: &str) -> Result<Change, Error> {
        let instance = Instance::parse(address).ok_or_else(|| {
            Error::CannotImport(format!(
                "`{address}` is not an address like `service.NAME` or `service.NAME[0]`"
            ))
        })?;
        if self.prior.resources.contains_key(address) {
            return Err(Error::CannotImport(format!(
                "{address} is recorded in the state file already: there is nothing to import"
            )));
        }
        // Planned without what the backend holds: the object to import is exactly what
        // the plan would refuse to take over.
        let plan = plan::build(&plan::Planner {
            config: &self.config,
            graph: &self.graph,
            prior: &self.prior,
            actual: &self.actual,
            replace: &[],
        })?;
        plan.changes
            .into_iter()
            .find(|change| change.instance == instance && change.action == Action::Create)
            .ok_or_else(|| Error::CannotImport(format!("env.toml declares no `{address}`")))
    }

    /// Records the backend's object `id` as the instance of `change` (from
    /// [`import_change`](Self::import_change)), as the backend has it; nothing on the
    /// backend changes. The next plan says how it differs from env.toml.
    pub async fn import(&self, change: &Change, id: &str) -> Result<Applied, Error> {
        let instance = &change.instance;
        let kind = instance.resource.kind();
        let driver = self.backend.driver(kind.name())?;
        let planned = change.after.clone().unwrap_or_default();
        let applied = driver
            .import(instance, &self.config.project, id, &planned)
            .await?
            .ok_or_else(|| Error::NothingToImport {
                object: kind.object(self.config.target),
                id: id.to_owned(),
            })?;
        self.state.set_resource(state::ResourceState {
            address: instance.to_string(),
            kind: kind.name().to_owned(),
            backend: self.config.target.recorded(),
            docker_ids: applied.ids.clone(),
            config_hash: crate::apply::config_hash(kind, &applied.attributes),
            attributes: applied.attributes.to_json(),
            sensitive_attributes: applied.attributes.sensitive_strings(),
            dependencies: change
                .dependencies
                .iter()
                .map(Instance::to_string)
                .collect(),
            tainted: false,
        })?;
        Ok(applied)
    }

    /// Carries out a refresh-only plan: the state file records each instance as the
    /// backend has it, and forgets those that are gone; nothing on the backend changes.
    /// Returns how many records changed.
    pub fn record_refresh(&self, plan: &Plan) -> Result<usize, Error> {
        self.state.update(|state| {
            for change in &plan.changes {
                let key = change.instance.to_string();
                match &change.after {
                    None => {
                        state.resources.remove(&key);
                    }
                    Some(now) => {
                        if let Some(recorded) = state.resources.get_mut(&key) {
                            let kind = change.instance.resource.kind();
                            recorded.config_hash = crate::apply::config_hash(kind, now);
                            recorded.attributes = now.to_json();
                            recorded.sensitive_attributes = now.sensitive_strings();
                        }
                    }
                }
            }
        })?;
        Ok(plan.changes.len())
    }

    /// The end of the command: the project is let go on the backend (the state file's
    /// lock when the session is dropped).
    pub async fn close(self) -> Result<(), Error> {
        self.backend.release().await
    }

    /// Records the outputs in the state file (those with a value).
    pub fn record_outputs(&self, outputs: &BTreeMap<String, OutputChange>) -> Result<(), Error> {
        self.state.update(|state| {
            state.outputs = outputs
                .iter()
                .filter_map(|(name, output)| {
                    let value = output.value.clone()?;
                    let sensitive = output.sensitive;
                    Some((name.clone(), state::OutputState { value, sensitive }))
                })
                .collect();
        })?;
        Ok(())
    }

    /// The end of `destroy`, once its plan ran to the end: whatever carries the project's
    /// label goes too (objects of an apply killed before it could record them, images
    /// unless `keep_images`), and the state forgets everything. What failed or was skipped
    /// above is gone then as well: those failures are returned, taken out of `outcome`.
    pub async fn sweep(
        &self,
        outcome: &mut Outcome,
        keep_images: bool,
    ) -> Result<Vec<(Instance, Error)>, Error> {
        if !outcome.not_started.is_empty() {
            return Ok(Vec::new());
        }
        let lineage = self.state.lineage();
        let swept = self
            .backend
            .sweep(&self.config.project, &lineage, keep_images)
            .await?;
        outcome.destroyed += swept.instances;
        let covered = std::mem::take(&mut outcome.failures);
        outcome.destroyed += covered.len();
        outcome.destroyed += std::mem::take(&mut outcome.skipped).len();
        self.state.update(|state| state.resources.clear())?;
        self.record_outputs(&BTreeMap::new())?;
        Ok(covered)
    }
}
