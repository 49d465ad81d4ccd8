//! Building the plan: walk the resources in dependency order, resolve each instance's
//! desired attributes, and compare them with what the state file recorded (prior) and
//! what the backend has (actual); each kind's plan rule says what a difference means.
//! Linear in the number of instances.

use std::collections::{BTreeMap, BTreeSet};

use state::State;

use super::model::{Action, Change, Instance, Mode, OutputChange, Plan};
use crate::attributes::{Attributes, Path, Value};
use crate::config::model::{Address, Config, Target};
use crate::error::Error;
use crate::graph::Graph;
use crate::kind::{Decision, Diff, Kind};
use crate::resolve::{Context, index};

/// What the backend has for each recorded instance, by address: `None` when it is gone.
/// An instance missing here was not read; its record stands.
pub type Actual = BTreeMap<String, Option<Attributes>>;

/// Everything a plan is made from.
pub struct Planner<'a> {
    /// env.toml, loaded.
    pub config: &'a Config,
    /// Its resources, ordered.
    pub graph: &'a Graph,
    /// The state file.
    pub prior: &'a State,
    /// The backend's view of each recorded instance.
    pub actual: &'a Actual,
    /// Instances (or whole resources) to make anew though nothing changed (`--replace`).
    pub replace: &'a [Instance],
}

/// Builds the plan; an error names the instance whose attributes cannot be resolved (a
/// file that cannot be read, sources that cannot be hashed).
pub fn build(planner: &Planner<'_>) -> Result<Plan, Error> {
    let mut computed: BTreeMap<Address, Attributes> = BTreeMap::new();
    let mut changes = Vec::new();
    let mut declared: BTreeSet<String> = BTreeSet::new();
    let resources = index(planner.config);

    for address in planner.graph.order() {
        let resource = resources[address];
        let kind = address.kind();
        let dependencies: BTreeSet<Instance> = planner
            .graph
            .dependencies(address)
            .into_iter()
            .flat_map(|dependency| Context::instances(resources[dependency]))
            .collect();
        let mut resource_changes = false;
        let mut prior_of_resource = None;
        {
            let cx = Context::new(planner.config, &resources, &computed);
            for instance in Context::instances(resource) {
                let key = instance.to_string();
                declared.insert(key.clone());
                let desired =
                    resource
                        .settings
                        .desired(&cx, &instance)
                        .map_err(|error| Error::At {
                            instance: instance.clone(),
                            error: Box::new(error),
                        })?;
                let prior = planner.prior.resources.get(&key).map(Prior::of);
                if prior_of_resource.is_none() {
                    prior_of_resource = prior.as_ref().map(|prior| prior.attributes.clone());
                }
                let actual = planner.actual.get(&key);
                let target = planner.config.target;
                let forced = planner
                    .replace
                    .iter()
                    .any(|selector| super::matches(selector, &instance));
                if let Some(mut change) =
                    diff(kind, &instance, desired, target, prior, actual, forced)
                {
                    change.dependencies = dependencies.clone();
                    change.prior_dependencies = recorded_dependencies(planner.prior, &key);
                    resource_changes = true;
                    changes.push(change);
                }
            }
        }
        // What dependents may read of this resource: unknown when it is being made anew.
        let mut known = prior_of_resource.unwrap_or_default();
        if resource_changes || known.values.is_empty() {
            for attribute in kind.schema().computed() {
                known.unknown.insert(Path::attribute(attribute.name));
            }
        }
        computed.insert(address.clone(), known);
    }

    changes.extend(deletions(planner.prior, planner.actual, &declared));

    let cx = Context::new(planner.config, &resources, &computed);
    let mut outputs: BTreeMap<String, OutputChange> = cx
        .outputs()
        .into_iter()
        .filter_map(|(name, mut change)| {
            change.before = planner.prior.outputs.get(&name).map(|o| o.value.clone());
            let changes = change.value.is_none() || change.before != change.value;
            changes.then_some((name, change))
        })
        .collect();
    for (name, recorded) in &planner.prior.outputs {
        if !planner.config.outputs.contains_key(name) {
            let removed = OutputChange {
                value: None,
                sensitive: recorded.sensitive,
                before: Some(recorded.value.clone()),
                removed: true,
            };
            outputs.insert(name.clone(), removed);
        }
    }

    Ok(Plan {
        lineage: planner.prior.lineage.clone(),
        serial: planner.prior.serial,
        changes,
        outputs,
        ..Plan::default()
    })
}

