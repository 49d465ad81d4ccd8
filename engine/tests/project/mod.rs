//! A test's Docker project: what carries its `yoyoform.project` label, and the guard that
//! removes all of it when the test ends, passed or failed.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::collections::HashMap;

use bollard::query_parameters::{
    ListContainersOptions, ListImagesOptions, ListNetworksOptions, ListServicesOptions,
    ListVolumesOptions,
};
use resources::swarm::secret::Kind as Store;

/// A project name no other test or person is using: `PREFIX-<pid>-<nanos>`, which follows
/// the project naming rule `[a-z][a-z0-9-]*`.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Describes every container, network, volume and image labelled with `project` (and on
/// a swarm manager every service, secret and config; empty when there is none), asking the
/// Docker API directly rather than yoyoform.
pub fn labelled(project: &str) -> Vec<String> {
    runtime().block_on(async {
        let docker = resources::Docker::connect().await.expect("Docker");
        let client = docker.client();
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![format!("{}={project}", resources::labels::PROJECT)],
        )]);
        let mut found = Vec::new();
        let containers = client
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters.clone()),
                ..Default::default()
            }))
            .await
            .expect("listing containers");
        found.extend(
            containers
                .into_iter()
                .map(|container| format!("container {:?}", container.names.unwrap_or_default())),
        );
        let networks = client
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filters.clone()),
            }))
            .await
            .expect("listing networks");
        found.extend(
            networks
                .into_iter()
                .map(|network| format!("network {:?}", network.name.unwrap_or_default())),
        );
        let volumes = client
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filters.clone()),
            }))
            .await
            .expect("listing volumes");
        found.extend(
            volumes
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|volume| format!("volume {:?}", volume.name)),
        );
        let images = client
            .list_images(Some(ListImagesOptions {
                all: true,
                filters: Some(filters.clone()),
                ..Default::default()
            }))
            .await
            .expect("listing images");
        found.extend(
            images
                .into_iter()
                .map(|image| format!("image {} {:?}", image.id, image.repo_tags)),
        );
        // On a swarm manager: services, secrets and configs.
        let manager = resources::swarm::info(&docker)
            .await
            .expect("the daemon's swarm")
            .manager;
        if manager {
            let services = client
                .list_services(Some(ListServicesOptions {
                    filters: Some(filters.clone()),
                    ..Default::default()
                }))
                .await
                .expect("listing services");
            found.extend(services.into_iter().map(|service| {
                let name = service.spec.and_then(|spec| spec.name);
                format!("service {}", name.unwrap_or_default())
            }));
            for kind in [Store::Secret, Store::Config] {
                let objects = resources::swarm::secret::list(&docker, kind, project)
                    .await
                    .expect("listing secrets and configs");
                found.extend(
                    objects
                        .into_iter()
                        .map(|object| format!("{} {}", kind.as_str(), object.name)),
                );
            }
        }
        found
    })
}

/// Removes every container, network, volume and image labelled with the project when dropped,
/// so a failing test leaves nothing behind.
pub struct Sweep(pub String);

impl Drop for Sweep {
    fn drop(&mut self) {
        let swept = runtime().block_on(async {
            let docker = resources::Docker::connect().await?;
            // A lock a killed command of the test left on the daemon goes too.
            let lock = engine::backend::docker::lock_name(&self.0);
            resources::volume::remove(&docker, &lock).await?;
            resources::sweep::remove_project(&docker, &self.0, None, false).await
        });
        match swept {
            Ok(removed) if removed == resources::sweep::Removed::default() => {}
            Ok(removed) => eprintln!("swept project `{}`: {removed:?}", self.0),
            Err(error) => eprintln!("cleaning up project `{}` failed: {error}", self.0),
        }
    }
}

/// A small runtime of its own, so that the blocking test code and `Drop` can use the
/// async Docker client.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
