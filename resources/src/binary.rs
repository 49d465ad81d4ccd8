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
/// the [workspace](crate::workspace) of `context` with `RUSTFLAGS=-C
/// target-feature=+crt-static`, then copies the binary to `<context>/<package>`, mode 0755,
/// replacing any older one atomically (temporary name, then rename), so an image build
/// never sees half a binary.
///
/// Where the binary is, cargo says (its JSON messages name the executable), so the target
/// folder may be anywhere `CARGO_TARGET_DIR` or cargo's configuration puts it.
pub async fn build_static(package: &str, context: &Path) -> Result<()> {
    let cargo_error = |status: String, stderr: String| Error::Cargo {
        package: package.to_string(),
        status,
        stderr,
    };
    let root = crate::workspace::root(&crate::source::Disk, context)?;
    let output = tokio::process::Command::new(cargo())
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
        .output()
        .await
        .map_err(|source| cargo_error("cargo could not be run".to_string(), source.to_string()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n");
    if !output.status.success() {
        return Err(cargo_error(output.status.to_string(), tail));
    }
    let built = executable(&String::from_utf8_lossy(&output.stdout), package)
        .ok_or_else(|| cargo_error("cargo named no executable".to_string(), tail))?;
    let destination = context.join(package);
    let temporary = context.join(format!(".{package}.yoyoform-tmp"));
    copy_executable(&built, &temporary, &destination).await
}

/// The executable of the binary target `package` in cargo's JSON messages.
fn executable(messages: &str, package: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == package)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
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
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"serde"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"app"},"executable":"/t/release/app"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\n"
        );
        assert_eq!(
            executable(messages, "app"),
            Some(PathBuf::from("/t/release/app"))
        );
        assert_eq!(executable(messages, "serde"), None);
    }

    #[tokio::test]
    async fn a_failing_cargo_build_reports_its_stderr() {
        let dir = tempfile::tempdir().unwrap();
        // A package that is not in the workspace: cargo fails at once, building nothing.
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").unwrap();
        std::fs::write(
            dir.path().join("Cargo.lock"),
            "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        let error = build_static("no-such-package", dir.path())
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
