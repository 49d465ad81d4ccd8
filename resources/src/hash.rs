//! Hashes of what goes into an image or a container, computed without Docker: `plan` calls
//! these to know whether an image must be rebuilt or a container replaced.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result, io};
use crate::source::{Entry, Source};

/// What went into the hash of a build: each input by name with a digest of its own (so a
/// review can say which changed), and the hash of them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The sha256 (hex) of every input, as [`build_inputs`] describes.
    pub hash: String,
    /// Each input's name and the sha256 (hex) of its content, in hashing order: the
    /// context's files as `context/<relative path>`, a path dependency's as
    /// `dep/<folder>/<relative path>`, and the used parts of the workspace's manifest and
    /// lock file.
    pub entries: Vec<(String, String)>,
    /// The locked packages the binary uses, one line each (`name version source checksum`).
    pub packages: Vec<String>,
}

/// The name of the entry holding the used parts of the workspace's `Cargo.toml`.
pub const MANIFEST_ENTRY: &str = "root/Cargo.toml (used parts)";
/// The name of the entry holding the locked packages the binary uses.
pub const LOCK_ENTRY: &str = "root/Cargo.lock (used packages)";

/// The hash being fed, with each entry's own digest.
struct Feed {
    hasher: Sha256,
    entries: Vec<(String, String)>,
}

impl Feed {
    /// Feeds one named entry: its name, its length, its bytes; so no two different
    /// sequences of entries feed the same bytes.
    fn entry(&mut self, name: &str, content: &[u8]) {
        self.hasher.update(name.as_bytes());
        self.hasher.update([0]);
        self.hasher.update((content.len() as u64).to_le_bytes());
        self.hasher.update(content);
        self.entries
            .push((name.to_owned(), hex(&Sha256::digest(content))));
    }
}

/// The sha256 (hex) of the inputs of an image build.
///
/// Hashed, in this order, each as its name and its content:
/// 1. every file under `context`, recursively, named `context/<relative path>`, except a
///    top-level `target/` folder and, when `binary` is set, the file `<context>/<binary>`
///    (the build step writes it: it is an output, not an input);
/// 2. when `binary` is set: the files of the package's path dependencies, named
///    `dep/<folder relative to root>/<relative path>`, in folder order. Path dependencies
///    are the `[dependencies]` and `[build-dependencies]` entries (target-specific ones
///    included) of the context's `Cargo.toml` that have a `path`, or `workspace = true`
///    with a `path` in `root`'s `[workspace.dependencies]`; then theirs, recursively;
/// 3. when `binary` is set: what of the `Cargo.toml` and `Cargo.lock` of the package's
///    [workspace](crate::workspace) goes into this binary: the `[profile]` and `[workspace.package]` tables, the
///    `[workspace.dependencies]` entries these packages use, and the locked packages
///    they reach (name, version, source, checksum). So a dependency added to another crate,
///    or a test-only one, does not make every image new.
///
/// Symlinks are hashed as their target, not followed. Names keep the hash independent of
/// where the checkout lives.
pub fn build_inputs_hash(
    source: &dyn Source,
    context: &Path,
    binary: Option<&str>,
) -> Result<String> {
    Ok(build_inputs(source, context, binary)?.hash)
}

