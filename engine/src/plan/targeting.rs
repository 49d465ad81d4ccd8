//! `--target` and `--replace`: addresses from the command line, each naming one instance
//! (`service.web[1]`) or a resource with all its instances (`service.web`), checked
//! against what env.toml declares and the state records; and the part of a plan a set of
//! targets covers, as Terraform's `-target` draws it.

use std::collections::BTreeSet;

use super::model::{Change, Instance, Plan};
use crate::config::diagnostic::did_you_mean;
use crate::config::model::Address;
use crate::error::Error;
use crate::graph::Graph;

/// The addresses `given` with `flag`, each matching at least one of `known`; an address
/// that matches none is an error with the nearest known one.
pub fn select(
    flag: &'static str,
    given: &[String],
    known: &BTreeSet<Instance>,
) -> Result<Vec<Instance>, Error> {
    given
        .iter()
        .map(|address| {
            let selector = Instance::parse(address);
            match selector {
                Some(selector) if known.iter().any(|instance| matches(&selector, instance)) => {
                    Ok(selector)
                }
                _ => {
                    let mut candidates: BTreeSet<String> =
                        known.iter().map(ToString::to_string).collect();
                    candidates.extend(known.iter().map(|instance| instance.resource.to_string()));
                    Err(Error::NoSuchAddress {
                        flag,
                        address: address.clone(),
                        suggestion: did_you_mean(address, candidates.iter().map(String::as_str)),
                    })
                }
            }
        })
        .collect()
}

/// Whether `selector` names `instance`: itself, or the resource of it.
pub fn matches(selector: &Instance, instance: &Instance) -> bool {
    selector.resource == instance.resource
        && (selector.index.is_none() || selector.index == instance.index)
}

/// Keeps the changes of `targets` and of everything they depend on (what a target needs
/// must be there for it), drops the rest; the plan remembers its targets.
pub fn restrict(plan: &mut Plan, targets: &[Instance], graph: &Graph) {
    let needed: BTreeSet<&Address> = targets
        .iter()
        .filter(|target| graph.contains(&target.resource))
        .flat_map(|target| graph.transitive_dependencies(&target.resource))
        .collect();
    plan.changes.retain(|change| {
        targets
            .iter()
            .any(|target| matches(target, &change.instance))
            || needed.contains(&change.instance.resource)
    });
    plan.targets = targets.iter().map(ToString::to_string).collect();
}

/// For a refresh-only plan: keeps what was found of the targets themselves (recording
/// what the backend has needs nothing else first).
pub fn restrict_found(plan: &mut Plan, targets: &[Instance]) {
    let targeted = |change: &Change| targets.iter().any(|t| matches(t, &change.instance));
    plan.changes.retain(targeted);
    plan.targets = targets.iter().map(ToString::to_string).collect();
}

/// For a destroy: keeps the deletions of `targets` and of everything that depends on them
/// (nothing may be left using what goes), drops the rest.
pub fn restrict_destroy(plan: &mut Plan, targets: &[Instance]) {
    let mut kept: Vec<Instance> = targets.to_vec();
    let mut changes: Vec<(Change, bool)> = std::mem::take(&mut plan.changes)
        .into_iter()
        .map(|change| (change, false))
        .collect();
    // A fixpoint: each pass keeps what uses something kept; at most one pass per change.
    loop {
        let mut grew = false;
        for (change, keep) in &mut changes {
            if *keep {
                continue;
            }
            let uses_kept = |kept: &Instance| {
                matches(kept, &change.instance)
                    || change
                        .dependencies
                        .iter()
                        .any(|dependency| matches(dependency, kept) || matches(kept, dependency))
            };
            if kept.iter().any(uses_kept) {
                *keep = true;
                kept.push(change.instance.clone());
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    plan.changes = changes
        .into_iter()
        .filter_map(|(change, keep)| keep.then_some(change))
        .collect();
    plan.targets = targets.iter().map(ToString::to_string).collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;

    fn instance(text: &str) -> Instance {
        Instance::parse(text).unwrap()
    }

    fn known() -> BTreeSet<Instance> {
        [
            "network.platform",
            "service.auth",
            "service.worker[0]",
            "service.worker[1]",
        ]
        .into_iter()
        .map(instance)
        .collect()
    }

    #[test]
    fn addresses_name_an_instance_or_a_whole_resource() {
        let given = ["service.worker".to_owned(), "service.worker[1]".to_owned()];
        let selected = select("--target", &given, &known()).unwrap();
        assert_eq!(
            selected,
            [instance("service.worker"), instance("service.worker[1]")]
        );
        assert!(matches(&selected[0], &instance("service.worker[0]")));
        assert!(!matches(&selected[1], &instance("service.worker[0]")));
    }

    #[test]
    fn an_address_that_matches_nothing_is_an_error_with_the_nearest() {
        let cases = [
            (
                "service.auht",
                "--target `service.auht` matches nothing env.toml declares or the state records; did you mean `service.auth`?",
            ),
            (
                "service.worker[7]",
                "--target `service.worker[7]` matches nothing env.toml declares or the state records; did you mean `service.worker[0]`?",
            ),
            (
                "services.auth",
                "--target `services.auth` matches nothing env.toml declares or the state records; did you mean `service.auth`?",
            ),
            (
                "volume.elsewhere",
                "--target `volume.elsewhere` matches nothing env.toml declares or the state records",
            ),
        ];
        for (given, expected) in cases {
            let error = select("--target", &[given.to_owned()], &known()).unwrap_err();
            assert_eq!(error.to_string(), expected, "{given}");
        }
    }

    fn deletion(address: &str, dependencies: &[&str]) -> Change {
        Change {
            dependencies: dependencies.iter().copied().map(instance).collect(),
            ..Change::new(instance(address), Action::Delete)
        }
    }

    #[test]
    fn a_targeted_destroy_takes_what_depends_on_the_target() {
        let mut plan = Plan {
            changes: vec![
                deletion("router.edge", &["service.auth"]),
                deletion("service.worker[0]", &["network.platform"]),
                deletion("service.auth", &["network.platform", "secret.key"]),
                deletion("secret.key", &[]),
                deletion("network.platform", &[]),
            ],
            ..Plan::default()
        };
        restrict_destroy(&mut plan, &[instance("secret.key")]);
        let kept: Vec<String> = plan
            .changes
            .iter()
            .map(|change| change.instance.to_string())
            .collect();
        assert_eq!(kept, ["router.edge", "service.auth", "secret.key"]);
        assert_eq!(plan.targets, ["secret.key"]);
    }
}
