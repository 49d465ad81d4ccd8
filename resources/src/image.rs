//! Images: built from a context folder that we archive ourselves, checked for, pulled for
//! `image = "x"` sources, pushed to a registry for the nodes of a swarm, listed by project,
//! removed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bollard::query_parameters::{
    BuildImageOptions, CreateImageOptions, ListImagesOptions, PushImageOptions, RemoveImageOptions,
    TagImageOptions,
};
use futures_util::StreamExt;

use crate::container::tar_header;
use crate::docker::Docker;
use crate::dockerignore::DockerIgnore;
use crate::error::{Error, Result, docker as docker_error, io, is_not_found};
use crate::labels::project_filter;
use crate::network;
use crate::source::{Disk, Source};

/// How many lines of build output a failed build reports.
const BUILD_LOG_TAIL_LINES: usize = 30;

/// An image as Docker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageActual {
    /// Its id, `sha256:...`.
    pub id: String,
    /// Its tags (empty when it is dangling).
    pub tags: Vec<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// Whether an image with this tag (or id) is present.
pub async fn exists(docker: &Docker, tag: &str) -> Result<bool> {
    match docker.client().inspect_image(tag).await {
        Ok(_) => Ok(true),
        Err(error) if is_not_found(&error) => Ok(false),
        Err(error) => Err(docker_error("inspecting", "image", tag)(error)),
    }
}

/// Builds the Dockerfile of `context` into `tag`, with `labels`, and returns the image id.
///
/// The context is archived here (see [`context_tar`]); intermediate containers are removed
/// even when a step fails. A failed step gives [`Error::Build`] with the end of the log.
pub async fn build(
    docker: &Docker,
    tag: &str,
    context: &Path,
    labels: &BTreeMap<String, String>,
) -> Result<String> {
    tracing::debug!(tag, context = %context.display(), "building an image");
    let context_owned = context.to_path_buf();
    let archive = tokio::task::spawn_blocking(move || context_tar(&context_owned))
        .await
        .map_err(|join| Error::Io {
            action: "archiving the build context",
            path: context.to_path_buf(),
            source: std::io::Error::other(join),
        })??;
    // A daemon started with `--bridge none` (as the nodes of a test swarm are) has no
    // default network to run a build step on: the steps then run on none, as they would
    // offline, rather than fail.
    let networkmode = match network::inspect(docker, "bridge").await? {
        Some(_) => None,
        None => Some("none".to_owned()),
    };
    let options = BuildImageOptions {
        t: Some(tag.to_string()),
        rm: true,
        forcerm: true,
        labels: Some(labels.clone().into_iter().collect()),
        networkmode,
        ..Default::default()
    };
    let mut log = Vec::new();
    let mut attempt = 1;
    while let Err(message) = build_once(docker, &options, &archive, &mut log).await {
        // The classic builder takes a cached step's image and builds on it; when another
        // project's image that was its last child is removed in between, Docker prunes
        // it and the build fails so. Once more finds no cache for the step and builds it.
        if attempt == 1 && message.starts_with("failed to get digest") {
            attempt += 1;
            log.clear();
            continue;
        }
        remove_intermediates(docker, &log).await;
        return Err(Error::Build {
            tag: tag.to_string(),
            message,
            log: tail(&log, BUILD_LOG_TAIL_LINES),
        });
    }
    // The build's own answer carries the id in a field whose type depends on bollard's
    // features; asking for the tag is plainer.
    let image = docker
        .client()
        .inspect_image(tag)
        .await
        .map_err(docker_error("inspecting the newly built", "image", tag))?;
    image.id.ok_or_else(|| Error::Build {
        tag: tag.to_string(),
        message: "Docker reported no id for the built image".to_string(),
        log: tail(&log, BUILD_LOG_TAIL_LINES),
    })
}