/// The inputs of an image build, read from `source`, one by one and hashed together as
/// [`build_inputs_hash`] describes.
pub fn build_inputs(source: &dyn Source, context: &Path, binary: Option<&str>) -> Result<Inputs> {
    let mut feed = Feed {
        hasher: Sha256::new(),
        entries: Vec::new(),
    };
    let skip: Vec<&str> = ["target"].into_iter().chain(binary).collect();
    hash_folder(&mut feed, source, "context", context, &skip)?;
    let mut packages = Vec::new();
    if binary.is_some() {
        let root = &crate::workspace::root(source, context)?;
        let dependencies = path_dependencies(source, root, context)?;
        for folder in &dependencies {
            let name = match folder.strip_prefix(canonical(source, root)?) {
                Ok(relative) => relative.to_string_lossy().into_owned(),
                Err(_) => folder.to_string_lossy().into_owned(),
            };
            hash_folder(
                &mut feed,
                source,
                &format!("dep/{name}"),
                folder,
                &["target"],
            )?;
        }
        let members: Vec<PathBuf> = std::iter::once(canonical(source, context)?)
            .chain(dependencies)
            .collect();
        let (manifest, lock) = workspace_inputs(source, root, &members)?;
        feed.entry(MANIFEST_ENTRY, manifest.as_bytes());
        feed.entry(LOCK_ENTRY, lock.as_bytes());
        packages = lock.lines().map(str::to_owned).collect();
    }
    Ok(Inputs {
        hash: hex(&feed.hasher.finalize()),
        entries: feed.entries,
        packages,
    })
}

/// The parts of the workspace manifest and lock file that a build of `members` (the
/// package's folder and its path dependencies' folders) reads, as canonical text.
fn workspace_inputs(
    source: &dyn Source,
    root: &Path,
    members: &[PathBuf],
) -> Result<(String, String)> {
    let root_manifest = read_manifest(source, &root.join("Cargo.toml"))?;
    let workspace = root_manifest
        .get("workspace")
        .and_then(toml::Value::as_table);
    let workspace_dependencies = workspace
        .and_then(|workspace| workspace.get("dependencies"))
        .and_then(toml::Value::as_table);

    // Names of the dependencies each member declares, as the lock file knows them.
    let mut used_workspace_entries = toml::Table::new();
    let mut wanted: Vec<String> = Vec::new();
    for member in members {
        let manifest = read_manifest(source, &member.join("Cargo.toml"))?;
        for (name, entry) in dependency_entries(&manifest) {
            let mut resolved = entry.clone();
            if entry.get("workspace").and_then(toml::Value::as_bool) == Some(true)
                && let Some(shared) = workspace_dependencies.and_then(|deps| deps.get(name))
            {
                used_workspace_entries.insert(name.clone(), shared.clone());
                resolved = shared.clone();
            }
            if resolved.get("path").is_some() {
                // A member: its own dependencies are read from its manifest.
                continue;
            }
            let package = resolved
                .get("package")
                .and_then(toml::Value::as_str)
                .unwrap_or(name);
            wanted.push(package.to_owned());
        }
    }
    let mut manifest = toml::Table::new();
    for key in ["profile", "patch", "replace"] {
        if let Some(value) = root_manifest.get(key) {
            manifest.insert(key.to_owned(), value.clone());
        }
    }
    if let Some(package) = workspace.and_then(|workspace| workspace.get("package")) {
        manifest.insert("workspace.package".to_owned(), package.clone());
    }
    manifest.insert(
        "workspace.dependencies".to_owned(),
        toml::Value::Table(used_workspace_entries),
    );

    let lock_path = root.join("Cargo.lock");
    let lock = if source.entry(&lock_path).is_some() {
        read_manifest(source, &lock_path)?
    } else {
        toml::Table::new()
    };
    Ok((manifest.to_string(), locked_closure(&lock, wanted)))
}