/// The plan of `destroy`: every recorded instance deleted, dependents first.
pub fn destroy(prior: &State, actual: &Actual) -> Plan {
    Plan {
        lineage: prior.lineage.clone(),
        serial: prior.serial,
        changes: deletions(prior, actual, &BTreeSet::new()),
        mode: Mode::Destroy,
        ..Plan::default()
    }
}

/// The plan of `--refresh-only`: each recorded instance the backend has otherwise than
/// the state file says, as it is now (`~`), or gone (`-`). Applying it changes the state
/// file alone.
pub fn refresh_only(prior: &State, actual: &Actual) -> Plan {
    let changes = prior
        .resources
        .values()
        .filter_map(|recorded| {
            let instance = Instance::parse(&recorded.address)?;
            let before =
                Attributes::from_json(&recorded.attributes, &recorded.sensitive_attributes);
            let (action, after) = match actual.get(&recorded.address)? {
                None => (Action::Delete, None),
                Some(now) => {
                    let computed = instance.resource.kind().schema().computed_names();
                    if changed_paths(&before, now, &computed).is_empty() {
                        return None;
                    }
                    (Action::Update, Some(now.clone()))
                }
            };
            Some(Change {
                before: Some(before),
                after,
                ..Change::new(instance, action)
            })
        })
        .collect();
    Plan {
        lineage: prior.lineage.clone(),
        serial: prior.serial,
        changes,
        mode: Mode::RefreshOnly,
        ..Plan::default()
    }
}

/// Recorded instances env.toml no longer declares (a removed resource, fewer replicas):
/// deleted, dependents before what they depend on.
fn deletions(prior: &State, actual: &Actual, declared: &BTreeSet<String>) -> Vec<Change> {
    let gone: Vec<&state::ResourceState> = prior
        .resources
        .values()
        .filter(|recorded| !declared.contains(&recorded.address))
        .collect();
    let mut changes: Vec<Change> = gone
        .iter()
        .filter_map(|recorded| {
            let instance = Instance::parse(&recorded.address)?;
            let before =
                Attributes::from_json(&recorded.attributes, &recorded.sensitive_attributes);
            let reason = matches!(actual.get(&recorded.address), Some(None))
                .then(|| "already removed outside yoyoform".to_owned());
            Some(Change {
                before: Some(before),
                reason,
                dependencies: recorded_dependencies(prior, &recorded.address),
                ..Change::new(instance, Action::Delete)
            })
        })
        .collect();
    // Dependents first: an instance goes before anything it depends on.
    let mut ordered = Vec::new();
    while !changes.is_empty() {
        let still_needed: BTreeSet<Instance> = changes
            .iter()
            .flat_map(|change| change.dependencies.iter().cloned())
            .collect();
        let (ready, rest): (Vec<Change>, Vec<Change>) = changes.into_iter().partition(|change| {
            let instance = &change.instance;
            !still_needed.iter().any(|needed| {
                needed == instance
                    || (needed.resource == instance.resource && needed.index.is_none())
            })
        });
        if ready.is_empty() {
            // A cycle in recorded dependencies cannot come from a valid env.toml; delete the
            // rest in address order rather than loop.
            ordered.extend(rest);
            break;
        }
        ordered.extend(ready);
        changes = rest;
    }
    ordered
}

/// What the state file says an instance depended on when it was made.
fn recorded_dependencies(prior: &State, address: &str) -> BTreeSet<Instance> {
    prior
        .resources
        .get(address)
        .map(|recorded| {
            recorded
                .dependencies
                .iter()
                .filter_map(|address| Instance::parse(address))
                .collect()
        })
        .unwrap_or_default()
}

/// An instance as the state file recorded it, for [`diff`].
#[derive(Debug, Clone)]
pub struct Prior {
    /// Its attributes.
    pub attributes: Attributes,
    /// Its removal was started and did not finish.
    pub tainted: bool,
    /// The backend that made it.
    pub target: Target,
}

