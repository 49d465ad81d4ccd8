//! The build step of `build = { context, binary }` services: a static release build of the
//! package, copied into its image's build context (as scripts/build-static does by hand).

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::error::{Error, Result, io};

/// The target the binaries are built for: naming it keeps `crt-static` away from the
/// proc-macro crates, which are built for the host and would fail to link statically.
const TARGET: &str = "x86_64-unknown-linux-gnu";
/// How many lines of cargo's stderr a failed build reports.
const STDERR_TAIL_LINES: usize = 30;

/// How far a static build has got, from what cargo says while it works.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compiling {
    /// Units cargo has finished: compiled, or found up to date (each is one
    /// `compiler-artifact` message).
    pub done: usize,
    /// The units the build is expected to have ([`units`]); 0 when that could not be
    /// worked out. An estimate: `done` may pass it.
    pub total: usize,
    /// The crate cargo last said it is compiling (its `Compiling NAME vX.Y.Z` status line),
    /// empty before the first.
    pub current: String,
}

/// Runs `cargo build --release --locked --target x86_64-unknown-linux-gnu -p <package>` in
/// the [workspace](crate::workspace) of `context` with `RUSTFLAGS=-C
/// target-feature=+crt-static`, then copies the binary to `<context>/<package>`, mode 0755,
/// replacing any older one atomically (temporary name, then rename), so an image build
/// never sees half a binary.
///
/// Where the binary is, cargo says (its JSON messages name the executable), so the target
/// folder may be anywhere `CARGO_TARGET_DIR` or cargo's configuration puts it.
///
/// Cargo's output is read as it comes: `progress` hears of every unit finished (its JSON
/// messages on stdout) and every crate started (its `Compiling` lines on stderr), so a
/// cold build of several minutes says how far it is.
pub async fn build_static(
    package: &str,
    context: &Path,
    progress: &(dyn Fn(&Compiling) + Send + Sync),
) -> Result<()> {
    let cargo_error = |status: String, stderr: String| Error::Cargo {
        package: package.to_string(),
        status,
        stderr,
    };
    let root = crate::workspace::root(&crate::source::Disk, context)?;
    let mut compiling = Compiling {
        total: units(&root, package).await.unwrap_or(0),
        ..Compiling::default()
    };
    tracing::debug!(package, workspace = %root.display(), units = compiling.total, "cargo build of a static binary");
    let mut child = tokio::process::Command::new(cargo())
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            TARGET,
            "-p",
            package,
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(&root)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| cargo_error("cargo could not be run".to_string(), source.to_string()))?;
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
    let mut tail = VecDeque::with_capacity(STDERR_TAIL_LINES);
    let mut built = None;
    let (mut stdout_open, mut stderr_open) = (true, true);
    while stdout_open || stderr_open {
        tokio::select! {
            line = stdout.next_line(), if stdout_open => match line {
                Ok(Some(line)) => {
                    let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
                        continue;
                    };
                    if message["reason"] != "compiler-artifact" {
                        continue;
                    }
                    compiling.done += 1;
                    if let Some(path) = executable(&message, package) {
                        built = Some(path);
                    }
                    progress(&compiling);
                }
                _ => stdout_open = false,
            },
            line = stderr.next_line(), if stderr_open => match line {
                Ok(Some(line)) => {
                    if let Some(name) = compiling_crate(&line) {
                        compiling.current = name.to_string();
                        progress(&compiling);
                    }
                    if tail.len() == STDERR_TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
                _ => stderr_open = false,
            },
        }
    }
    let status = child.wait().await.map_err(|source| {
        cargo_error(
            "cargo could not be waited for".to_string(),
            source.to_string(),
        )
    })?;
    let tail = Vec::from(tail).join("\n");
    if !status.success() {
        return Err(cargo_error(status.to_string(), tail));
    }
    let built = built.ok_or_else(|| cargo_error("cargo named no executable".to_string(), tail))?;
    let destination = context.join(package);
    let temporary = context.join(format!(".{package}.yoyoform-tmp"));
    copy_executable(&built, &temporary, &destination).await
}

/// The crate a cargo status line says is being compiled: `   Compiling tokio v1.40.0`.
fn compiling_crate(line: &str) -> Option<&str> {
    line.trim_start()
        .strip_prefix("Compiling ")?
        .split_whitespace()
        .next()
}

