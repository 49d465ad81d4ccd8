//! Where the files a plan is made from are read: the work tree ([`Disk`]), or one revision
//! of a git repository ([`Git`]), read from git's objects, not from a checkout. Loading
//! env.toml, reading the files it copies and hashing build inputs all go through a
//! [`Source`], so a plan of a revision needs nothing but the repository.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

/// What is at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A file; executable or not.
    File {
        /// Any execute bit set.
        executable: bool,
    },
    /// A folder.
    Folder,
    /// A symlink, to this target (not followed).
    Symlink(PathBuf),
}

/// A tree of files to read.
pub trait Source: fmt::Debug + Send + Sync {
    /// The file's bytes.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;

    /// What is at `path`; `None` when nothing is.
    fn entry(&self, path: &Path) -> Option<Entry>;

    /// Every file and symlink under `folder` (symlinks not followed), as (`/`-separated
    /// path relative to `folder`, path to read it by), sorted by relative path; top-level
    /// entries named in `skip_top` left out.
    fn files_under(&self, folder: &Path, skip_top: &[&str]) -> io::Result<Vec<(String, PathBuf)>>;

    /// The path with `.`, `..` and symlinked folders resolved, absolute: two ways of
    /// writing one folder give one answer.
    fn canonical(&self, path: &Path) -> io::Result<PathBuf>;

    /// How messages name it: "the work tree", "revision `main`".
    fn describe(&self) -> String;
}

/// The files as they are on this machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct Disk;

impl Source for Disk {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn entry(&self, path: &Path) -> Option<Entry> {
        let metadata = std::fs::symlink_metadata(path).ok()?;
        let kind = metadata.file_type();
        Some(if kind.is_symlink() {
            Entry::Symlink(std::fs::read_link(path).ok()?)
        } else if kind.is_dir() {
            Entry::Folder
        } else {
            let mode = std::os::unix::fs::PermissionsExt::mode(&metadata.permissions());
            Entry::File {
                executable: mode & 0o111 != 0,
            }
        })
    }

    fn files_under(&self, folder: &Path, skip_top: &[&str]) -> io::Result<Vec<(String, PathBuf)>> {
        let mut found = Vec::new();
        let mut pending = vec![(String::new(), folder.to_path_buf())];
        while let Some((prefix, folder)) = pending.pop() {
            for entry in std::fs::read_dir(&folder)? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if prefix.is_empty() && skip_top.contains(&name.as_str()) {
                    continue;
                }
                let relative = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                if entry.file_type()?.is_dir() {
                    pending.push((relative, entry.path()));
                } else {
                    found.push((relative, entry.path()));
                }
            }
        }
        found.sort();
        Ok(found)
    }

    fn canonical(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }

    fn describe(&self) -> String {
        "the work tree".to_owned()
    }
}

/// One revision of a git repository, read from its objects: `git ls-tree` once for the
/// tree, one `git cat-file --batch` process for the contents. Paths are taken as the work
/// tree's (relative to the current folder, or absolute inside the repository) and mapped
/// into the revision; a path outside the repository is an error.
pub struct Git {
    /// The repository's top folder, canonical.
    top: PathBuf,
    /// The current folder, canonical: where relative paths start.
    here: PathBuf,
    /// As the user wrote it, for messages.
    revision: String,
    /// Every blob of the revision: path in the repository → (mode, object id).
    blobs: BTreeMap<PathBuf, (u32, String)>,
    /// Every folder of the revision (the top is `""`).
    folders: BTreeSet<PathBuf>,
    /// The `git cat-file --batch` process, started on the first read.
    cat: Mutex<Option<Cat>>,
}

struct Cat {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl fmt::Debug for Git {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Git")
            .field("top", &self.top)
            .field("revision", &self.revision)
            .field("blobs", &self.blobs.len())
            .finish()
    }
}

/// Why a revision cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// git could not be run, or said no.
    #[error("git {what}: {message}")]
    Git {
        /// What was asked of it.
        what: String,
        /// What it said.
        message: String,
    },
}

