//! Ownership: what the backend holds under the names a plan will take, and what carries
//! the project's label, held against the state file. yoyoform owns an object when the
//! state records it, or when its labels say this state made it (the project, the address
//! and the state's lineage): an apply killed after the backend made an object and before
//! the state recorded it leaves such objects. Those are adopted where env.toml still
//! declares them and removed where it does not. Anything else under a name the plan wants
//! (another state's, someone else's, one with no label) is refused at plan, never taken
//! over, mounted or removed.

use std::collections::{BTreeMap, BTreeSet};

use resources::labels::{ADDRESS, LINEAGE, PROJECT};
use state::State;

use crate::attributes::Attributes;
use crate::backend::Found;
use crate::config::model::Target;
use crate::error::Error;
use crate::plan::{Action, Change, Instance, Plan};

/// Whether the plan or the state involve objects with names on the backend (a plan of
/// secrets only has nothing to hold against it, and needs no backend).
pub fn matters(plan: &Plan, prior: &State, target: Target) -> bool {
    let planned = plan.changes.iter().any(|change| {
        let attributes = change.after.as_ref().or(change.before.as_ref());
        attributes.is_some_and(|attributes| {
            !change
                .instance
                .resource
                .kind()
                .claims(attributes, target)
                .is_empty()
        })
    });
    planned
        || prior.resources.values().any(|recorded| {
            let attributes = Attributes::from_json(&recorded.attributes, &[]);
            let target = Target::of_record(recorded.backend.as_deref()).unwrap_or_default();
            Instance::parse(&recorded.address).is_some_and(|instance| {
                !instance
                    .resource
                    .kind()
                    .claims(&attributes, target)
                    .is_empty()
            })
        })
}

/// Holds `found` (everything the backend has under a name) against the plan and the
/// state: marks the creates that adopt an object this state made, adds the deletion of
/// objects this state made for instances it no longer declares, and refuses the plan when
/// anything else stands where it would make something.
pub fn reconcile(
    plan: &mut Plan,
    prior: &State,
    found: &[Found],
    project: &str,
    lineage: &str,
    target: Target,
) -> Result<(), Error> {
    let recorded: BTreeSet<&str> = prior
        .resources
        .values()
        .flat_map(|recorded| recorded.docker_ids.iter().map(String::as_str))
        .collect();
    let recorded_addresses: BTreeSet<&str> = prior.resources.keys().map(String::as_str).collect();
    let label = |object: &Found, name: &str| object.labels.get(name).cloned();
    // Recorded, or made for a recorded instance by a yoyoform that did not label lineages
    // yet: the state's own.
    let known = |object: &Found| {
        recorded.contains(object.id.as_str())
            || (label(object, LINEAGE).is_none()
                && label(object, PROJECT).as_deref() == Some(project)
                && label(object, ADDRESS)
                    .is_some_and(|address| recorded_addresses.contains(address.as_str())))
    };
    let ours = |object: &Found| {
        label(object, PROJECT).as_deref() == Some(project)
            && label(object, LINEAGE).as_deref() == Some(lineage)
    };
    let by_claim: BTreeMap<String, &Found> = found
        .iter()
        .map(|object| (object.claim(), object))
        .collect();

    let mut conflicts = Vec::new();
    let mut taken: BTreeSet<&str> = BTreeSet::new();
    for change in &mut plan.changes {
        if !matches!(change.action, Action::Create | Action::Replace) {
            continue;
        }
        let Some(after) = &change.after else { continue };
        let claims = change.instance.resource.kind().claims(after, target);
        for (position, claim) in claims.iter().enumerate() {
            let Some(object) = by_claim.get(claim) else {
                continue;
            };
            if known(object) {
                continue;
            }
            taken.insert(object.id.as_str());
            let address = label(object, ADDRESS);
            if ours(object) && address.as_deref() == Some(change.instance.to_string().as_str()) {
                // The instance's own object: its first claim is the object it is.
                if position == 0 && change.action == Action::Create {
                    change.unrecorded = Some(object.id.clone());
                    change.reason = Some(format!(
                        "{} `{}` was made by an apply of this state that could not record it",
                        object.object, object.name
                    ));
                }
                continue;
            }
            conflicts.push(describe(object, project, lineage));
        }
    }

    let mut orphans = Vec::new();
    for object in found {
        if known(object)
            || taken.contains(object.id.as_str())
            || label(object, PROJECT).as_deref() != Some(project)
        {
            continue;
        }
        let instance = label(object, ADDRESS).and_then(|address| Instance::parse(&address));
        match instance {
            Some(instance) if ours(object) => orphans.push(orphan(instance, object)),
            _ => conflicts.push(describe(object, project, lineage)),
        }
    }
    if !conflicts.is_empty() {
        conflicts.sort();
        conflicts.dedup();
        return Err(Error::Conflicts(conflicts));
    }
    // Left-overs go first: a create may need the name one holds.
    orphans.append(&mut plan.changes);
    plan.changes = orphans;
    Ok(())
}