impl Prior {
    /// The record's attributes, taint and backend. (The session refuses a state file
    /// naming a backend this yoyoform does not know before anything is planned.)
    pub fn of(recorded: &state::ResourceState) -> Prior {
        Prior {
            attributes: Attributes::from_json(&recorded.attributes, &recorded.sensitive_attributes),
            tainted: recorded.tainted,
            target: Target::of_record(recorded.backend.as_deref()).unwrap_or_default(),
        }
    }
}

/// The change one instance needs, if any: what its kind's plan rule makes of the
/// difference between what it is (`prior`, with `actual` put in) and `desired` on
/// `target`. `actual` is `None` when the backend was not asked, `Some(None)` when the
/// object is gone. A prior that is tainted (its removal was started and did not finish),
/// or that another backend made, is made anew whatever else it needs, the old one first
/// (maybe half-stopped; or holding the host port the new one takes). One `forced` is
/// replaced though nothing changed, in the order its kind replaces it.
pub fn diff(
    kind: &dyn Kind,
    instance: &Instance,
    desired: Attributes,
    target: Target,
    prior: Option<Prior>,
    actual: Option<&Option<Attributes>>,
    forced: bool,
) -> Option<Change> {
    let schema = kind.schema();
    let computed = schema.computed_names();
    let mut after = desired;
    // A computed value stays what it was unless the instance is made anew.
    for attribute in schema.computed() {
        let path = Path::attribute(attribute.name);
        after.text(attribute.name, "");
        after.unknown.insert(path.clone());
        if attribute.sensitive {
            after.sensitive.insert(path);
        }
    }
    let change = |action, before, after, forces_replacement, reason: Option<String>| Change {
        before,
        after: Some(after),
        forces_replacement,
        reason,
        ..Change::new(instance.clone(), action)
    };

    let Some(Prior {
        attributes: prior,
        tainted,
        target: made_on,
    }) = prior
    else {
        return Some(change(Action::Create, None, after, BTreeSet::new(), None));
    };
    let object = kind.object(made_on);
    if let Some(None) = actual {
        let reason = format!("the {object} was removed outside yoyoform");
        return Some(change(
            Action::Create,
            None,
            after,
            BTreeSet::new(),
            Some(reason),
        ));
    }
    let before = match actual {
        Some(Some(actual)) => actual.clone(),
        _ => prior.clone(),
    };
    let drifted = changed_paths(&prior, &before, &computed);
    let changed = changed_paths(&before, &after, &computed);
    let drift_reason =
        (!drifted.is_empty()).then(|| format!("the {object} was changed outside yoyoform"));
    let moved = made_on != target;
    let decision = if tainted || moved {
        Decision::Replace {
            create_before_destroy: false,
        }
    } else {
        let decide = |changed: &BTreeSet<Path>| {
            kind.decide(&Diff {
                before: &before,
                after: &after,
                changed,
                drifted: &drifted,
                target,
            })
        };
        match decide(&changed) {
            decided @ Decision::Replace { .. } => decided,
            // Asked as if every attribute changed, the kind says which one goes first; a
            // kind that would update in place is made anew all the same, old one first.
            _ if forced => match decide(&changed_paths(&Attributes::default(), &after, &[])) {
                decided @ Decision::Replace { .. } => decided,
                _ => Decision::Replace {
                    create_before_destroy: false,
                },
            },
            decided => decided,
        }
    };
    let drift_reason = if tainted {
        Some("its removal was started and did not finish".to_owned())
    } else if moved {
        Some(format!(
            "the project moves from the {made_on} backend to the {target} backend"
        ))
    } else if forced {
        Some("its replacement was asked for with --replace".to_owned())
    } else {
        drift_reason
    };
    // On another backend everything is made anew: no one attribute forces it.
    let changed = if moved { BTreeSet::new() } else { changed };
    match decision {
        Decision::Keep => None,
        Decision::Update { reason } => {
            for name in &computed {
                if let Some(value) = prior.values.get(*name) {
                    after.values.insert((*name).to_owned(), value.clone());
                    after.unknown.remove(&Path::attribute(name));
                }
            }
            let reason = reason.map(str::to_owned).or(drift_reason);
            Some(change(
                Action::Update,
                Some(before),
                after,
                BTreeSet::new(),
                reason,
            ))
        }
        Decision::Replace {
            create_before_destroy,
        } => Some(Change {
            create_before_destroy,
            moves: moved,
            ..change(Action::Replace, Some(before), after, changed, drift_reason)
        }),
    }
}