/// One build: its log lines go to `log`; the error is Docker's message.
async fn build_once(
    docker: &Docker,
    options: &BuildImageOptions,
    archive: &[u8],
    log: &mut Vec<String>,
) -> std::result::Result<(), String> {
    let body = bollard::body_full(archive.to_vec().into());
    let mut stream = docker
        .client()
        .build_image(options.clone(), None, Some(body));
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream.or(info.status) {
                    log.extend(text.lines().map(str::to_string));
                }
            }
            Err(error) => {
                let message = match error {
                    bollard::errors::Error::DockerStreamError { error } => error,
                    other => other.to_string(),
                };
                return Err(message.trim_end().to_string());
            }
        }
    }
    Ok(())
}

/// Removes the images the steps before a failed one left (the build's labels go only on
/// the final image, so nothing else would find them by label). The classic builder names
/// each in its log as ` ---> <id>`; later ones first, since each is the parent of the
/// next. One still used (cached by another build) stays: Docker refuses, and that is fine.
async fn remove_intermediates(docker: &Docker, log: &[String]) {
    let ids: Vec<&str> = log
        .iter()
        .filter_map(|line| line.trim().strip_prefix("---> "))
        .map(str::trim)
        .filter(|id| id.len() >= 12 && id.chars().all(|c| c.is_ascii_hexdigit()))
        .collect();
    for id in ids.into_iter().rev() {
        let _ = remove(docker, id).await;
    }
}

/// The last `lines` lines of a log, non-empty ones only, joined.
fn tail(log: &[String], lines: usize) -> String {
    let kept: Vec<&str> = log
        .iter()
        .map(|line| line.trim_end())
        .filter(|line| !line.is_empty())
        .collect();
    kept[kept.len().saturating_sub(lines)..].join("\n")
}

/// The tar of a build context: every file under `context` (recursively) but those its
/// `.dockerignore` leaves out (the Dockerfile and the `.dockerignore` itself are always
/// sent, as the Docker CLI does). Entries are sorted, owned by root, mtime 0, mode 0755
/// for executables and 0644 otherwise, so the same files give the same bytes and the
/// daemon's build cache hits.
pub fn context_tar(context: &Path) -> Result<Vec<u8>> {
    let ignore_path = context.join(".dockerignore");
    let ignore = match std::fs::read_to_string(&ignore_path) {
        Ok(text) => DockerIgnore::parse(&text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => DockerIgnore::default(),
        Err(error) => return Err(io("reading", &ignore_path)(error)),
    };
    let always = ["Dockerfile", ".dockerignore"];
    let files: Vec<(String, PathBuf)> = Disk
        .files_under(context, &[])
        .map_err(io("listing", context))?
        .into_iter()
        .filter(|(relative, _)| always.contains(&relative.as_str()) || !ignore.excludes(relative))
        .collect();
    let mut folders = BTreeSet::new();
    for (relative, _) in &files {
        let parts: Vec<&str> = relative.split('/').collect();
        for depth in 1..parts.len() {
            folders.insert(parts[..depth].join("/"));
        }
    }
    let mut archive = tar::Builder::new(Vec::new());
    let tar_error = |path: &Path| io("archiving", path);
    for folder in &folders {
        let mut header = tar_header(tar::EntryType::Directory, 0o755, 0);
        archive
            .append_data(&mut header, format!("{folder}/"), std::io::empty())
            .map_err(tar_error(&context.join(folder)))?;
    }
    for (relative, path) in &files {
        let metadata = std::fs::symlink_metadata(path).map_err(io("reading", path))?;
        if metadata.file_type().is_symlink() {
            let target = std::fs::read_link(path).map_err(io("reading", path))?;
            let mut header = tar_header(tar::EntryType::Symlink, 0o777, 0);
            archive
                .append_link(&mut header, relative, &target)
                .map_err(tar_error(path))?;
        } else {
            let content = std::fs::read(path).map_err(io("reading", path))?;
            let mode =
                if std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o111 != 0 {
                    0o755
                } else {
                    0o644
                };
            let mut header = tar_header(tar::EntryType::Regular, mode, content.len() as u64);
            archive
                .append_data(&mut header, relative, content.as_slice())
                .map_err(tar_error(path))?;
        }
    }
    archive.into_inner().map_err(tar_error(context))
}

/// Removes an image by tag or id; one already gone counts as removed.
///
/// Removing a tag that other tags share only removes the tag; an image a container still
/// uses is refused by Docker (remove the container first).
pub async fn remove(docker: &Docker, image: &str) -> Result<()> {
    let options = RemoveImageOptions {
        force: false,
        noprune: false,
        ..Default::default()
    };
    match docker
        .client()
        .remove_image(image, Some(options), None)
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(docker_error("removing", "image", image)(error)),
    }
}

