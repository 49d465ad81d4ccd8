//! Building the plan: walk the resources in dependency order, resolve each instance's
//! desired attributes, and compare them with what the state file recorded (prior) and
//! what Docker has (actual). Linear in the number of instances.

use std::collections::{BTreeMap, BTreeSet};

use state::State;

use super::model::{Action, Change, Instance, Plan};
use crate::attributes::{Attributes, Path, Value};
use crate::config::model::{Address, Config, Kind};
use crate::graph::Graph;
use crate::refresh::Actual;
use crate::resolve::Context;

/// The attributes only apply can give: Docker ids, a secret's value.
pub fn computed_attribute(kind: Kind) -> &'static str {
    match kind {
        Kind::Secret => "value",
        _ => "id",
    }
}

/// Everything a plan is made from.
pub struct Planner<'a> {
    /// env.toml, loaded.
    pub config: &'a Config,
    /// Its resources, ordered.
    pub graph: &'a Graph,
    /// Image reference per container resource.
    pub images: &'a BTreeMap<Address, String>,
    /// The state file.
    pub prior: &'a State,
    /// Docker's view of each recorded instance, by address.
    pub actual: &'a BTreeMap<String, Actual>,
}

/// Builds the plan; an error names the resource whose attributes cannot be resolved
/// (a file that cannot be read).
pub fn build(planner: &Planner<'_>) -> Result<Plan, String> {
    let mut computed: BTreeMap<Address, Attributes> = BTreeMap::new();
    let mut changes = Vec::new();
    let mut declared: BTreeSet<String> = BTreeSet::new();
    let resources = crate::resolve::index(planner.config);

    for address in planner.graph.order() {
        let resource = resources[address];
        let mut resource_changes = false;
        let context = Context {
            config: planner.config,
            index: &resources,
            images: planner.images,
            computed: &computed,
        };
        let dependencies: BTreeSet<Instance> = planner
            .graph
            .dependencies(address)
            .into_iter()
            .flat_map(|dependency| Context::instances(resources[dependency]))
            .collect();
        let mut prior_of_resource = None;
        for instance in Context::instances(resource) {
            let key = instance.to_string();
            declared.insert(key.clone());
            let desired = context
                .desired(resource, &instance)
                .map_err(|error| format!("{}: {error}", instance))?;
            let prior = planner.prior.resources.get(&key).map(|recorded| {
                Attributes::from_json(&recorded.attributes, &recorded.sensitive_attributes)
            });
            if prior_of_resource.is_none() {
                prior_of_resource = prior.clone();
            }
            let actual = planner.actual.get(&key);
            if let Some(mut change) = diff(address.kind, &instance, desired, prior, actual) {
                change.dependencies = dependencies.clone();
                change.prior_dependencies = recorded_dependencies(planner.prior, &key);
                resource_changes = true;
                changes.push(change);
            }
        }
        // What dependents may read of this resource: unknown when it is being made anew.
        let mut known = prior_of_resource.unwrap_or_default();
        if resource_changes || known.values.is_empty() {
            known
                .unknown
                .insert(Path::attribute(computed_attribute(address.kind)));
        }
        computed.insert(address.clone(), known);
    }

    changes.extend(deletions(planner.prior, planner.actual, &declared));

    let context = Context {
        config: planner.config,
        index: &resources,
        images: planner.images,
        computed: &computed,
    };
    let outputs = context
        .outputs()
        .into_iter()
        .filter(|(name, change)| {
            let recorded = planner.prior.outputs.get(name).map(|output| &output.value);
            change.value.is_none() || recorded != change.value.as_ref()
        })
        .collect();

    Ok(Plan {
        lineage: planner.prior.lineage.clone(),
        serial: planner.prior.serial,
        changes,
        outputs,
    })
}

/// The plan of `destroy`: every recorded instance deleted, dependents first.
pub fn destroy(prior: &State, actual: &BTreeMap<String, Actual>) -> Plan {
    Plan {
        lineage: prior.lineage.clone(),
        serial: prior.serial,
        changes: deletions(prior, actual, &BTreeSet::new()),
        outputs: BTreeMap::new(),
    }
}

