//! Reviewing a change of env.toml: the plan of one revision (the head) against another
//! (the base), made from the repository alone: no Docker, no state file, no lock.
//!
//! The base is planned as if it had been applied: every instance as it would be made, with
//! the values only apply can give (a Docker id, a generated secret) standing in as names,
//! `(id of network.platform)`. The head is then planned against that, as `plan` plans
//! against a state file: the same notation, and only what the change does. A change of
//! comments, formatting or key order plans `No changes.`. An image that changes says which
//! of its sources changed its hash.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path as FsPath;

use resources::hash::{Inputs, LOCK_ENTRY, MANIFEST_ENTRY};
use state::{ResourceState, State};

use crate::attributes::{Attributes, Path};
use crate::config::model::Config;
use crate::error::Error;
use crate::graph::Graph;
use crate::plan::{self, Action, Instance, Plan};
use crate::resolve::{Context, index};

/// What applying `head` changes where `base` was applied.
pub fn plan(base: &Config, head: &Config) -> Result<Plan, Error> {
    plan_against(&applied(base)?, base, head)
}

/// [`plan`], with the state `base` leaves worked out already ([`applied`]): the two
/// halves can be read side by side.
pub fn plan_against(prior: &State, base: &Config, head: &Config) -> Result<Plan, Error> {
    let graph = Graph::build(head)?;
    let mut plan = plan::build(&plan::Planner {
        config: head,
        graph: &graph,
        prior,
        actual: &BTreeMap::new(),
        replace: &[],
    })?;
    explain_images(&mut plan, base, head)?;
    Ok(plan)
}

/// The state `config` would leave once applied, the computed values standing in as names.
pub fn applied(config: &Config) -> Result<State, Error> {
    let graph = Graph::build(config)?;
    let resources = index(config);
    let mut computed = BTreeMap::new();
    for resource in &config.resources {
        let mut attributes = Attributes::default();
        for attribute in resource.address.kind().schema().computed() {
            let stand_in = format!("({} of {})", attribute.name, resource.address);
            attributes.text(attribute.name, stand_in);
            if attribute.sensitive {
                attributes.sensitive.insert(Path::attribute(attribute.name));
            }
        }
        computed.insert(resource.address.clone(), attributes);
    }
    let cx = Context::new(config, &resources, &computed);
    let mut state = State::new(env!("CARGO_PKG_VERSION"));
    for address in graph.order() {
        let resource = resources[address];
        let dependencies: Vec<String> = graph
            .dependencies(address)
            .into_iter()
            .flat_map(|dependency| Context::instances(resources[dependency]))
            .map(|instance| instance.to_string())
            .collect();
        for instance in Context::instances(resource) {
            let mut attributes =
                resource
                    .settings
                    .desired(&cx, &instance)
                    .map_err(|error| Error::At {
                        instance: instance.clone(),
                        error: Box::new(error),
                    })?;
            let stand_ins = &computed[address];
            for (name, value) in &stand_ins.values {
                attributes.values.insert(name.clone(), value.clone());
            }
            attributes
                .sensitive
                .extend(stand_ins.sensitive.iter().cloned());
            state.resources.insert(
                instance.to_string(),
                ResourceState {
                    address: instance.to_string(),
                    kind: address.kind.to_owned(),
                    backend: config.target.recorded(),
                    docker_ids: Vec::new(),
                    config_hash: String::new(),
                    attributes: attributes.to_json(),
                    sensitive_attributes: attributes.sensitive_strings(),
                    dependencies: dependencies.clone(),
                    tainted: false,
                },
            );
        }
    }
    state.outputs = cx
        .outputs()
        .into_iter()
        .filter_map(|(name, output)| {
            let value = output.value?;
            let sensitive = output.sensitive;
            Some((name, state::OutputState { value, sensitive }))
        })
        .collect();
    Ok(state)
}