impl Git {
    /// The revision `revision` (anything `git rev-parse` takes) of the repository folder
    /// `here` is in; relative paths start at `here`.
    pub fn open(here: &Path, revision: &str) -> Result<Git, GitError> {
        let here = std::fs::canonicalize(here).map_err(|error| GitError::Git {
            what: format!("finding `{}`", here.display()),
            message: error.to_string(),
        })?;
        let top = git(
            &here,
            &["rev-parse", "--show-toplevel"],
            "finding the repository",
        )?;
        let top = PathBuf::from(String::from_utf8_lossy(&top).trim());
        let top = std::fs::canonicalize(&top).unwrap_or(top);
        let commit = git(
            &top,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{revision}^{{commit}}"),
            ],
            &format!("reading revision `{revision}`"),
        )
        .map_err(|_| GitError::Git {
            what: format!("reading revision `{revision}`"),
            message: "no such revision in this repository".to_owned(),
        })?;
        let commit = String::from_utf8_lossy(&commit).trim().to_owned();
        let listing = git(
            &top,
            &["ls-tree", "-r", "-z", "--full-tree", &commit],
            &format!("listing revision `{revision}`"),
        )?;
        let mut blobs = BTreeMap::new();
        let mut folders = BTreeSet::from([PathBuf::new()]);
        for record in listing.split(|byte| *byte == 0).filter(|r| !r.is_empty()) {
            let record = String::from_utf8_lossy(record);
            let Some((meta, path)) = record.split_once('\t') else {
                continue;
            };
            let fields: Vec<&str> = meta.split(' ').collect();
            let [mode, "blob", object] = fields.as_slice() else {
                // Submodules (commits) have no files here.
                continue;
            };
            let path = PathBuf::from(path);
            for folder in path.ancestors().skip(1) {
                folders.insert(folder.to_path_buf());
            }
            let mode = u32::from_str_radix(mode, 8).unwrap_or(0o100644);
            blobs.insert(path, (mode, (*object).to_owned()));
        }
        Ok(Git {
            top,
            here,
            revision: revision.to_owned(),
            blobs,
            folders,
            cat: Mutex::new(None),
        })
    }

    /// The path inside the repository `path` names; an error outside it.
    fn inside(&self, path: &Path) -> io::Result<PathBuf> {
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.here.join(path)
        };
        let mut parts: Vec<Component> = Vec::new();
        for component in absolute.components() {
            match component {
                Component::ParentDir => {
                    parts.pop();
                }
                Component::CurDir => {}
                other => parts.push(other),
            }
        }
        let normal: PathBuf = parts.iter().collect();
        normal
            .strip_prefix(&self.top)
            .map(Path::to_path_buf)
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("`{}` is outside the repository", path.display()),
                )
            })
    }

    fn cat(&self, object: &str) -> io::Result<Vec<u8>> {
        let mut cat = self.cat.lock().expect("the cat-file process");
        if cat.is_none() {
            let mut child = Command::new("git")
                .args(["cat-file", "--batch"])
                .current_dir(&self.top)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()?;
            let input = child.stdin.take().expect("piped stdin");
            let output = BufReader::new(child.stdout.take().expect("piped stdout"));
            *cat = Some(Cat {
                child,
                input,
                output,
            });
        }
        let cat = cat.as_mut().expect("started above");
        writeln!(cat.input, "{object}")?;
        cat.input.flush()?;
        let mut header = String::new();
        cat.output.read_line(&mut header)?;
        let size: usize = header
            .split_whitespace()
            .nth(2)
            .and_then(|size| size.parse().ok())
            .ok_or_else(|| io::Error::other(format!("git cat-file said `{}`", header.trim())))?;
        let mut content = vec![0; size];
        cat.output.read_exact(&mut content)?;
        let mut newline = [0; 1];
        cat.output.read_exact(&mut newline)?;
        Ok(content)
    }
}

impl Drop for Git {
    fn drop(&mut self) {
        if let Some(mut cat) = self.cat.lock().ok().and_then(|mut cat| cat.take()) {
            drop(cat.input);
            let _ = cat.child.wait();
        }
    }
}

