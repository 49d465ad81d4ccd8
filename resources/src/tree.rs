//! Listing the files of a folder in a stable order, for archives and hashes.

use std::path::{Path, PathBuf};

use crate::error::{Result, io};

/// Every file and symlink under `root` (symlinks are not followed), as (`/`-separated
/// path relative to `root`, full path), sorted by relative path. Top-level folders named
/// in `skip_top` are left out.
pub(crate) fn files_under(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    files_under_skipping(root, &[])
}

/// [`files_under`], leaving out the top-level entries named in `skip_top`.
pub(crate) fn files_under_skipping(
    root: &Path,
    skip_top: &[&str],
) -> Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    let mut pending = vec![(String::new(), root.to_path_buf())];
    while let Some((prefix, folder)) = pending.pop() {
        let entries = std::fs::read_dir(&folder).map_err(io("listing", &folder))?;
        for entry in entries {
            let entry = entry.map_err(io("listing", &folder))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if prefix.is_empty() && skip_top.contains(&name.as_str()) {
                continue;
            }
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let path = entry.path();
            let kind = entry.file_type().map_err(io("reading", &path))?;
            if kind.is_dir() {
                pending.push((relative, path));
            } else {
                found.push((relative, path));
            }
        }
    }
    found.sort();
    Ok(found)
}
