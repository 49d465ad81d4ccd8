//! Which cargo workspace a build context belongs to, found the way cargo finds it: the
//! nearest folder at or above the package that has a `Cargo.toml` with a `[workspace]`
//! table, or the package itself when none has. So `build = { context, binary }` works
//! wherever env.toml sits.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result, io};
use crate::source::{Entry, Source};

/// The root folder (canonical) of the workspace the package in `context` belongs to, as
/// `source` has them.
pub fn root(source: &dyn Source, context: &Path) -> Result<PathBuf> {
    let package = source
        .canonical(context)
        .map_err(io("resolving", context))?;
    let manifest = package.join("Cargo.toml");
    if source.entry(&manifest).is_none() {
        return Err(Error::Manifest {
            path: manifest,
            message: "a build with `binary` needs a cargo package in its context".to_string(),
        });
    }
    for folder in package.ancestors() {
        let candidate = folder.join("Cargo.toml");
        if !matches!(source.entry(&candidate), Some(Entry::File { .. })) {
            continue;
        }
        let bytes = source.read(&candidate).map_err(io("reading", &candidate))?;
        let manifest: toml::Table =
            String::from_utf8_lossy(&bytes)
                .parse()
                .map_err(|error: toml::de::Error| Error::Manifest {
                    path: candidate.clone(),
                    message: error.to_string(),
                })?;
        if manifest.contains_key("workspace") {
            return Ok(folder.to_path_buf());
        }
    }
    Ok(package)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Disk;
    use std::fs;

    #[test]
    fn the_nearest_workspace_above_the_package() {
        let dir = tempfile::tempdir().unwrap();
        let top = fs::canonicalize(dir.path()).unwrap();
        let write = |path: &str, text: &str| {
            let path = top.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write("Cargo.toml", "[workspace]\nmembers = [\"services/app\"]\n");
        write("services/app/Cargo.toml", "[package]\nname = \"app\"\n");
        write("alone/Cargo.toml", "[package]\nname = \"alone\"\n");
        write("inner/Cargo.toml", "[workspace]\n");
        write("inner/pkg/Cargo.toml", "[package]\nname = \"pkg\"\n");
        fs::create_dir_all(top.join("empty")).unwrap();
        assert_eq!(root(&Disk, &top.join("services/app")).unwrap(), top);
        // Found from any folder, relative paths included.
        let relative = top.join("services/app/../app");
        assert_eq!(root(&Disk, &relative).unwrap(), top);
        assert_eq!(
            root(&Disk, &top.join("inner/pkg")).unwrap(),
            top.join("inner")
        );
        // The top workspace does not list `alone`, but it is the nearest one: cargo would
        // say so too (and refuse to build it until it is a member or excluded).
        assert_eq!(root(&Disk, &top.join("alone")).unwrap(), top);
        let error = root(&Disk, &top.join("empty")).unwrap_err();
        assert!(error.to_string().contains("cargo package"), "{error}");
    }
}