/// How many units (each one `compiler-artifact` message) building `package` for
/// [`TARGET`] takes, worked out from `cargo metadata`'s resolve.
///
/// Stable cargo has no way to ask for the unit graph itself (`--unit-graph` and
/// `--build-plan` need nightly's `-Z`), and no dry run. `cargo metadata` is stable and
/// answers in 0.15 s here without building anything, where the alternative, counting the
/// messages of an earlier build, only knows the answer from the second build on, and the
/// first, cold one is the build that takes minutes and needs a count. The walk follows
/// what cargo builds: the package's binaries and library, its normal and build
/// dependencies (not dev ones), each for the target, or for the host when it is a
/// proc-macro, a build dependency or needed by one (so a crate both sides use counts
/// twice, as cargo compiles it twice), and one unit per build script. Features are
/// resolved for the whole workspace there, so optional dependencies another member turns
/// on are counted too. Measured on the platform (estimate / `compiler-artifact` messages of
/// the real build): auth-api 186 / 141, transaction-api 193 / 179, loyalty-worker 193 /
/// 173, router 83 / 77. So the count errs high, by 8 to 32 %: a bar that ends short,
/// never one that runs past its end. (`cargo tree -p`, which resolves features for the one
/// package, counts packages but not units: 127, 163, 158 and 67, low by the build scripts
/// and the crates built for both sides.)
pub async fn units(root: &Path, package: &str) -> Option<usize> {
    let output = tokio::process::Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            TARGET,
        ])
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    count_units(&metadata, package)
}

/// [`units`] on `cargo metadata`'s document.
fn count_units(metadata: &serde_json::Value, package: &str) -> Option<usize> {
    let packages: HashMap<&str, &serde_json::Value> = metadata["packages"]
        .as_array()?
        .iter()
        .filter_map(|found| Some((found["id"].as_str()?, found)))
        .collect();
    let has_kind = |id: &str, wanted: &str| {
        packages.get(id).is_some_and(|found| {
            found["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|target| {
                    target["kind"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|kind| kind == wanted)
                })
        })
    };
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()?
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    let root = members.iter().copied().find(|id| {
        packages
            .get(id)
            .is_some_and(|found| found["name"] == package)
    })?;
    let nodes: HashMap<&str, &serde_json::Value> = metadata["resolve"]["nodes"]
        .as_array()?
        .iter()
        .filter_map(|node| Some((node["id"].as_str()?, node)))
        .collect();
    // (package id, built for the host)
    let mut seen: HashSet<(&str, bool)> = HashSet::new();
    let mut stack = vec![(root, false)];
    while let Some((id, host)) = stack.pop() {
        if !seen.insert((id, host)) {
            continue;
        }
        for dep in nodes.get(id)?["deps"].as_array().into_iter().flatten() {
            let Some(dep_id) = dep["pkg"].as_str() else {
                continue;
            };
            for kind in dep["dep_kinds"].as_array().into_iter().flatten() {
                let dep_host = match kind["kind"].as_str() {
                    None => host || has_kind(dep_id, "proc-macro"),
                    Some("build") => true,
                    Some(_) => continue,
                };
                stack.push((dep_id, dep_host));
            }
        }
    }
    let libraries = seen.iter().filter(|(id, _)| *id != root).count();
    let scripts = seen
        .iter()
        .map(|(id, _)| *id)
        .collect::<HashSet<_>>()
        .into_iter()
        .filter(|id| has_kind(id, "custom-build"))
        .count();
    let own = packages[root]["targets"]
        .as_array()?
        .iter()
        .filter(|target| {
            target["kind"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|kind| kind == "bin" || kind == "lib")
        })
        .count();
    Some(libraries + scripts + own)
}

/// The executable of the binary target `package`, when this `compiler-artifact` message
/// is its.
fn executable(message: &serde_json::Value, package: &str) -> Option<PathBuf> {
    if message["target"]["name"] != package {
        return None;
    }
    message["executable"].as_str().map(PathBuf::from)
}

/// Copies `from` to `temporary`, makes it 0755 and renames it to `to`; on failure removes
/// the temporary file.
async fn copy_executable(from: &Path, temporary: &Path, to: &Path) -> Result<()> {
    let copied = async {
        tokio::fs::copy(from, temporary)
            .await
            .map_err(io("copying the built binary from", from))?;
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        tokio::fs::set_permissions(temporary, mode)
            .await
            .map_err(io("setting the mode of", temporary))?;
        tokio::fs::rename(temporary, to)
            .await
            .map_err(io("moving the built binary to", to))
    };
    let result = copied.await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(temporary).await;
    }
    result
}

