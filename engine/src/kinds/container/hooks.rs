//! What a container kind adds to the container drivers (its own image, a data volume,
//! running to completion), the same on one daemon and on swarm.

use std::collections::BTreeMap;
use std::path::Path as FsPath;

use resources::Docker;
use resources::labels::Labels;
use resources::source::Disk;

use super::build_tag;
use crate::attributes::Attributes;
use crate::backend::docker::DockerHost;
use crate::error::Error;
use crate::kind::{Progress, Recorded, Work};

/// What a container kind adds to the driver.
#[async_trait::async_trait]
pub trait Hooks: Send + Sync {
    /// Makes the image `tag` the container runs, which Docker does not have. By default:
    /// built from the planned `build`, or pulled.
    async fn make_image(
        &self,
        host: &DockerHost,
        work: &Work<'_>,
        planned: &Attributes,
        tag: &str,
    ) -> Result<(), Error> {
        build_or_pull(host, work, planned, tag).await
    }

    /// Runs before the container is made (a replacement's new one included).
    async fn before_create(
        &self,
        _docker: &Docker,
        _work: &Work<'_>,
        _planned: &Attributes,
    ) -> Result<(), Error> {
        Ok(())
    }

    /// Runs once the container is gone for good (not when it makes way for a new one).
    async fn after_delete(
        &self,
        _docker: &Docker,
        _work: &Work<'_>,
        _prior: &Recorded,
    ) -> Result<(), Error> {
        Ok(())
    }

    /// The names of the other objects that belong to the instance (Redis's data volume),
    /// recorded with its container so that they are known as its own.
    fn owned(&self, _planned: &Attributes) -> Vec<String> {
        Vec::new()
    }

    /// A container that runs to completion (a job): apply waits for it to exit 0, and once
    /// done it stays done.
    fn runs_to_completion(&self) -> bool {
        false
    }
}

/// Makes the image `tag` through `hooks` unless Docker has it, saying when it is built;
/// the replicas of a resource wait for one build. `None` when this command has seen it
/// ready already; otherwise the image's lock, held while the caller finishes with it (a
/// push), for it to mark ready.
pub async fn ensure_built(
    hooks: &dyn Hooks,
    host: &DockerHost,
    work: &Work<'_>,
    planned: &Attributes,
    tag: &str,
) -> Result<Option<tokio::sync::OwnedMutexGuard<bool>>, Error> {
    let ready = host.image_lock(tag).await;
    if *ready {
        return Ok(None);
    }
    let docker = host.docker().await?;
    if !resources::image::exists(docker, tag).await? {
        let began = std::time::Instant::now();
        hooks.make_image(host, work, planned, tag).await?;
        (work.progress)(Progress::Built {
            tag: tag.to_owned(),
            took: began.elapsed(),
        });
    }
    Ok(Some(ready))
}

/// The hooks of a container kind that adds nothing.
pub struct Plain;

impl Hooks for Plain {}

/// Builds the planned image from its `build`, or pulls it when it has none.
async fn build_or_pull(
    host: &DockerHost,
    work: &Work<'_>,
    planned: &Attributes,
    tag: &str,
) -> Result<(), Error> {
    let docker = host.docker().await?;
    let Some(build) = planned.get_map("build") else {
        resources::image::pull(docker, tag).await?;
        return Ok(());
    };
    let context = FsPath::new(build.get("context").map_or("", String::as_str));
    let binary = build.get("binary").map(String::as_str);
    (work.progress)(Progress::Step(format!("Building image {tag}...")));
    let folder = work.root.join(context);
    if let Some(binary) = binary {
        // Said, so that the minutes another image's build takes are not taken for this one's.
        let _cargo = match host.try_cargo_lock() {
            Some(held) => held,
            None => {
                (work.progress)(Progress::Step(
                    "Waiting for another image's cargo build to finish...".to_owned(),
                ));
                let held = host.cargo_lock().await;
                (work.progress)(Progress::Step(format!("Compiling {binary}...")));
                held
            }
        };
        let compiling = |compiling: &resources::binary::Compiling| {
            (work.progress)(Progress::Compiling(compiling.clone()))
        };
        resources::binary::build_static(binary, &folder, &compiling).await?;
    }
    let address = work.instance.resource.to_string();
    let labels = Labels::new(work.project).address(&address).build();
    host.build_image(tag, &folder, &labels).await?;
    // The tag names the sources as they were at plan time (apply checked that before
    // starting); an image built from anything else would carry a lie under that tag for
    // good. So they are hashed again once it is built.
    let again = build_tag(
        &Disk,
        work.project,
        &work.instance.resource,
        work.root,
        context,
        binary,
    )?;
    if again != tag {
        let _ = resources::image::remove(docker, tag).await;
        return Err(Error::SourcesMoved { address });
    }
    Ok(())
}

/// Whether labels say yoyoform made the object for `project`.
pub fn ours(labels: &BTreeMap<String, String>, project: &str) -> bool {
    labels.get(resources::labels::PROJECT).map(String::as_str) == Some(project)
}