/// The images carrying `yoyoform.project=<project>`, dangling ones included.
pub async fn list_by_label(docker: &Docker, project: &str) -> Result<Vec<ImageActual>> {
    let options = ListImagesOptions {
        filters: Some(project_filter(project)),
        ..Default::default()
    };
    let images = docker
        .client()
        .list_images(Some(options))
        .await
        .map_err(|source| Error::List {
            kind: "image",
            project: project.to_string(),
            source,
        })?;
    Ok(images
        .into_iter()
        .map(|image| ImageActual {
            id: image.id,
            // Docker 20.10 lists a dangling image with the tag `<none>:<none>`.
            tags: image
                .repo_tags
                .into_iter()
                .filter(|tag| tag != "<none>:<none>")
                .collect(),
            labels: image.labels.into_iter().collect(),
        })
        .collect())
}

/// Pulls an image once, for `image = "x"` sources that are absent. Without a reachable
/// registry this fails with [`Error::Pull`].
pub async fn pull(docker: &Docker, image: &str) -> Result<()> {
    let options = CreateImageOptions {
        from_image: Some(image.to_string()),
        ..Default::default()
    };
    let mut stream = docker.client().create_image(Some(options), None, None);
    while let Some(item) = stream.next().await {
        if let Err(error) = item {
            let message = match error {
                bollard::errors::Error::DockerStreamError { error } => error,
                bollard::errors::Error::DockerResponseServerError { message, .. } => message,
                other => other.to_string(),
            };
            return Err(Error::Pull {
                image: image.to_string(),
                message,
            });
        }
    }
    Ok(())
}

/// Tags the image `tag` (`name:version`) as `REGISTRY/name:version` and pushes it there;
/// returns that reference, which every node of a swarm can pull. `registry` is `HOST:PORT`;
/// the daemon speaks plain HTTP to a registry on 127.0.0.0/8 (and to those its
/// `insecure-registries` name), HTTPS to any other. The new tag stays: it carries the
/// image's labels, so the sweep removes it with the image.
///
/// A failure gives [`Error::Push`] with what the daemon or the registry answered, e.g.
/// `connect: connection refused` for a registry that is not there.
pub async fn push(docker: &Docker, tag: &str, registry: &str) -> Result<String> {
    let (repository, version) = split_tag(tag);
    let target = format!("{registry}/{repository}");
    let pushed = format!("{target}:{version}");
    let push_error = |message: String| Error::Push {
        image: pushed.clone(),
        registry: registry.to_string(),
        message,
    };
    let options = TagImageOptions {
        repo: Some(target.clone()),
        tag: Some(version.to_string()),
    };
    docker
        .client()
        .tag_image(tag, Some(options))
        .await
        .map_err(docker_error("tagging", "image", tag))?;
    let options = PushImageOptions {
        tag: Some(version.to_string()),
        ..Default::default()
    };
    let mut stream = docker.client().push_image(&target, Some(options), None);
    while let Some(item) = stream.next().await {
        if let Err(error) = item {
            let message = match error {
                bollard::errors::Error::DockerStreamError { error } => error,
                bollard::errors::Error::DockerResponseServerError { message, .. } => message,
                other => other.to_string(),
            };
            return Err(push_error(message));
        }
    }
    Ok(pushed)
}

