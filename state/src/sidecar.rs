//! Names of the files kept next to a state file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// `<path><suffix>`, e.g. `env.tfstate` → `env.tfstate.lock`. Appended rather than
/// `with_extension`, which would turn `env.tfstate` into `env.lock`.
pub(crate) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// The directory holding `path`, `.` for a bare file name.
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_suffixes_and_finds_parents() {
        let cases = [
            ("env.tfstate", ".lock", "env.tfstate.lock", "."),
            ("dir/env.tfstate", ".tmp", "dir/env.tfstate.tmp", "dir"),
            ("/var/state", ".backup", "/var/state.backup", "/var"),
        ];
        for (path, suffix, expected, parent) in cases {
            assert_eq!(sidecar(Path::new(path), suffix), Path::new(expected));
            assert_eq!(parent_dir(Path::new(path)), Path::new(parent));
        }
    }
}