/// For every image built here whose tag changes: which of its sources changed it, as the
/// change's reason (`image changes: services/router/src/proxy.rs, Cargo.lock (package
/// hyper)`).
fn explain_images(plan: &mut Plan, base: &Config, head: &Config) -> Result<(), Error> {
    // Replicas share their image: explained once per resource.
    let mut explained: BTreeMap<String, Option<String>> = BTreeMap::new();
    for change in &mut plan.changes {
        if change.action != Action::Replace {
            continue;
        }
        let (Some(before), Some(after)) = (&change.before, &change.after) else {
            continue;
        };
        if before.get_text("image") == after.get_text("image") {
            continue;
        }
        let (Some(old), Some(new)) = (before.get_map("build"), after.get_map("build")) else {
            continue;
        };
        let key = change.instance.resource.to_string();
        if !explained.contains_key(&key) {
            let reason = image_changes(base, old, head, new, &change.instance)?;
            explained.insert(key.clone(), reason);
        }
        if let Some(reason) = &explained[&key] {
            change.reason = Some(reason.clone());
        }
    }
    Ok(())
}

/// What changed between the inputs of two builds, as a sentence.
fn image_changes(
    base: &Config,
    old: &BTreeMap<String, String>,
    head: &Config,
    new: &BTreeMap<String, String>,
    instance: &Instance,
) -> Result<Option<String>, Error> {
    let inputs = |config: &Config, build: &BTreeMap<String, String>| -> Result<Inputs, Error> {
        let context = config
            .root
            .join(build.get("context").map_or("", String::as_str));
        let binary = build.get("binary").map(String::as_str);
        resources::hash::build_inputs(config.tree.as_ref(), &context, binary).map_err(|error| {
            Error::At {
                instance: instance.clone(),
                error: Box::new(error.into()),
            }
        })
    };
    let (before, after) = (inputs(base, old)?, inputs(head, new)?);
    let context = |build: &BTreeMap<String, String>, config: &Config| {
        let context = config
            .root
            .join(build.get("context").map_or("", String::as_str));
        normal(&context)
    };
    let name = |entry: &str, context: &str| -> String {
        if let Some(relative) = entry.strip_prefix("context/") {
            return join(context, relative);
        }
        if let Some(relative) = entry.strip_prefix("dep/") {
            return relative.to_owned();
        }
        if entry == MANIFEST_ENTRY {
            return "Cargo.toml".to_owned();
        }
        entry.to_owned()
    };
    let digests = |inputs: &Inputs, context: &str| -> BTreeMap<String, String> {
        inputs
            .entries
            .iter()
            .filter(|(entry, _)| entry != LOCK_ENTRY)
            .map(|(entry, digest)| (name(entry, context), digest.clone()))
            .collect()
    };
    let (then, now) = (
        digests(&before, &context(old, base)),
        digests(&after, &context(new, head)),
    );
    let names: BTreeSet<&String> = then.keys().chain(now.keys()).collect();
    let mut changed: Vec<String> = names
        .into_iter()
        .filter(|name| then.get(*name) != now.get(*name))
        .cloned()
        .collect();
    let packages = |lines: &[String]| -> BTreeSet<String> { lines.iter().cloned().collect() };
    let (then, now) = (packages(&before.packages), packages(&after.packages));
    let mut moved: Vec<String> = then
        .symmetric_difference(&now)
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    moved.sort();
    moved.dedup();
    match moved.as_slice() {
        [] => {}
        [one] => changed.push(format!("Cargo.lock (package {one})")),
        many => changed.push(format!("Cargo.lock (packages {})", many.join(", "))),
    }
    Ok((!changed.is_empty()).then(|| format!("image changes: {}", changed.join(", "))))
}

/// A path as the repository names it: `/`-separated, without `./`.
fn normal(path: &FsPath) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let parts: Vec<&str> = text
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    parts.join("/")
}

fn join(folder: &str, relative: &str) -> String {
    if folder.is_empty() {
        relative.to_owned()
    } else {
        format!("{folder}/{relative}")
    }
}
