//! Refresh: what Docker really has for each instance the state file recorded. Reading
//! only: refresh never starts, stops or removes anything, whatever it finds.

use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt};
use state::State;

/// What Docker has for one recorded instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actual {
    /// Nothing: removed outside yoyoform.
    Missing,
    /// A container, as Docker describes it.
    Container {
        /// Running (or restarting) rather than stopped or exited.
        running: bool,
        /// The image reference it was created from.
        image: String,
        /// Its environment.
        env: BTreeMap<String, String>,
        /// The networks it is attached to, by name.
        networks: Vec<String>,
    },
    /// A network, or something with no Docker object (a secret).
    Present,
}

/// How many Docker inspections run at once.
const CONCURRENT_READS: usize = 16;

/// Reads every recorded instance from Docker, by id.
pub async fn refresh(
    docker: &resources::Docker,
    prior: &State,
) -> Result<BTreeMap<String, Actual>, resources::Error> {
    let reads = prior.resources.values().map(|resource| async move {
        let id = resource.docker_ids.first().cloned().unwrap_or_default();
        let actual = match resource.kind.as_str() {
            "secret" => Ok(Actual::Present),
            "network" => resources::network::inspect(docker, &id).await.map(|found| {
                if found.is_some() {
                    Actual::Present
                } else {
                    Actual::Missing
                }
            }),
            _ => resources::container::inspect(docker, &id)
                .await
                .map(|found| match found {
                    None => Actual::Missing,
                    Some(container) => Actual::Container {
                        running: container.running,
                        image: container.image,
                        env: container.env,
                        networks: container.networks.into_keys().collect(),
                    },
                }),
        };
        actual.map(|actual| (resource.address.clone(), actual))
    });
    stream::iter(reads)
        .buffer_unordered(CONCURRENT_READS)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}