/// The deletion of an object this state made and does not record, for an instance it
/// does not declare (or declares under another object).
fn orphan(instance: Instance, object: &Found) -> Change {
    let mut before = Attributes::default();
    before.text("name", &object.name);
    Change {
        before: Some(before),
        reason: Some(format!(
            "{} `{}` was left by an interrupted apply of this state",
            object.object, object.name
        )),
        unrecorded: Some(object.id.clone()),
        ..Change::new(instance, Action::Delete)
    }
}

/// Whose an object is, in a line of the refusal.
fn describe(object: &Found, project: &str, lineage: &str) -> String {
    let whose = match (
        object.labels.get(PROJECT).map(String::as_str),
        object.labels.get(LINEAGE).map(String::as_str),
    ) {
        (Some(theirs), _) if theirs != project => {
            format!("is labelled for project `{theirs}`")
        }
        (Some(_), Some(theirs)) if theirs != lineage => {
            format!("was made by another state of this project (lineage {theirs})")
        }
        (Some(_), Some(_)) => "was made by this state for another resource".to_owned(),
        (Some(_), None) => {
            "is labelled for this project but not by yoyoform's apply (no lineage)".to_owned()
        }
        (None, _) => "was not made by yoyoform".to_owned(),
    };
    if object.id == object.name {
        // A volume's name is its id.
        format!("{} `{}` {whose}", object.object, object.name)
    } else {
        let id = short(&object.id);
        format!("{} `{}` ({id}) {whose}", object.object, object.name)
    }
}

fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(object: &str, name: &str, labels: &[(&str, &str)]) -> Found {
        Found {
            object: object.to_owned(),
            id: format!("id-{name}"),
            name: name.to_owned(),
            labels: labels
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        }
    }

    fn create(instance: &str, name: &str) -> Change {
        let mut after = Attributes::default();
        after.text("name", name);
        Change {
            after: Some(after),
            ..Change::new(Instance::parse(instance).unwrap(), Action::Create)
        }
    }

    fn plan() -> Plan {
        Plan {
            changes: vec![create("network.net", "p-net")],
            ..Plan::default()
        }
    }

    #[test]
    fn what_this_state_made_is_adopted_or_removed_anything_else_refused() {
        let ours = [(PROJECT, "p"), (LINEAGE, "l1"), (ADDRESS, "network.net")];
        let mut adopted = plan();
        reconcile(
            &mut adopted,
            &State::new("t"),
            &[found("network", "p-net", &ours)],
            "p",
            "l1",
            Target::Docker,
        )
        .unwrap();
        assert_eq!(adopted.changes[0].unrecorded.as_deref(), Some("id-p-net"));

        let mut removed = plan();
        let left = [(PROJECT, "p"), (LINEAGE, "l1"), (ADDRESS, "network.old")];
        reconcile(
            &mut removed,
            &State::new("t"),
            &[found("network", "p-old", &left)],
            "p",
            "l1",
            Target::Docker,
        )
        .unwrap();
        let summary: Vec<String> = removed
            .changes
            .iter()
            .map(|change| format!("{} {}", change.symbol(), change.instance))
            .collect();
        assert_eq!(summary, ["- network.old", "+ network.net"]);

        let refused = [
            (
                found(
                    "network",
                    "p-net",
                    &[(PROJECT, "p"), (LINEAGE, "l2"), (ADDRESS, "network.net")],
                ),
                "network `p-net` (id-p-net) was made by another state of this project (lineage l2)",
            ),
            (
                found("network", "p-net", &[(PROJECT, "p")]),
                "network `p-net` (id-p-net) is labelled for this project but not by yoyoform's apply (no lineage)",
            ),
            (
                found("network", "p-net", &[]),
                "network `p-net` (id-p-net) was not made by yoyoform",
            ),
            (
                // Not where the plan makes anything, but another state's, of this project.
                found("volume", "p-data", &[(PROJECT, "p"), (LINEAGE, "l2")]),
                "volume `p-data` (id-p-data) was made by another state of this project (lineage l2)",
            ),
        ];
        for (object, expected) in refused {
            let error = reconcile(
                &mut plan(),
                &State::new("t"),
                &[object],
                "p",
                "l1",
                Target::Docker,
            )
            .unwrap_err();
            match error {
                Error::Conflicts(conflicts) => assert_eq!(conflicts, [expected]),
                other => panic!("{other}"),
            }
        }
        // Someone else's object under a name the plan does not want: none of our business.
        let mut fine = plan();
        reconcile(
            &mut fine,
            &State::new("t"),
            &[found("network", "bridge", &[])],
            "p",
            "l1",
            Target::Docker,
        )
        .unwrap();
        assert_eq!(fine.changes.len(), 1);
    }
}
