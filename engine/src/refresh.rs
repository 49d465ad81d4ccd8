//! Refresh: what the backend really has for each instance the state file recorded, asked
//! of each kind's driver. Reading only: refresh never starts, stops or removes anything,
//! whatever it finds.

use futures_util::stream::{self, StreamExt};
use state::State;

use crate::backend::Backend;
use crate::error::Error;
use crate::kind::Recorded;
use crate::plan::{Actual, Instance};

/// How many reads run at once.
const CONCURRENT_READS: usize = 16;

/// Reads every recorded instance of `project` from the backend.
pub async fn refresh(backend: &dyn Backend, project: &str, prior: &State) -> Result<Actual, Error> {
    let reads = prior.resources.values().map(|resource| async move {
        let instance = Instance::parse(&resource.address).ok_or_else(|| Error::UnknownKind {
            address: resource.address.clone(),
        })?;
        let driver = backend.driver(instance.resource.kind)?;
        let started = std::time::Instant::now();
        let actual = driver
            .read(&instance, project, &Recorded::from(resource))
            .await
            .map_err(|error| Error::At {
                instance: instance.clone(),
                error: Box::new(error),
            })?;
        tracing::debug!(
            %instance,
            gone = actual.is_none(),
            elapsed = ?started.elapsed(),
            "read from the backend"
        );
        Ok((resource.address.clone(), actual))
    });
    stream::iter(reads)
        .buffer_unordered(CONCURRENT_READS)
        .collect::<Vec<Result<_, Error>>>()
        .await
        .into_iter()
        .collect()
}