impl Source for Git {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let inside = self.inside(path)?;
        match self.blobs.get(&inside) {
            Some((_, object)) => self.cat(object),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "`{}` is not in revision `{}`",
                    inside.display(),
                    self.revision
                ),
            )),
        }
    }

    fn entry(&self, path: &Path) -> Option<Entry> {
        let inside = self.inside(path).ok()?;
        if let Some((mode, object)) = self.blobs.get(&inside) {
            return Some(match mode & 0o170000 {
                0o120000 => {
                    let target = self.cat(object).ok()?;
                    Entry::Symlink(PathBuf::from(String::from_utf8_lossy(&target).as_ref()))
                }
                _ => Entry::File {
                    executable: mode & 0o111 != 0,
                },
            });
        }
        self.folders.contains(&inside).then_some(Entry::Folder)
    }

    fn files_under(&self, folder: &Path, skip_top: &[&str]) -> io::Result<Vec<(String, PathBuf)>> {
        let inside = self.inside(folder)?;
        let mut found = Vec::new();
        for path in self.blobs.keys() {
            let Ok(relative) = path.strip_prefix(&inside) else {
                continue;
            };
            let mut components = relative.components();
            let top = components
                .next()
                .map(|first| first.as_os_str().to_string_lossy());
            if top.is_some_and(|top| skip_top.contains(&top.as_ref())) {
                continue;
            }
            let relative = relative.to_string_lossy().into_owned();
            found.push((relative, self.top.join(path)));
        }
        found.sort();
        Ok(found)
    }

    fn canonical(&self, path: &Path) -> io::Result<PathBuf> {
        let inside = self.inside(path)?;
        if self.blobs.contains_key(&inside) || self.folders.contains(&inside) {
            Ok(self.top.join(inside))
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "`{}` is not in revision `{}`",
                    inside.display(),
                    self.revision
                ),
            ))
        }
    }

    fn describe(&self) -> String {
        format!("revision `{}`", self.revision)
    }
}

/// Runs git in `folder`; its output, or what it said on failure.
fn git(folder: &Path, args: &[&str], what: &str) -> Result<Vec<u8>, GitError> {
    let output = Command::new("git")
        .args(args)
        .current_dir(folder)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| GitError::Git {
            what: what.to_owned(),
            message: error.to_string(),
        })?;
    if !output.status.success() {
        return Err(GitError::Git {
            what: what.to_owned(),
            message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(output.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(dir: &Path, script: &str) {
        let status = Command::new("sh")
            .args(["-c", script])
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(status.success(), "{script}");
    }

    #[test]
    fn a_revision_reads_as_it_was_committed() {
        let dir = tempfile::tempdir().unwrap();
        let top = std::fs::canonicalize(dir.path()).unwrap();
        sh(
            &top,
            "git init -q && git config user.email t@t && git config user.name t \
             && mkdir -p app/src && echo one > app/src/main.rs && echo x > app/run \
             && chmod +x app/run && ln -s src app/link && git add -A && git commit -qm one \
             && echo two > app/src/main.rs && echo new > app/untracked",
        );
        let app = top.join("app");
        let read = || -> io::Result<()> {
            let git = Git::open(&app, "HEAD").unwrap();
            assert_eq!(git.read(Path::new("src/main.rs"))?, b"one\n");
            assert_eq!(Disk.read(&app.join("src/main.rs"))?, b"two\n");
            assert_eq!(git.entry(Path::new("src")), Some(Entry::Folder));
            assert_eq!(
                git.entry(Path::new("run")),
                Some(Entry::File { executable: true })
            );
            assert_eq!(
                git.entry(Path::new("link")),
                Some(Entry::Symlink(PathBuf::from("src")))
            );
            assert_eq!(git.entry(Path::new("untracked")), None);
            let names: Vec<String> = git
                .files_under(Path::new("."), &["run"])?
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            assert_eq!(names, ["link", "src/main.rs"]);
            assert_eq!(git.canonical(Path::new("src/../src"))?, top.join("app/src"));
            let outside = git.read(Path::new("../../elsewhere")).unwrap_err();
            assert!(
                outside.to_string().contains("outside the repository"),
                "{outside}"
            );
            let missing = Git::open(&app, "no-such-revision").unwrap_err();
            assert!(
                missing.to_string().contains("no such revision"),
                "{missing}"
            );
            Ok(())
        };
        read().unwrap();
    }
}
