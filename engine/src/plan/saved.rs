//! Saved plans: `plan --out FILE` writes the plan that was reviewed, `apply FILE` carries
//! out exactly it, and refuses it once it no longer fits: env.toml, a variable or the
//! state file changed since it was saved, or something a change is made from (the sources
//! of an image, a file copied into a container) is no longer what the plan shows.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path as FsPath;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::Plan;
use crate::attributes::{Attributes, Value};
use crate::config::model::Config;

/// The format of saved plan files.
const FORMAT_VERSION: u32 = 3;

/// A plan as saved on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// This file's format.
    pub format_version: u32,
    /// The yoyoform that wrote it.
    pub yoyoform_version: String,
    /// Digest of what the plan was made from: env.toml's text, the project and the
    /// variables' values.
    pub config_digest: String,
    /// The project it was made for: `apply FILE` plans for it again.
    pub project: String,
    /// Every variable's value as the plan used it: `apply FILE` takes these, as
    /// Terraform's saved plans carry theirs, so nothing has to be given twice.
    pub variables: BTreeMap<String, String>,
    /// The plan.
    pub plan: Plan,
}

/// Why a saved plan cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// The file cannot be read or written.
    #[error("plan file `{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a saved plan of this version.
    #[error("plan file `{path}` is not a yoyoform plan this version can read: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The plan no longer fits; it must be made again.
    #[error("the saved plan is stale: {0}; run `yoyoform plan --out` again")]
    Stale(String),
}

impl SavedPlan {
    /// A plan with what it was made from.
    pub fn new(plan: Plan, config: &Config) -> Result<Self, SavedPlanError> {
        Ok(SavedPlan {
            format_version: FORMAT_VERSION,
            yoyoform_version: env!("CARGO_PKG_VERSION").to_owned(),
            config_digest: config_digest(config)?,
            project: config.project.clone(),
            variables: config
                .variables
                .iter()
                .map(|(name, variable)| (name.clone(), variable.value.to_string()))
                .collect(),
            plan,
        })
    }

    /// Writes the file, readable by its owner only: it may hold secrets (a plan carries
    /// the values apply will use).
    pub fn save(&self, path: &FsPath) -> Result<(), SavedPlanError> {
        let io = |source| SavedPlanError::Io {
            path: path.display().to_string(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).expect("plans serialise");
        let temporary = path.with_extension("tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(io)?;
        file.write_all(&json).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)
    }

    /// Reads a saved plan.
    pub fn load(path: &FsPath) -> Result<Self, SavedPlanError> {
        let text = std::fs::read(path).map_err(|source| SavedPlanError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let saved: SavedPlan =
            serde_json::from_slice(&text).map_err(|error| SavedPlanError::Unreadable {
                path: path.display().to_string(),
                reason: error.to_string(),
            })?;
        if saved.format_version != FORMAT_VERSION {
            return Err(SavedPlanError::Unreadable {
                path: path.display().to_string(),
                reason: format!("format version {}", saved.format_version),
            });
        }
        Ok(saved)
    }

    /// Checks the plan still fits env.toml, its variables and the state file.
    pub fn check(&self, config: &Config, lineage: &str, serial: u64) -> Result<(), SavedPlanError> {
        if self.config_digest != config_digest(config)? {
            return Err(SavedPlanError::Stale(
                "env.toml, a variable or a file it copies changed since it was saved".into(),
            ));
        }
        // A plan made before the state file existed (serial 0) has no lineage to compare:
        // the file gets one when first written.
        if self.plan.serial != 0 && self.plan.lineage != lineage {
            return Err(SavedPlanError::Stale(format!(
                "it was made for another state file (lineage {}, this one is {lineage})",
                self.plan.lineage
            )));
        }
        if self.plan.serial != serial {
            return Err(SavedPlanError::Stale(format!(
                "the state file changed since it was saved (serial {} then, {serial} now)",
                self.plan.serial
            )));
        }
        Ok(())
    }

    /// Checks that what every change is made from is still what the plan shows: `fresh` is
    /// the plan made now from the same env.toml and state. A known value the saved plan
    /// promised that would now be different (an image tag, because its sources changed; a
    /// file's content) makes the plan stale.
    pub fn check_inputs(&self, fresh: &Plan) -> Result<(), SavedPlanError> {
        for saved in &self.plan.changes {
            let Some(promised) = &saved.after else {
                continue;
            };
            let now = fresh
                .changes
                .iter()
                .find(|change| change.instance == saved.instance)
                .and_then(|change| change.after.as_ref());
            let Some(now) = now else { continue };
            if let Some(path) = first_difference(promised, now) {
                return Err(SavedPlanError::Stale(format!(
                    "`{path}` of {} is not what it was when it was saved (a file or source it is made from changed)",
                    saved.instance
                )));
            }
        }
        Ok(())
    }
}

/// The first known value of `promised` that `now` has otherwise.
fn first_difference(promised: &Attributes, now: &Attributes) -> Option<String> {
    for (name, value) in &promised.values {
        let path = crate::attributes::Path::attribute(name);
        match (value, now.values.get(name)) {
            (Value::Map(then), Some(Value::Map(current))) => {
                for (key, then) in then {
                    let path = crate::attributes::Path::key(name, key);
                    if !promised.is_unknown(&path) && current.get(key) != Some(then) {
                        return Some(path.to_string());
                    }
                }
            }
            (then, current) => {
                if !promised.is_unknown(&path) && current != Some(then) {
                    return Some(path.to_string());
                }
            }
        }
    }
    None
}

/// Digest of env.toml's text, the project and the variables' values.
fn config_digest(config: &Config) -> Result<String, SavedPlanError> {
    let text = std::fs::read(&config.path).map_err(|source| SavedPlanError::Io {
        path: config.path.display().to_string(),
        source,
    })?;
    let mut hasher = Sha256::new();
    hasher.update(&text);
    hasher.update(b"\0project=");
    hasher.update(config.project.as_bytes());
    for (name, variable) in &config.variables {
        hasher.update(format!("\0var.{name}={}", variable.value).as_bytes());
    }
    Ok(format!("{:x}", hasher.finalize()))
}
