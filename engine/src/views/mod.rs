//! Compose's runtime views of what the state records: [`ps`] (what runs, and how),
//! [`logs`] (their output, interleaved in time order) and [`exec`] (a command in one of
//! them). They read the state file without its lock, as `output` and `state list` do, and
//! ask the backend each record names what runs for it ([`Driver::processes`]); nothing
//! is changed.
//!
//! What the user names: an instance (`service.web[1]`), a resource with all its instances
//! (`service.web`), and on swarm, where an instance is one service, one of its tasks by
//! slot (`service.web#2`).
//!
//! [`Driver::processes`]: crate::kind::Driver::processes

pub mod exec;
pub mod logs;
pub mod ps;

use std::collections::BTreeSet;

use state::State;

use crate::backend::{Backend, Process};
use crate::config::model::Target;
use crate::error::Error;
use crate::kind::Recorded;
use crate::kinds::registry;
use crate::plan::Instance;
use crate::state_edit::{self, EditError};

/// What a view refuses.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// A name that is no recorded address.
    #[error(transparent)]
    Address(#[from] EditError),
    /// The backend's error (Docker unreachable among them).
    #[error(transparent)]
    Backend(#[from] Error),
    /// A name whose instances run nothing (a network, a secret).
    #[error("`{name}` runs no container (it is a {kind}); `yoyoform ps` lists what does")]
    NothingRuns {
        /// As written.
        name: String,
        /// Its kind.
        kind: String,
    },
    /// `ADDRESS#TASK` where the instance has no such task.
    #[error("`{name}` has no task `#{task}`; its tasks: {}", tasks.join(", "))]
    NoTask {
        /// The instance, as written.
        name: String,
        /// The task asked for.
        task: String,
        /// What it has, as `ps` names them.
        tasks: Vec<String>,
    },
}

/// What runs for what `names` name (every recorded instance when there are none), in
/// address order: replicas by index, tasks by slot. Each is named once, however often
/// it is asked for.
pub async fn processes(
    state: &State,
    backend: &dyn Backend,
    names: &[String],
) -> Result<Vec<Process>, ViewError> {
    // Each name: the records it matches, and the task it picks.
    let mut asked: Vec<(&str, Vec<String>, Option<&str>)> = Vec::new();
    for name in names {
        let (address, task) = match name.split_once('#') {
            Some((address, task)) => (address, Some(task)),
            None => (name.as_str(), None),
        };
        asked.push((name, state_edit::matching(state, address)?, task));
    }
    let wanted: BTreeSet<&String> = if names.is_empty() {
        state.resources.keys().collect()
    } else {
        asked.iter().flat_map(|(_, records, _)| records).collect()
    };
    let reads = wanted.iter().map(|address| read(state, backend, address));
    let found: Vec<(String, Vec<Process>)> = futures_util::future::try_join_all(reads).await?;
    let mut chosen: Vec<Process> = if names.is_empty() {
        found
            .iter()
            .flat_map(|(_, running)| running.clone())
            .collect()
    } else {
        let mut chosen = Vec::new();
        for (name, records, task) in &asked {
            let running: Vec<&Process> = found
                .iter()
                .filter(|(address, _)| records.contains(address))
                .flat_map(|(_, running)| running)
                .collect();
            if running.is_empty() {
                let kind = state.resources[&records[0]].kind.clone();
                return Err(ViewError::NothingRuns {
                    name: (*name).to_owned(),
                    kind,
                });
            }
            let picked: Vec<&Process> = match task {
                None => running,
                Some(task) => {
                    let picked: Vec<&Process> = running
                        .iter()
                        .copied()
                        .filter(|process| process.task.as_deref() == Some(*task))
                        .collect();
                    if picked.is_empty() {
                        return Err(ViewError::NoTask {
                            name: name.split('#').next().unwrap_or(name).to_owned(),
                            task: (*task).to_owned(),
                            tasks: running.iter().map(|process| process.name()).collect(),
                        });
                    }
                    picked
                }
            };
            chosen.extend(picked.into_iter().cloned());
        }
        chosen
    };
    chosen.sort_by_key(order);
    chosen.dedup_by_key(|process| process.name());
    Ok(chosen)
}

/// What the backend its record names runs for the recorded instance `address`.
async fn read(
    state: &State,
    backend: &dyn Backend,
    address: &String,
) -> Result<(String, Vec<Process>), Error> {
    let record = &state.resources[address];
    let unknown = || Error::UnknownKind {
        address: address.clone(),
    };
    let kind = registry().get(&record.kind).ok_or_else(unknown)?;
    let instance = Instance::parse(address).ok_or_else(unknown)?;
    if Target::of_record(record.backend.as_deref()).is_none() {
        return Err(Error::UnknownBackend {
            address: address.clone(),
            backend: record.backend.clone().unwrap_or_default(),
        });
    }
    let driver = backend.driver(kind.name())?;
    let running = driver.processes(&instance, &Recorded::from(record)).await?;
    Ok((address.clone(), running))
}

/// Address order: the resource, then the replica's index and the task's slot as numbers
/// (`[2]` before `[10]`).
fn order(process: &Process) -> (String, Option<u32>, Option<u64>, Option<String>) {
    let slot = process
        .task
        .as_deref()
        .and_then(|task| task.parse::<u64>().ok());
    (
        process.instance.resource.to_string(),
        process.instance.index,
        slot,
        process.task.clone(),
    )
}

/// How `ps` and messages say the state of a process: Docker's or swarm's word, with how
/// it ended: `exited (3)`.
pub fn state_text(process: &Process) -> String {
    match process.exit_code {
        Some(code) => format!("{} ({code})", process.state),
        None => process.state.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::memory::MemoryBackend;

    /// A state recording a network, a service with two replicas (the first removed behind
    /// yoyoform's back) and an unindexed one, all on the memory backend.
    fn recorded(backend: &MemoryBackend) -> State {
        let mut state = State::new("test");
        let mut record = |address: &str, kind: &str, id: Option<String>| {
            let name = address.replace(['.', '['], "-").replace(']', "");
            let record = serde_json::json!({
                "address": address, "kind": kind, "docker_ids": id.into_iter().collect::<Vec<_>>(),
                "attributes": { "name": name },
            });
            state
                .resources
                .insert(address.to_owned(), serde_json::from_value(record).unwrap());
        };
        record(
            "network.net",
            "network",
            Some(backend.put("network", "p-net", &[])),
        );
        for index in [10, 2] {
            let address = format!("service.web[{index}]");
            let id = backend.put("container", &format!("p-web-{index}"), &[]);
            record(&address, "service", Some(id));
        }
        record("service.web[0]", "service", Some("gone".to_owned()));
        record(
            "service.api",
            "service",
            Some(backend.put("container", "p-api", &[])),
        );
        state
    }

    fn names(found: &[Process]) -> Vec<String> {
        found
            .iter()
            .map(|process| {
                format!(
                    "{} {} {}",
                    process.name(),
                    process.container,
                    state_text(process)
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn what_runs_in_address_order_and_what_a_name_picks() {
        let backend = MemoryBackend::new();
        let state = recorded(&backend);
        let all = processes(&state, &backend, &[]).await.unwrap();
        assert_eq!(
            names(&all),
            [
                "service.api p-api running",
                "service.web[0] service-web-0 missing",
                "service.web[2] p-web-2 running",
                "service.web[10] p-web-10 running",
            ]
        );
        let asked = ["service.web[2]".to_owned(), "service.web".to_owned()];
        let some = processes(&state, &backend, &asked).await.unwrap();
        assert_eq!(some.len(), 3, "{:?}", names(&some));
        for (name, message) in [
            (
                "service.wbe",
                "the state has no instance `service.wbe`; did you mean `service.web`?",
            ),
            (
                "network.net",
                "`network.net` runs no container (it is a network); `yoyoform ps` lists what does",
            ),
            (
                "service.api#2",
                "`service.api` has no task `#2`; its tasks: service.api",
            ),
            (
                "web",
                "`web` is not an address: write `kind.name` or `kind.name[INDEX]`",
            ),
        ] {
            let error = processes(&state, &backend, &[name.to_owned()])
                .await
                .unwrap_err();
            assert_eq!(error.to_string(), message, "{name}");
        }
    }
}