/// Recorded instances env.toml no longer declares (a removed resource, fewer replicas):
/// deleted, dependents before what they depend on.
fn deletions(
    prior: &State,
    actual: &BTreeMap<String, Actual>,
    declared: &BTreeSet<String>,
) -> Vec<Change> {
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
            let reason = matches!(actual.get(&recorded.address), Some(Actual::Missing))
                .then(|| "already removed outside yoyoform".to_owned());
            Some(Change {
                instance,
                action: Action::Delete,
                before: Some(before),
                after: None,
                forces_replacement: BTreeSet::new(),
                reason,
                create_before_destroy: false,
                dependencies: recorded_dependencies(prior, &recorded.address),
                prior_dependencies: BTreeSet::new(),
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

/// The change one instance needs, if any.
pub fn diff(
    kind: Kind,
    instance: &Instance,
    desired: Attributes,
    prior: Option<Attributes>,
    actual: Option<&Actual>,
) -> Option<Change> {
    let computed = computed_attribute(kind);
    let mut after = desired;
    after.text(computed, "");
    // The computed value stays what it was unless the instance is made anew.
    after.unknown.insert(Path::attribute(computed));
    if kind == Kind::Secret {
        after.sensitive.insert(Path::attribute(computed));
    }
    // Two containers can hold neither one host port nor one data volume (two Redis servers
    // writing one append-only file); a network or a secret has no second copy to run.
    let create_before_destroy = kind == Kind::Service
        && !after.values.contains_key("ports")
        && !after.values.contains_key("volume");
    let change = |action, before, after, forces_replacement, reason: Option<&str>| Change {
        instance: instance.clone(),
        action,
        before,
        after: Some(after),
        forces_replacement,
        reason: reason.map(str::to_owned),
        dependencies: BTreeSet::new(),
        prior_dependencies: BTreeSet::new(),
        create_before_destroy: action == Action::Replace && create_before_destroy,
    };

    let Some(mut prior) = prior else {
        return Some(change(Action::Create, None, after, BTreeSet::new(), None));
    };
    if matches!(actual, Some(Actual::Missing)) {
        let reason = match kind {
            Kind::Network => "the network was removed outside yoyoform",
            _ => "the container was removed outside yoyoform",
        };
        return Some(change(
            Action::Create,
            None,
            after,
            BTreeSet::new(),
            Some(reason),
        ));
    }

    let drifted = drift(&mut prior, actual);
    let mut changed = changed_paths(&prior, &after, computed);
    changed.extend(drifted.iter().cloned());
    if changed.is_empty() {
        if let Some(Actual::Container { running: false, .. }) = actual {
            let mut before = prior.clone();
            before.text("running", "false");
            let mut after = prior;
            after.text("running", "true");
            return Some(change(
                Action::Update,
                Some(before),
                after,
                BTreeSet::new(),
                Some("the container is stopped"),
            ));
        }
        return None;
    }
    let reason = (!drifted.is_empty()).then_some("the container was changed outside yoyoform");
    Some(change(Action::Replace, Some(prior), after, changed, reason))
}

/// Puts what Docker really has into `prior` where it differs (image, env values), and
/// says which paths drifted.
fn drift(prior: &mut Attributes, actual: Option<&Actual>) -> BTreeSet<Path> {
    let mut drifted = BTreeSet::new();
    let Some(Actual::Container {
        image,
        env,
        networks,
        ..
    }) = actual
    else {
        return drifted;
    };
    // Taken off its network (or the network was removed and made again): unreachable.
    if let Some(network) = prior.get_text("network")
        && !networks.iter().any(|attached| attached == network)
    {
        let attached = if networks.is_empty() {
            "(none)".to_owned()
        } else {
            networks.join(", ")
        };
        prior.text("network", attached);
        drifted.insert(Path::attribute("network"));
    }
    if prior
        .get_text("image")
        .is_some_and(|recorded| recorded != image)
    {
        prior.text("image", image.clone());
        drifted.insert(Path::attribute("image"));
    }
    if let Some(Value::Map(recorded)) = prior.values.get_mut("env") {
        for (key, value) in recorded.iter_mut() {
            let now = env.get(key).cloned().unwrap_or_default();
            if *value != now {
                *value = now;
                drifted.insert(Path::key("env", key));
            }
        }
    }
    drifted
}

/// The paths whose values differ between prior and desired, the computed one aside.
fn changed_paths(prior: &Attributes, desired: &Attributes, computed: &str) -> BTreeSet<Path> {
    let mut changed = BTreeSet::new();
    let names: BTreeSet<&String> = prior.values.keys().chain(desired.values.keys()).collect();
    for name in names {
        if name == computed {
            continue;
        }
        match (prior.values.get(name), desired.values.get(name)) {
            (Some(Value::Map(before)), Some(Value::Map(after))) => {
                let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
                for key in keys {
                    let path = Path::key(name, key);
                    if before.get(key) != after.get(key) || desired.is_unknown(&path) {
                        changed.insert(path);
                    }
                }
            }
            (before, after) => {
                let path = Path::attribute(name);
                if before != after || desired.is_unknown(&path) {
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
    use crate::config::model::Address;

    fn instance() -> Instance {
        Instance {
            resource: Address {
                kind: Kind::Service,
                name: "api".into(),
            },
            index: None,
        }
    }

    fn attributes(image: &str, env: &[(&str, &str)]) -> Attributes {
        let mut attributes = Attributes::default();
        attributes.text("image", image);
        attributes.text("network", "net");
        attributes.values.insert(
            "env".into(),
            Value::Map(
                env.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        );
        attributes
    }

    fn recorded(image: &str, env: &[(&str, &str)]) -> Attributes {
        let mut attributes = attributes(image, env);
        attributes.text("id", "c0ffee");
        attributes.text("network", "net");
        attributes
    }

    fn container(running: bool, image: &str, env: &[(&str, &str)]) -> Actual {
        Actual::Container {
            running,
            image: image.into(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            networks: vec!["net".into()],
        }
    }

    type Expected = Option<(Action, &'static [&'static str], Option<&'static str>)>;

    /// A case: name, desired, prior, actual, and the change expected.
    type Case = (
        &'static str,
        Attributes,
        Option<Attributes>,
        Option<Actual>,
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
                "docker adds env of its own: not drift",
                attributes("img:1", env),
                Some(recorded("img:1", env)),
                Some(container(true, "img:1", &[("A", "1"), ("PATH", "/bin")])),
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
                Some(Actual::Missing),
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
                Some(Actual::Container {
                    running: true,
                    image: "img:1".into(),
                    env: [("A".to_string(), "1".to_string())].into(),
                    networks: vec![],
                }),
                Some((
                    Action::Replace,
                    &["network"],
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
        ];
        for (name, desired, prior, actual, expected) in cases {
            let change = diff(Kind::Service, &instance(), desired, prior, actual.as_ref());
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
    fn unknown_secret_forces_replacement_of_its_users() {
        let mut desired = attributes("img:1", &[("JWT_SECRET", "")]);
        desired.unknown.insert(Path::key("env", "JWT_SECRET"));
        let prior = recorded("img:1", &[("JWT_SECRET", "old")]);
        let actual = container(true, "img:1", &[("JWT_SECRET", "old")]);
        let change = diff(
            Kind::Service,
            &instance(),
            desired,
            Some(prior),
            Some(&actual),
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
    /// `prior`, with Docker having exactly what the state file says.
    fn plan_for(source: &str, prior: &State) -> Plan {
        let root = std::env::temp_dir();
        let config = crate::config::load_source(
            std::path::Path::new("env.toml"),
            source,
            &root,
            &crate::config::Overrides::new(),
        )
        .expect("a valid env.toml");
        let graph = Graph::build(&config).expect("no cycle");
        let images = crate::resolve::image_tags(&config).expect("image tags");
        let actual: BTreeMap<String, Actual> = prior
            .resources
            .values()
            .map(|recorded| {
                let attributes = Attributes::from_json(&recorded.attributes, &[]);
                let actual = match recorded.kind.as_str() {
                    "service" => Actual::Container {
                        running: true,
                        image: attributes.get_text("image").unwrap_or_default().to_owned(),
                        env: attributes.get_map("env").cloned().unwrap_or_default(),
                        networks: attributes
                            .get_text("network")
                            .into_iter()
                            .map(str::to_owned)
                            .collect(),
                    },
                    _ => Actual::Present,
                };
                (recorded.address.clone(), actual)
            })
            .collect();
        build(&Planner {
            config: &config,
            graph: &graph,
            images: &images,
            prior,
            actual: &actual,
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
                    docker_ids: vec!["computed".into()],
                    config_hash: String::new(),
                    attributes: attributes.to_json(),
                    sensitive_attributes: attributes.sensitive_strings(),
                    dependencies: vec![],
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
}
