//! Crash-safe replacement of the state file.
//!
//! Terraform's local backend truncates the state file and writes it in place, so a crash
//! mid-write leaves a half file and a lost state. Here the new content goes to a temporary
//! file that is fsynced and then renamed over the old one: at every instant the path holds
//! either the complete old or the complete new state.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::StateError;
use crate::sidecar::{parent_dir, sidecar};

/// The state holds secrets: only its owner may read it, and so its backup and temporary file.
const PRIVATE: u32 = 0o600;

/// Replaces the file at `path` with `contents`, keeping the previous content as
/// `<path>.backup`.
pub(crate) fn replace(path: &Path, contents: &[u8]) -> Result<(), StateError> {
    let tmp = sidecar(path, ".tmp");
    let failed = |step: String| {
        move |source: io::Error| StateError::Write {
            path: path.to_owned(),
            step,
            source,
        }
    };

    write_private(&tmp, contents).map_err(|source| {
        // Best effort: a left-over temporary file is harmless (never read, replaced by the
        // next write), only untidy.
        let _ = fs::remove_file(&tmp);
        failed(format!("write `{}`", tmp.display()))(source)
    })?;

    let backup = sidecar(path, ".backup");
    keep_backup(path, &backup).map_err(|source| {
        let _ = fs::remove_file(&tmp);
        failed(format!("keep the previous state as `{}`", backup.display()))(source)
    })?;

    fs::rename(&tmp, path).map_err(|source| {
        let _ = fs::remove_file(&tmp);
        failed(format!("rename `{}` over it", tmp.display()))(source)
    })?;

    // The rename lives in the directory: until the directory is on disk, a power cut can
    // bring back the old name or neither.
    let dir = parent_dir(path);
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(failed(format!("sync directory `{}`", dir.display())))
}

/// Writes `contents` to a new file at `path`, mode 0600, and flushes it to disk.
fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    // A temporary file left by a crashed write may carry any mode; `mode` only applies to
    // files we create, so start from a new one.
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE)
        .open(path)?;
    // The umask may strip bits from `mode` but never adds any; set it anyway in case the
    // umask removed the owner's own.
    file.set_permissions(Permissions::from_mode(PRIVATE))?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes `backup` hold what `path` holds now; nothing to keep if `path` does not exist yet.
fn keep_backup(path: &Path, backup: &Path) -> io::Result<()> {
    if !path.try_exists()? {
        return Ok(());
    }
    match fs::remove_file(backup) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    // A hard link costs no copy; the rename that follows gives `path` a new inode and
    // leaves the old one to the backup. Some file systems have no hard links: copy there.
    if fs::hard_link(path, backup).is_err() {
        fs::copy(path, backup)?;
    }
    // A state file created by hand may be world-readable; its backup must not be.
    fs::set_permissions(backup, Permissions::from_mode(PRIVATE))
}