/// The paths whose values differ between `before` and `after` (or are unknown in
/// `after`), the `skip`ped attributes aside.
pub fn changed_paths(before: &Attributes, after: &Attributes, skip: &[&str]) -> BTreeSet<Path> {
    let mut changed = BTreeSet::new();
    let names: BTreeSet<&String> = before.values.keys().chain(after.values.keys()).collect();
    for name in names {
        if skip.contains(&name.as_str()) {
            continue;
        }
        match (before.values.get(name), after.values.get(name)) {
            (Some(Value::Map(old)), Some(Value::Map(new))) => {
                let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
                for key in keys {
                    let path = Path::key(name, key);
                    if old.get(key) != new.get(key) || after.is_unknown(&path) {
                        changed.insert(path);
                    }
                }
            }
            (old, new) => {
                let path = Path::attribute(name);
                if old != new || after.is_unknown(&path) {
                    changed.insert(path);
                }
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record made on one Docker daemon.
    fn on_docker(attributes: Attributes, tainted: bool) -> Prior {
        Prior {
            attributes,
            tainted,
            target: Target::Docker,
        }
    }
    use crate::kinds::registry;

    fn service() -> &'static dyn Kind {
        registry().get("service").unwrap()
    }

    fn instance() -> Instance {
        Instance::parse("service.api").unwrap()
    }

    fn attributes(image: &str, env: &[(&str, &str)]) -> Attributes {
        let mut attributes = Attributes::default();
        attributes.text("image", image);
        attributes.list("networks", vec!["net".into()]);
        attributes.text("running", "true");
        attributes.map(
            "env",
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        attributes
    }

    fn recorded(image: &str, env: &[(&str, &str)]) -> Attributes {
        let mut attributes = attributes(image, env);
        attributes.text("id", "c0ffee");
        attributes
    }

    /// What the Docker driver reads back: the record with what Docker has put in.
    fn container(running: bool, image: &str, env: &[(&str, &str)]) -> Option<Attributes> {
        let mut attributes = recorded(image, env);
        attributes.text("running", running.to_string());
        Some(attributes)
    }

    type Expected = Option<(Action, &'static [&'static str], Option<&'static str>)>;

    /// A case: name, desired, prior, actual, and the change expected.
    type Case = (
        &'static str,
        Attributes,
        Option<Attributes>,
        Option<Option<Attributes>>,
        Expected,
    );

    #[test]
    fn diff_cases() {
        let env = &[("A", "1")][..];
        let cases: Vec<Case> = vec![
            (
                "new",
                attributes("img:1", env),
                None,
                None,
                Some((Action::Create, &[], None)),
            ),
            (
                "unchanged",
                attributes("img:1", env),
                Some(recorded("img:1", env)),
                Some(container(true, "img:1", env)),
                None,
            ),
            (
                "env value changed in env.toml",
                attributes("img:1", &[("A", "2")]),
                Some(recorded("img:1", env)),
                Some(container(true, "img:1", env)),
                Some((Action::Replace, &["env[\"A\"]"], None)),
            ),
            (
                "env key added",
                attributes("img:1", &[("A", "1"), ("B", "x")]),
                Some(recorded("img:1", env)),
                Some(container(true, "img:1", env)),
                Some((Action::Replace, &["env[\"B\"]"], None)),
            ),
            (
                "image changed (sources changed)",
                attributes("img:2", env),
                Some(recorded("img:1", env)),
                Some(container(true, "img:1", env)),
                Some((Action::Replace, &["image"], None)),
            ),
            (
                "removed outside yoyoform",
                attributes("img:1", env),
                Some(recorded("img:1", env)),
                Some(None),
                Some((
                    Action::Create,
                    &[],
                    Some("the container was removed outside yoyoform"),
                )),
            ),
            (
                "stopped outside yoyoform",
                attributes("img:1", env),
                Some(recorded("img:1", env)),
                Some(container(false, "img:1", env)),
                Some((Action::Update, &[], Some("the container is stopped"))),
            ),
            (
                "taken off its network outside yoyoform",
                attributes("img:1", env),
                Some(recorded("img:1", env)),
                Some({
                    let mut attributes = recorded("img:1", env);
                    attributes.list("networks", vec![]);
                    Some(attributes)
                }),
                Some((
                    Action::Replace,
                    &["networks"],
                    Some("the container was changed outside yoyoform"),
                )),
            ),
            (
                "env changed outside yoyoform",
                attributes("img:1", env),
                Some(recorded("img:1", env)),
                Some(container(true, "img:1", &[("A", "9")])),
                Some((
                    Action::Replace,
                    &["env[\"A\"]"],
                    Some("the container was changed outside yoyoform"),
                )),
            ),
            (
                "changed outside yoyoform to what env.toml now says",
                attributes("img:1", &[("A", "9")]),
                Some(recorded("img:1", env)),
                Some(container(true, "img:1", &[("A", "9")])),
                None,
            ),
        ];
        for (name, desired, prior, actual, expected) in cases {
            let prior = prior.map(|attributes| on_docker(attributes, false));
            let change = diff(
                service(),
                &instance(),
                desired,
                Target::Docker,
                prior,
                actual.as_ref(),
                false,
            );
            let got = change.as_ref().map(|change| {
                let forces: Vec<String> = change
                    .forces_replacement
                    .iter()
                    .map(Path::to_string)
                    .collect();
                (change.action, forces, change.reason.clone())
            });
            let expected = expected.map(|(action, forces, reason)| {
                let forces: Vec<String> = forces.iter().map(|f| f.to_string()).collect();
                (action, forces, reason.map(str::to_owned))
            });
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn an_update_in_place_keeps_the_computed_values() {
        let env = &[("A", "1")][..];
        let change = diff(
            service(),
            &instance(),
            attributes("img:1", env),
            Target::Docker,
            Some(on_docker(recorded("img:1", env), false)),
            Some(&container(false, "img:1", env)),
            false,
        )
        .unwrap();
        let after = change.after.unwrap();
        assert_eq!(after.get_text("id"), Some("c0ffee"));
        assert!(!after.is_unknown(&Path::attribute("id")));
        assert_eq!(change.before.unwrap().get_text("running"), Some("false"));
    }

    #[test]
    fn a_removal_that_did_not_finish_is_made_anew_old_one_first() {
        let env = &[("A", "1")][..];
        let unchanged = attributes("img:1", env);
        let running = container(true, "img:1", env);
        let tainted = Some(on_docker(recorded("img:1", env), true));
        let change = diff(
            service(),
            &instance(),
            unchanged.clone(),
            Target::Docker,
            tainted.clone(),
            Some(&running),
            false,
        )
        .unwrap();
        assert_eq!(change.action, Action::Replace);
        assert!(!change.create_before_destroy);
        assert_eq!(
            change.reason.as_deref(),
            Some("its removal was started and did not finish")
        );
        // Gone already: made anew.
        let gone = diff(
            service(),
            &instance(),
            unchanged,
            Target::Docker,
            tainted,
            Some(&None),
            false,
        )
        .unwrap();
        assert_eq!(gone.action, Action::Create);
    }

    #[test]
    fn unknown_secret_forces_replacement_of_its_users() {
        let mut desired = attributes("img:1", &[("JWT_SECRET", "")]);
        desired.unknown.insert(Path::key("env", "JWT_SECRET"));
        let prior = recorded("img:1", &[("JWT_SECRET", "old")]);
        let actual = container(true, "img:1", &[("JWT_SECRET", "old")]);
        let change = diff(
            service(),
            &instance(),
            desired,
            Target::Docker,
            Some(on_docker(prior, false)),
            Some(&actual),
            false,
        )
        .unwrap();
        assert_eq!(change.action, Action::Replace);
        assert!(
            change
                .forces_replacement
                .contains(&Path::key("env", "JWT_SECRET"))
        );
    }

    /// Plans `source` (services from existing images, so nothing is hashed) against
    /// `prior`, with the backend having exactly what the state file says.
    fn plan_for(source: &str, prior: &State) -> Plan {
        plan_replacing(source, prior, &[])
    }

    /// [`plan_for`], with `replace` made anew.
    fn plan_replacing(source: &str, prior: &State, replace: &[Instance]) -> Plan {
        let root = std::env::temp_dir();
        let config = crate::config::load_source(
            std::path::Path::new("env.toml"),
            source,
            &root,
            &crate::config::Overrides::new(),
        )
        .expect("a valid env.toml");
        let graph = Graph::build(&config).expect("no cycle");
        let actual: Actual = prior
            .resources
            .values()
            .map(|recorded| {
                let attributes = Attributes::from_json(&recorded.attributes, &[]);
                (recorded.address.clone(), Some(attributes))
            })
            .collect();
        build(&Planner {
            config: &config,
            graph: &graph,
            prior,
            actual: &actual,
            replace,
        })
        .expect("a plan")
    }

    /// The state file after applying `plan` exactly as planned.
    fn applied(plan: &Plan) -> State {
        let mut state = State::new("test");
        for change in &plan.changes {
            let mut attributes = change.after.clone().expect("creates only");
            // What apply learns: here every unknown value is "computed".
            for path in std::mem::take(&mut attributes.unknown) {
                match (&path.key, attributes.values.get_mut(&path.attribute)) {
                    (Some(key), Some(Value::Map(map))) => {
                        map.insert(key.clone(), "computed".into());
                    }
                    _ => {
                        attributes.text(&path.attribute, "computed");
                    }
                }
            }
            state.resources.insert(
                change.instance.to_string(),
                state::ResourceState {
                    address: change.instance.to_string(),
                    kind: change.instance.resource.kind.to_string(),
                    backend: None,
                    docker_ids: vec!["computed".into()],
                    config_hash: String::new(),
                    attributes: attributes.to_json(),
                    sensitive_attributes: attributes.sensitive_strings(),
                    dependencies: vec![],
                    tainted: false,
                },
            );
        }
        state
    }

    fn workers(replicas: u32) -> String {
        format!(
            "[project]\nname = \"t\"\n\n[secret.key]\nlength = 8\n\n[service.worker]\n\
             image = \"worker:1\"\nreplicas = {replicas}\nenv = {{ KEY = \"${{secret.key.value}}\" }}\n"
        )
    }

    fn summary(plan: &Plan) -> Vec<String> {
        plan.changes
            .iter()
            .map(|change| format!("{} {}", change.action.symbol(), change.instance))
            .collect()
    }

    #[test]
    fn replicas_change_by_the_difference_only() {
        let first = plan_for(&workers(3), &State::new("test"));
        assert_eq!(
            summary(&first),
            [
                "+ secret.key",
                "+ service.worker[0]",
                "+ service.worker[1]",
                "+ service.worker[2]"
            ]
        );
        let state = applied(&first);
        assert_eq!(
            summary(&plan_for(&workers(3), &state)),
            Vec::<String>::new()
        );
        assert_eq!(
            summary(&plan_for(&workers(2), &state)),
            ["- service.worker[2]"]
        );
        assert_eq!(
            summary(&plan_for(&workers(5), &state)),
            ["+ service.worker[3]", "+ service.worker[4]"]
        );
    }

    #[test]
    fn a_new_secret_is_unknown_and_sensitive_in_its_users() {
        let plan = plan_for(&workers(1), &State::new("test"));
        let worker = &plan.changes[1];
        let after = worker.after.as_ref().unwrap();
        let key = Path::key("env", "KEY");
        assert!(after.is_unknown(&key) && after.is_sensitive(&key));
        // Once applied, the secret's value is known and the plan is empty.
        assert!(plan_for(&workers(1), &applied(&plan)).is_empty());
    }

    #[test]
    fn replace_makes_anew_what_did_not_change_and_what_uses_its_new_values() {
        let state = applied(&plan_for(&workers(2), &State::new("test")));
        let one = [Instance::parse("service.worker[1]").unwrap()];
        let plan = plan_replacing(&workers(2), &state, &one);
        assert_eq!(summary(&plan), ["-/+ service.worker[1]"]);
        let change = &plan.changes[0];
        assert!(
            change.create_before_destroy,
            "no port, no volume: new one first"
        );
        assert_eq!(
            change.reason.as_deref(),
            Some("its replacement was asked for with --replace")
        );
        // A new secret value is unknown until made: what uses it is made anew too.
        let secret = [Instance::parse("secret.key").unwrap()];
        assert_eq!(
            summary(&plan_replacing(&workers(2), &state, &secret)),
            [
                "-/+ secret.key",
                "-/+ service.worker[0]",
                "-/+ service.worker[1]"
            ]
        );
    }
}
