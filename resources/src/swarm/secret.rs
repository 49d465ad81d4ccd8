//! Swarm secrets and configs: small files swarm stores and mounts into the task containers
//! that reference them (see [`crate::swarm::service::FileReference`]). The two are the same
//! shape (a name, labels, data) and differ in how swarm keeps them (a secret encrypted, on a
//! tmpfs in the container, never read back; a config in the clear), so one [`Kind`] picks
//! which and every function serves both.
//!
//! Neither can be changed once made, so yoyoform makes them content-addressed: the name
//! carries a digest of the data, and [`ensure`] takes an existing object of the name as the
//! same data. A change of content is a new object under a new name, and the service is
//! updated to it; the old one is removed once no service uses it.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{ConfigSpec, SecretSpec};
use bollard::query_parameters::{ListConfigsOptions, ListSecretsOptions};

use crate::docker::Docker;
use crate::error::{Error, Result, docker as docker_error, is_not_found};
use crate::labels::project_filter;

/// Which of the two stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A secret: encrypted in the swarm, mounted on a tmpfs (by default under
    /// `/run/secrets/`).
    Secret,
    /// A config: stored in the clear, mounted as a file (by default at `/<name>`).
    Config,
}

impl Kind {
    /// `secret` or `config`, as errors and the inventory name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Secret => "secret",
            Kind::Config => "config",
        }
    }
}

/// A secret or config as swarm has it; its data is not read back (a secret's cannot be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectActual {
    /// Secret or config.
    pub kind: Kind,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// Creates the object `name` with `data` and `labels` and returns its id; if one of that
/// name exists, returns its id and leaves it as it is (names carry a digest of the data:
/// same name, same data). Docker answers a create of a taken name with 409.
pub async fn ensure(
    docker: &Docker,
    kind: Kind,
    name: &str,
    data: &[u8],
    labels: &BTreeMap<String, String>,
) -> Result<String> {
    let data = base64(data);
    // A second try only when the object of the name went between our create and our look.
    let mut tries = 2;
    loop {
        tries -= 1;
        match create(docker, kind, name, &data, labels).await {
            Ok(id) => return Ok(id),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) if tries > 0 => {
                if let Some(found) = inspect(docker, kind, name).await? {
                    return Ok(found.id);
                }
            }
            Err(error) => return Err(docker_error("creating", kind.as_str(), name)(error)),
        }
    }
}

/// Creates an object from base64 `data`; its id.
async fn create(
    docker: &Docker,
    kind: Kind,
    name: &str,
    data: &str,
    labels: &BTreeMap<String, String>,
) -> Result<String, bollard::errors::Error> {
    let labels: HashMap<String, String> = labels.clone().into_iter().collect();
    let client = docker.client();
    let response = match kind {
        Kind::Secret => {
            let spec = SecretSpec {
                name: Some(name.to_string()),
                labels: Some(labels),
                data: Some(data.to_string()),
                ..Default::default()
            };
            client.create_secret(spec).await?
        }
        Kind::Config => {
            let spec = ConfigSpec {
                name: Some(name.to_string()),
                labels: Some(labels),
                data: Some(data.to_string()),
                ..Default::default()
            };
            client.create_config(spec).await?
        }
    };
    Ok(response.id)
}

/// Reads an object by id or name; `None` when there is none.
pub async fn inspect(docker: &Docker, kind: Kind, id: &str) -> Result<Option<ObjectActual>> {
    let client = docker.client();
    let found = match kind {
        Kind::Secret => client.inspect_secret(id).await.map(|secret| {
            let spec = secret.spec.unwrap_or_default();
            (secret.id, spec.name, spec.labels)
        }),
        Kind::Config => client.inspect_config(id).await.map(|config| {
            let spec = config.spec.unwrap_or_default();
            (config.id, spec.name, spec.labels)
        }),
    };
    match found {
        Ok((id, name, labels)) => Ok(Some(ObjectActual {
            kind,
            id: id.unwrap_or_default(),
            name: name.unwrap_or_default(),
            labels: labels.unwrap_or_default().into_iter().collect(),
        })),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(docker_error("inspecting", kind.as_str(), id)(error)),
    }
}

/// Removes an object by id or name and says whether it is gone: `Ok(false)` when swarm
/// refuses because a service still uses it (Docker 20.10 answers 400, "... is in use by the
/// following service: ..."). One already gone counts as removed.
pub async fn remove(docker: &Docker, kind: Kind, id: &str) -> Result<bool> {
    let client = docker.client();
    let removed = match kind {
        Kind::Secret => client.delete_secret(id).await,
        Kind::Config => client.delete_config(id).await,
    };
    match removed {
        Ok(()) => Ok(true),
        Err(error) if is_not_found(&error) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 400,
            message,
        }) if message.contains("is in use by") => Ok(false),
        Err(error) => Err(docker_error("removing", kind.as_str(), id)(error)),
    }
}

/// The objects of a kind carrying `yoyoform.project=<project>`.
pub async fn list(docker: &Docker, kind: Kind, project: &str) -> Result<Vec<ObjectActual>> {
    list_filtered(docker, kind, Some(project_filter(project)))
        .await
        .map_err(|source| Error::List {
            kind: kind.as_str(),
            project: project.to_string(),
            source,
        })
}

/// The objects of a kind matching `filters` (all of them without).
pub(crate) async fn list_filtered(
    docker: &Docker,
    kind: Kind,
    filters: Option<HashMap<String, Vec<String>>>,
) -> Result<Vec<ObjectActual>, bollard::errors::Error> {
    let client = docker.client();
    let found: Vec<_> = match kind {
        Kind::Secret => client
            .list_secrets(Some(ListSecretsOptions { filters }))
            .await?
            .into_iter()
            .map(|secret| (secret.id, secret.spec.unwrap_or_default()))
            .map(|(id, spec)| (id, spec.name, spec.labels))
            .collect(),
        Kind::Config => client
            .list_configs(Some(ListConfigsOptions { filters }))
            .await?
            .into_iter()
            .map(|config| (config.id, config.spec.unwrap_or_default()))
            .map(|(id, spec)| (id, spec.name, spec.labels))
            .collect(),
    };
    Ok(found
        .into_iter()
        .filter_map(|(id, name, labels)| {
            Some(ObjectActual {
                kind,
                id: id?,
                name: name.unwrap_or_default(),
                labels: labels.unwrap_or_default().into_iter().collect(),
            })
        })
        .collect())
}

/// Standard base64 (RFC 4648, with padding), as the API wants the data. Written out here
/// rather than a dependency: it is the one use, and a dozen lines.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let bytes = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let group = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                text.push(ALPHABET[(group >> (18 - 6 * i) & 0x3f) as usize] as char);
            } else {
                text.push('=');
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (data, encoded) in cases {
            assert_eq!(base64(data.as_bytes()), encoded, "{data:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }
}