/// The user an image's processes run as (its `USER`), as `(uid, gid)`: whom files made
/// for its containers (a secret readable by that user alone) must belong to. `None` when
/// the image names none: root. A user given alone is in group 0 here (Docker's choice for
/// a user the image's `/etc/passwd` does not list; a listed one's own group is not looked
/// up). A user given by name cannot be known without that file: [`Error::UserName`].
pub async fn user(docker: &Docker, image: &str) -> Result<Option<(u32, u32)>> {
    let inspected = docker
        .client()
        .inspect_image(image)
        .await
        .map_err(docker_error("inspecting", "image", image))?;
    let user = inspected
        .config
        .and_then(|config| config.user)
        .unwrap_or_default();
    parse_user(&user).map_err(|()| Error::UserName {
        image: image.to_string(),
        user,
    })
}

/// `uid[:gid]` as numbers; `None` when empty.
fn parse_user(user: &str) -> Result<Option<(u32, u32)>, ()> {
    if user.is_empty() {
        return Ok(None);
    }
    let (uid, gid) = user.split_once(':').unwrap_or((user, "0"));
    match (uid.parse(), gid.parse()) {
        (Ok(uid), Ok(gid)) => Ok(Some((uid, gid))),
        _ => Err(()),
    }
}

/// `name:version` as its two parts; a reference without a version is `latest`. A colon
/// before the last `/` is a registry's port, not a version.
fn split_tag(tag: &str) -> (&str, &str) {
    let name_start = tag.rfind('/').map_or(0, |slash| slash + 1);
    match tag[name_start..].rfind(':') {
        Some(colon) => (&tag[..name_start + colon], &tag[name_start + colon + 1..]),
        None => (tag, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn names(archive: &[u8]) -> Vec<(String, u32)> {
        tar::Archive::new(archive)
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                (
                    entry.path().unwrap().to_string_lossy().into_owned(),
                    entry.header().mode().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn context_tar_is_sorted_reproducible_and_honours_dockerignore() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        std::fs::write(root.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(root.join(".dockerignore"), "*\n!app\n!src/deep\n").unwrap();
        std::fs::write(root.join("app"), "binary").unwrap();
        std::fs::set_permissions(root.join("app"), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(root.join("Cargo.toml"), "").unwrap();
        std::fs::write(root.join("src/main.rs"), "").unwrap();
        std::fs::write(root.join("src/deep/kept.txt"), "").unwrap();
        let archive = context_tar(root).unwrap();
        assert_eq!(
            names(&archive),
            vec![
                ("src/".to_string(), 0o755),
                ("src/deep/".to_string(), 0o755),
                (".dockerignore".to_string(), 0o644),
                ("Dockerfile".to_string(), 0o644),
                ("app".to_string(), 0o755),
                ("src/deep/kept.txt".to_string(), 0o644),
            ]
        );
        // Touching a file (new mtime) changes nothing in the archive.
        std::fs::write(root.join("app"), "binary").unwrap();
        assert_eq!(context_tar(root).unwrap(), archive);
    }

    #[test]
    fn parse_user_takes_numbers_only() {
        assert_eq!(parse_user(""), Ok(None));
        assert_eq!(parse_user("65534:65534"), Ok(Some((65534, 65534))));
        assert_eq!(parse_user("1000"), Ok(Some((1000, 0))));
        assert_eq!(parse_user("redis"), Err(()));
        assert_eq!(parse_user("1000:staff"), Err(()));
    }

    #[test]
    fn split_tag_finds_the_version_after_the_last_slash() {
        let cases = [
            ("yoyo-web:0123", ("yoyo-web", "0123")),
            ("yoyo-web", ("yoyo-web", "latest")),
            (
                "127.0.0.1:5000/yoyo-web:1",
                ("127.0.0.1:5000/yoyo-web", "1"),
            ),
            (
                "127.0.0.1:5000/yoyo-web",
                ("127.0.0.1:5000/yoyo-web", "latest"),
            ),
        ];
        for (tag, expected) in cases {
            assert_eq!(split_tag(tag), expected, "{tag}");
        }
    }

    #[test]
    fn tail_keeps_the_last_non_empty_lines() {
        let log: Vec<String> = ["a", "", "b", "c "].iter().map(|s| s.to_string()).collect();
        assert_eq!(tail(&log, 2), "b\nc");
        assert_eq!(tail(&log, 10), "a\nb\nc");
    }
}