/// Cargo as the environment names it (cargo sets `CARGO` for the programs it runs).
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn copy_executable_replaces_the_old_binary_with_mode_0755() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("built");
        let to = dir.path().join("app");
        let temporary = dir.path().join(".app.tmp");
        std::fs::write(&from, "new").unwrap();
        std::fs::write(&to, "old").unwrap();
        copy_executable(&from, &temporary, &to).await.unwrap();
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&to).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert!(!temporary.exists());
    }

    #[tokio::test]
    async fn a_missing_binary_is_an_error_that_names_it_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let temporary = dir.path().join(".app.tmp");
        let error = copy_executable(
            &dir.path().join("missing"),
            &temporary,
            &dir.path().join("app"),
        )
        .await
        .unwrap_err();
        assert!(error.to_string().contains("missing"), "{error}");
        assert!(!temporary.exists());
    }

    #[test]
    fn the_executable_is_the_one_cargo_names() {
        let serde: serde_json::Value = serde_json::from_str(
            r#"{"reason":"compiler-artifact","target":{"name":"serde"},"executable":null}"#,
        )
        .unwrap();
        let app: serde_json::Value = serde_json::from_str(
            r#"{"reason":"compiler-artifact","target":{"name":"app"},"executable":"/t/release/app"}"#,
        )
        .unwrap();
        assert_eq!(
            executable(&app, "app"),
            Some(PathBuf::from("/t/release/app"))
        );
        assert_eq!(executable(&serde, "app"), None);
        assert_eq!(executable(&serde, "serde"), None);
    }

    #[test]
    fn the_crate_compiled_is_read_from_the_status_line() {
        assert_eq!(compiling_crate("   Compiling tokio v1.40.0"), Some("tokio"));
        assert_eq!(
            compiling_crate("   Compiling auth-api v0.1.0 (/w/services/auth-api)"),
            Some("auth-api")
        );
        assert_eq!(compiling_crate("    Finished `release` profile"), None);
    }

    #[test]
    fn units_follow_what_cargo_builds_for_the_target_and_the_host() {
        // app (bin) -> lib (normal, with a build script) -> shared
        //           -> derive (proc-macro) -> shared (so shared is built twice)
        //           -> tester (dev: not built)
        let package = |id: &str, kinds: &[&str]| serde_json::json!({"id": id, "name": id, "targets": kinds.iter().map(|kind| serde_json::json!({"kind": [kind]})).collect::<Vec<_>>()});
        let dep = |id: &str, kind: Option<&str>| serde_json::json!({"pkg": id, "dep_kinds": [{"kind": kind, "target": null}]});
        let metadata = serde_json::json!({
            "packages": [
                package("app", &["bin"]),
                package("lib", &["lib", "custom-build"]),
                package("shared", &["lib"]),
                package("derive", &["proc-macro"]),
                package("tester", &["lib"]),
            ],
            "workspace_members": ["app"],
            "resolve": {"nodes": [
                {"id": "app", "deps": [dep("lib", None), dep("derive", None), dep("tester", Some("dev"))]},
                {"id": "lib", "deps": [dep("shared", None)]},
                {"id": "derive", "deps": [dep("shared", None)]},
                {"id": "shared", "deps": []},
                {"id": "tester", "deps": []},
            ]},
        });
        // app's bin, lib, lib's build script, shared twice, derive.
        assert_eq!(count_units(&metadata, "app"), Some(6));
        assert_eq!(count_units(&metadata, "nothing"), None);
    }

    /// A folder holding one package, `name`, a binary without dependencies.
    fn one_package(name: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n"),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").unwrap();
        std::fs::write(
            dir.path().join("Cargo.lock"),
            format!("version = 4\n\n[[package]]\nname = \"{name}\"\nversion = \"0.1.0\"\n"),
        )
        .unwrap();
        dir
    }

    #[tokio::test]
    async fn a_build_says_how_far_it_is_and_copies_the_binary() {
        let dir = one_package("app");
        let seen = std::sync::Mutex::new(Vec::new());
        build_static("app", dir.path(), &|compiling| {
            seen.lock().unwrap().push(compiling.clone())
        })
        .await
        .unwrap();
        let seen = seen.into_inner().unwrap();
        // cargo said it compiles `app` (stderr), then that its one unit is done (stdout).
        assert_eq!(
            seen,
            [
                Compiling {
                    done: 0,
                    total: 1,
                    current: "app".into()
                },
                Compiling {
                    done: 1,
                    total: 1,
                    current: "app".into()
                },
            ]
        );
        assert!(dir.path().join("app").exists());
    }

    #[tokio::test]
    async fn a_failing_cargo_build_reports_its_stderr() {
        // A package that is not in the workspace: cargo fails at once, building nothing.
        let dir = one_package("app");
        let error = build_static("no-such-package", dir.path(), &|_| {})
            .await
            .unwrap_err();
        match error {
            Error::Cargo {
                package, stderr, ..
            } => {
                assert_eq!(package, "no-such-package");
                assert!(stderr.contains("no-such-package"), "{stderr}");
            }
            other => panic!("unexpected error: {other}"),
        }
    }
}
