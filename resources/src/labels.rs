//! The labels every Docker object yoyoform makes carries: how objects are found again
//! (by project, never by guessing names) and how drift in the declaration is noticed.

use std::collections::BTreeMap;

/// The project the object belongs to; `destroy` and the sweep find objects by it.
pub const PROJECT: &str = "yoyoform.project";
/// The resource address the object realises, e.g. `service.auth-api[0]`.
pub const ADDRESS: &str = "yoyoform.address";
/// The hash of the configuration the object was created from.
pub const CONFIG_HASH: &str = "yoyoform.config-hash";
/// The lineage of the state file whose apply made the object: which state owns it.
pub const LINEAGE: &str = "yoyoform.lineage";

/// Builds the label set of one object.
///
/// ```
/// let labels = resources::labels::Labels::new("yoyo")
///     .address("service.auth-api[0]")
///     .config_hash("abc")
///     .build();
/// assert_eq!(labels["yoyoform.project"], "yoyo");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    labels: BTreeMap<String, String>,
}

impl Labels {
    /// Starts with the project label, which every object has.
    pub fn new(project: &str) -> Labels {
        let mut labels = BTreeMap::new();
        labels.insert(PROJECT.to_string(), project.to_string());
        Labels { labels }
    }

    /// Adds the resource address.
    pub fn address(mut self, address: &str) -> Labels {
        self.labels.insert(ADDRESS.to_string(), address.to_string());
        self
    }

    /// Adds the lineage of the state that makes the object.
    pub fn lineage(mut self, lineage: &str) -> Labels {
        self.labels.insert(LINEAGE.to_string(), lineage.to_string());
        self
    }

    /// Adds the configuration hash.
    pub fn config_hash(mut self, hash: &str) -> Labels {
        self.labels
            .insert(CONFIG_HASH.to_string(), hash.to_string());
        self
    }

    /// The labels, ready for a spec.
    pub fn build(self) -> BTreeMap<String, String> {
        self.labels
    }
}

/// The Docker list filter `label=yoyoform.project=<project>`, as bollard wants it.
pub(crate) fn project_filter(project: &str) -> std::collections::HashMap<String, Vec<String>> {
    owner_filter(project, None)
}

/// The Docker list filter of the objects of a project, and of one state's lineage when
/// given (Docker requires every `label=` filter to hold).
pub(crate) fn owner_filter(
    project: &str,
    lineage: Option<&str>,
) -> std::collections::HashMap<String, Vec<String>> {
    let mut labels = vec![format!("{PROJECT}={project}")];
    labels.extend(lineage.map(|lineage| format!("{LINEAGE}={lineage}")));
    let mut filters = std::collections::HashMap::new();
    filters.insert("label".to_string(), labels);
    filters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_exactly_the_given_labels() {
        let cases: [(Labels, &[(&str, &str)]); 3] = [
            (Labels::new("p"), &[(PROJECT, "p")]),
            (
                Labels::new("p").address("network.platform"),
                &[(ADDRESS, "network.platform"), (PROJECT, "p")],
            ),
            (
                Labels::new("p").config_hash("h").address("redis.queue"),
                &[(ADDRESS, "redis.queue"), (CONFIG_HASH, "h"), (PROJECT, "p")],
            ),
        ];
        for (labels, expected) in cases {
            let expected: BTreeMap<String, String> = expected
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(labels.build(), expected);
        }
    }

    #[test]
    fn project_filter_matches_the_project_label() {
        let filter = project_filter("rtest-1");
        assert_eq!(
            filter["label"],
            vec!["yoyoform.project=rtest-1".to_string()]
        );
    }
}