/// The locked packages reachable from `wanted` (package names), one line each:
/// `name version source checksum`, sorted.
fn locked_closure(lock: &toml::Table, wanted: Vec<String>) -> String {
    let packages: Vec<&toml::Table> = lock
        .get("package")
        .and_then(toml::Value::as_array)
        .map(|packages| packages.iter().filter_map(toml::Value::as_table).collect())
        .unwrap_or_default();
    let field = |package: &toml::Table, key: &str| {
        package
            .get(key)
            .and_then(toml::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    // A lock entry names a dependency as `name`, `name version` or `name version (source)`.
    let matching = |spec: &str| -> Vec<usize> {
        let mut words = spec.split_whitespace();
        let name = words.next().unwrap_or_default();
        let version = words.next();
        (0..packages.len())
            .filter(|&index| {
                field(packages[index], "name") == name
                    && version.is_none_or(|version| field(packages[index], "version") == version)
            })
            .collect()
    };
    let mut seen = BTreeSet::new();
    let mut pending: Vec<String> = wanted;
    while let Some(spec) = pending.pop() {
        for index in matching(&spec) {
            if !seen.insert(index) {
                continue;
            }
            let package = packages[index];
            if let Some(dependencies) = package.get("dependencies").and_then(toml::Value::as_array)
            {
                pending.extend(
                    dependencies
                        .iter()
                        .filter_map(toml::Value::as_str)
                        .map(str::to_owned),
                );
            }
        }
    }
    let mut lines: Vec<String> = seen
        .into_iter()
        .map(|index| {
            let package = packages[index];
            ["name", "version", "source", "checksum"]
                .map(|key| field(package, key))
                .join(" ")
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

fn hash_folder(
    feed: &mut Feed,
    source: &dyn Source,
    prefix: &str,
    folder: &Path,
    skip: &[&str],
) -> Result<()> {
    let files = source
        .files_under(folder, skip)
        .map_err(io("listing", folder))?;
    for (relative, path) in files {
        hash_file(feed, source, &format!("{prefix}/{relative}"), &path)?;
    }
    Ok(())
}

fn hash_file(feed: &mut Feed, source: &dyn Source, name: &str, path: &Path) -> Result<()> {
    match source.entry(path) {
        Some(Entry::Symlink(target)) => {
            let target = target.to_string_lossy();
            feed.entry(&format!("{name} -> symlink"), target.as_bytes());
        }
        _ => {
            let content = source.read(path).map_err(io("reading", path))?;
            feed.entry(name, &content);
        }
    }
    Ok(())
}

fn canonical(source: &dyn Source, path: &Path) -> Result<PathBuf> {
    source.canonical(path).map_err(io("resolving", path))
}

/// The folders of the package's path dependencies, transitively, canonical and sorted.
fn path_dependencies(
    source: &dyn Source,
    root: &Path,
    context: &Path,
) -> Result<BTreeSet<PathBuf>> {
    let root_manifest_path = root.join("Cargo.toml");
    let root_manifest = read_manifest(source, &root_manifest_path)?;
    let workspace_dependencies = root_manifest
        .get("workspace")
        .and_then(|workspace| workspace.get("dependencies"))
        .and_then(toml::Value::as_table);
    let mut found = BTreeSet::new();
    let mut pending = vec![canonical(source, context)?];
    let own = pending[0].clone();
    while let Some(package) = pending.pop() {
        let manifest_path = package.join("Cargo.toml");
        let manifest = read_manifest(source, &manifest_path)?;
        for (name, dependency) in dependency_entries(&manifest) {
            let folder = if let Some(path) = dependency.get("path").and_then(toml::Value::as_str) {
                package.join(path)
            } else if dependency.get("workspace").and_then(toml::Value::as_bool) == Some(true) {
                let entry = workspace_dependencies.and_then(|deps| deps.get(name));
                match entry
                    .and_then(|e| e.get("path"))
                    .and_then(toml::Value::as_str)
                {
                    Some(path) => root.join(path),
                    None => continue,
                }
            } else {
                continue;
            };
            let folder = source.canonical(&folder).map_err(|error| Error::Manifest {
                path: manifest_path.clone(),
                message: format!(
                    "path dependency `{name}` at `{}`: {error}",
                    folder.display()
                ),
            })?;
            if folder != own && found.insert(folder.clone()) {
                pending.push(folder);
            }
        }
    }
    Ok(found)
}

fn read_manifest(source: &dyn Source, path: &Path) -> Result<toml::Table> {
    let bytes = source.read(path).map_err(io("reading", path))?;
    String::from_utf8_lossy(&bytes)
        .parse::<toml::Table>()
        .map_err(|error| Error::Manifest {
            path: path.to_path_buf(),
            message: error.to_string(),
        })
}

/// The (name, entry) pairs of the dependency tables that go into a release binary.
fn dependency_entries(manifest: &toml::Table) -> Vec<(&String, &toml::Value)> {
    let tables = ["dependencies", "build-dependencies"];
    let mut sections: Vec<&toml::Table> = tables
        .iter()
        .filter_map(|table| manifest.get(*table).and_then(toml::Value::as_table))
        .collect();
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        for target in targets.values() {
            sections.extend(
                tables
                    .iter()
                    .filter_map(|table| target.get(*table).and_then(toml::Value::as_table)),
            );
        }
    }
    sections
        .into_iter()
        .flat_map(|section| section.iter())
        .collect()
}

/// The sha256 (hex) of a JSON value in canonical form (object keys sorted, no spaces), for
/// the `yoyoform.config-hash` label: equal values give equal hashes whatever the order
/// their maps were built in.
pub fn config_hash(value: &serde_json::Value) -> String {
    let mut text = String::new();
    canonical_json(value, &mut text);
    hex(&Sha256::digest(text.as_bytes()))
}

fn canonical_json(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                canonical_json(value, out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Disk;
    use std::fs;

    /// The lock file of [`workspace`]: `serde` (used by `app`) needs `serde_derive`;
    /// `rand` is used by `other` only.
    const LOCK: &str = r#"version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["lib", "serde", "shared"]

[[package]]
name = "rand"
version = "0.9.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aaaa"

[[package]]
name = "serde"
version = "1.0.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bbbb"
dependencies = ["serde_derive"]

[[package]]
name = "serde_derive"
version = "1.0.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "cccc"
"#;

    /// A workspace: `app` (the service, with binary `app`) depends on `lib` by path and on
    /// `shared` through `[workspace.dependencies]`; `shared` depends on `deep` by path;
    /// `other` is an unrelated member.
    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"app\", \"lib\", \"shared\", \"deep\", \"other\"]\n\n\
             [workspace.dependencies]\nshared = { path = \"shared\" }\nserde = \"1\"\n",
        );
        write("Cargo.lock", LOCK);
        write(
            "app/Cargo.toml",
            "[package]\nname = \"app\"\n\n[dependencies]\nlib = { path = \"../lib\" }\n\
             shared.workspace = true\nserde.workspace = true\n\n\
             [dev-dependencies]\nother = { path = \"../other\" }\n",
        );
        write("app/src/main.rs", "fn main() {}\n");
        write("app/Dockerfile", "FROM scratch\n");
        write("lib/Cargo.toml", "[package]\nname = \"lib\"\n");
        write("lib/src/lib.rs", "pub fn lib() {}\n");
        write(
            "shared/Cargo.toml",
            "[package]\nname = \"shared\"\n\n[dependencies]\ndeep = { path = \"../deep\" }\n",
        );
        write("shared/src/lib.rs", "pub fn shared() {}\n");
        write("deep/Cargo.toml", "[package]\nname = \"deep\"\n");
        write("deep/src/lib.rs", "pub fn deep() {}\n");
        write("other/Cargo.toml", "[package]\nname = \"other\"\n");
        write("other/src/lib.rs", "pub fn other() {}\n");
        dir
    }

    fn app_hash(root: &Path) -> String {
        build_inputs_hash(&Disk, &root.join("app"), Some("app")).unwrap()
    }

    #[test]
    fn build_inputs_hash_changes_exactly_with_the_inputs() {
        // (what is changed, whether the hash must change)
        let cases: &[(&str, &str, bool)] = &[
            ("app/src/main.rs", "fn main() { println!(); }\n", true),
            ("app/Dockerfile", "FROM scratch\nUSER 1\n", true),
            ("app/new-file.txt", "new", true),
            ("lib/src/lib.rs", "pub fn lib2() {}\n", true),
            ("shared/src/lib.rs", "pub fn shared2() {}\n", true),
            ("deep/src/lib.rs", "pub fn deep2() {}\n", true),
            ("Cargo.lock", &LOCK.replace("bbbb", "bbbc"), true),
            ("Cargo.lock", &LOCK.replace("cccc", "cccd"), true),
            ("Cargo.lock", &LOCK.replace("aaaa", "aaab"), false),
            (
                "Cargo.toml",
                "[workspace]\nmembers = []\n\n[workspace.dependencies]\nshared = { path = \"shared\" }\n",
                true,
            ),
            (
                "Cargo.toml",
                "[workspace]\nmembers = []\n\n[workspace.dependencies]\nshared = { path = \"shared\" }\nserde = \"1\"\n\n[profile.release]\nstrip = true\n",
                true,
            ),
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"app\"]\n\n[workspace.dependencies]\nshared = { path = \"shared\" }\nserde = \"1\"\nrand = \"0.9\"\n",
                false,
            ),
            ("other/src/lib.rs", "pub fn other2() {}\n", false),
            ("app/app", "the built binary", false),
            ("app/target/release/app", "build output", false),
            ("lib/target/debug/x", "build output", false),
            ("README.md", "unrelated", false),
        ];
        for (path, text, changes) in cases {
            let dir = workspace();
            let root = dir.path();
            let before = app_hash(root);
            assert_eq!(app_hash(root), before, "the same inputs give the same hash");
            let file = root.join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(&file, text).unwrap();
            assert_eq!(app_hash(root) != before, *changes, "after changing {path}");
        }
    }

    #[test]
    fn build_inputs_hash_does_not_depend_on_where_the_checkout_is() {
        let (a, b) = (workspace(), workspace());
        assert_eq!(app_hash(a.path()), app_hash(b.path()));
        assert_eq!(app_hash(a.path()).len(), 64);
    }

    #[test]
    fn the_workspace_is_found_from_the_context_however_it_is_written() {
        let dir = workspace();
        let root = dir.path();
        let roundabout = root.join("other/../app");
        assert_eq!(
            build_inputs_hash(&Disk, &roundabout, Some("app")).unwrap(),
            app_hash(root)
        );
    }

    #[test]
    fn without_binary_only_the_context_counts() {
        let dir = workspace();
        let root = dir.path();
        let hash = || build_inputs_hash(&Disk, &root.join("app"), None).unwrap();
        let before = hash();
        fs::write(root.join("Cargo.lock"), "# lock v2\n").unwrap();
        fs::write(root.join("lib/src/lib.rs"), "changed").unwrap();
        assert_eq!(hash(), before);
        // Without a binary, a file named like the package is a context file like any.
        fs::write(root.join("app/app"), "x").unwrap();
        assert_ne!(hash(), before);
    }

    #[test]
    fn a_missing_path_dependency_is_a_clear_error() {
        let dir = workspace();
        let root = dir.path();
        fs::remove_dir_all(root.join("lib")).unwrap();
        let error = build_inputs_hash(&Disk, &root.join("app"), Some("app")).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, Error::Manifest { .. }), "{message}");
        assert!(message.contains("path dependency `lib`"), "{message}");
    }

    #[test]
    fn config_hash_is_canonical() {
        let cases = [
            (r#"{"a":1,"b":[1,2]}"#, r#"{ "b": [1, 2], "a": 1 }"#, true),
            (
                r#"{"a":{"x":"1","y":"2"}}"#,
                r#"{"a":{"y":"2","x":"1"}}"#,
                true,
            ),
            (r#"{"a":[1,2]}"#, r#"{"a":[2,1]}"#, false),
            (r#"{"a":"1"}"#, r#"{"a":1}"#, false),
        ];
        for (left, right, equal) in cases {
            let left: serde_json::Value = serde_json::from_str(left).unwrap();
            let right: serde_json::Value = serde_json::from_str(right).unwrap();
            assert_eq!(
                config_hash(&left) == config_hash(&right),
                equal,
                "{left} vs {right}"
            );
        }
        assert_eq!(
            config_hash(&serde_json::json!({})),
            // sha256 of "{}"
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
