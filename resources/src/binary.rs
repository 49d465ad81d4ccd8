//! The build step of `build = { context, binary }` services: a static release build of the
//! package, copied into its image's build context (as scripts/build-static does by hand).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::error::{Error, Result, io};

/// The target the binaries are built for: naming it keeps `crt-static` away from the
/// proc-macro crates, which are built for the host and would fail to link statically.
const TARGET: &str = "x86_64-unknown-linux-gnu";
/// How many lines of cargo's stderr a failed build reports.
const STDERR_TAIL_LINES: usize = 30;

/// Runs `cargo build --release --locked --target x86_64-unknown-linux-gnu -p <package>` in
/// `root` with `RUSTFLAGS=-C target-feature=+crt-static`, then copies the binary to
/// `<context>/<package>`, mode 0755, replacing any older one atomically (temporary name,
/// then rename), so an image build never sees half a binary.
///
/// Honours `CARGO_TARGET_DIR` (relative to `root` when relative), as cargo does.
pub async fn build_static(root: &Path, package: &str, context: &Path) -> Result<()> {
    let output = tokio::process::Command::new(cargo())
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            TARGET,
            "-p",
            package,
        ])
        .current_dir(root)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| Error::Cargo {
            package: package.to_string(),
            status: "cargo could not be run".to_string(),
            stderr: source.to_string(),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        return Err(Error::Cargo {
            package: package.to_string(),
            status: output.status.to_string(),
            stderr: lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n"),
        });
    }
    let built = target_dir(root).join(TARGET).join("release").join(package);
    let destination = context.join(package);
    let temporary = context.join(format!(".{package}.yoyoform-tmp"));
    copy_executable(&built, &temporary, &destination).await
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

/// Where cargo puts its output for a build run in `root`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
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

    #[tokio::test]
    async fn a_failing_cargo_build_reports_its_stderr() {
        let dir = tempfile::tempdir().unwrap();
        // No Cargo.toml here: cargo fails at once, without building anything.
        let error = build_static(dir.path(), "no-such-package", dir.path())
            .await
            .unwrap_err();
        match error {
            Error::Cargo {
                package, stderr, ..
            } => {
                assert_eq!(package, "no-such-package");
                assert!(stderr.contains("Cargo.toml"), "{stderr}");
            }
            other => panic!("unexpected error: {other}"),
        }
    }
}
