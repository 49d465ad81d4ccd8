//! The state file's format, persistence and locking, against a real file system.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use state::{
    FORMAT_VERSION, LockedState, OutputState, ResourceState, State, StateError, StateFile,
};

/// A state file path in a fresh temporary directory, removed at the end of the test.
struct Scratch {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let path = dir.path().join("env.tfstate");
        Scratch { _dir: dir, path }
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        PathBuf::from(format!("{}{suffix}", self.path.display()))
    }

    fn open(&self, operation: &str) -> LockedState {
        StateFile::new(&self.path)
            .writer_version("9.9.9")
            .open(operation)
            .unwrap_or_else(|error| panic!("open `{}`: {error}", self.path.display()))
    }
}

fn resource(address: &str) -> ResourceState {
    let (kind, _) = address.split_once('.').expect("address has a kind");
    ResourceState {
        address: address.to_owned(),
        kind: kind.to_owned(),
        backend: None,
        docker_ids: vec![format!("id-of-{address}")],
        config_hash: "0".repeat(64),
        attributes: json!({"image": format!("yoyo-{address}"), "env": {"B": "2", "A": "1"}})
            .as_object()
            .cloned()
            .expect("an object"),
        sensitive_attributes: vec!["env".to_owned()],
        dependencies: vec!["network.platform".to_owned()],
        tainted: false,
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|error| panic!("stat `{}`: {error}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn missing_file_is_an_empty_state_and_is_not_created() {
    let scratch = Scratch::new();
    let locked = scratch.open("plan");
    let state = locked.state();
    assert_eq!(state.version, FORMAT_VERSION);
    assert_eq!(state.serial, 0);
    assert_eq!(state.yoyoform_version, "9.9.9");
    assert!(state.resources.is_empty() && state.outputs.is_empty());
    assert!(
        uuid::Uuid::parse_str(&state.lineage).is_ok(),
        "{}",
        state.lineage
    );

    let unlocked = state::read_unlocked(&scratch.path).expect("read missing file");
    assert_eq!(unlocked.serial, 0);
    assert!(
        !scratch.path.exists(),
        "loading must not create the state file"
    );
}

#[test]
fn round_trip_keeps_everything() {
    let scratch = Scratch::new();
    let written = {
        let locked = scratch.open("apply");
        locked
            .set_resource(resource("service.auth-api"))
            .expect("write");
        locked
            .update(|state| {
                state.outputs.insert(
                    "url".to_owned(),
                    OutputState {
                        value: "http://127.0.0.1:8080".to_owned(),
                        sensitive: false,
                    },
                );
            })
            .expect("write");
        locked.state()
    };
    assert_eq!(written.serial, 2);
    assert_eq!(written.yoyoform_version, "9.9.9");

    assert_eq!(scratch.open("apply").state(), written);
    assert_eq!(state::read_unlocked(&scratch.path).expect("read"), written);
}

#[test]
fn serial_counts_changes_and_lineage_never_changes() {
    let scratch = Scratch::new();
    /// What the step does, the step, the serial expected afterwards.
    type Step = (&'static str, fn(&LockedState), u64);
    let steps: [Step; 5] = [
        (
            "add a resource",
            |locked| {
                locked.set_resource(resource("network.platform")).unwrap();
            },
            1,
        ),
        (
            "add another",
            |locked| {
                locked.set_resource(resource("service.auth-api")).unwrap();
            },
            2,
        ),
        (
            "write it again unchanged",
            |locked| {
                locked.set_resource(resource("service.auth-api")).unwrap();
            },
            2,
        ),
        (
            "write the whole state back unchanged",
            |locked| {
                locked.write(&locked.state()).unwrap();
            },
            2,
        ),
        (
            "remove one",
            |locked| {
                let removed = locked.remove_resource("service.auth-api").unwrap();
                assert_eq!(
                    removed.map(|r| r.address).as_deref(),
                    Some("service.auth-api")
                );
            },
            3,
        ),
    ];
    let mut first_lineage = None;
    for (what, step, expected) in steps {
        // Reopen every time: serial and lineage must survive the file, not just memory.
        let locked = scratch.open("apply");
        step(&locked);
        let on_disk = state::read_unlocked(&scratch.path).expect("read");
        assert_eq!(on_disk.serial, expected, "after: {what}");
        assert_eq!(locked.serial(), expected, "after: {what}");
        assert_eq!(locked.lineage(), on_disk.lineage, "after: {what}");
        let first = first_lineage.get_or_insert_with(|| on_disk.lineage.clone());
        assert_eq!(&on_disk.lineage, first, "after: {what}");
    }
}

#[test]
fn whole_state_writes_refuse_stale_copies_and_other_lineages() {
    let scratch = Scratch::new();
    let locked = scratch.open("apply");
    let copy_a = locked.state();
    let mut copy_b = locked.state();

    let mut changed_a = copy_a.clone();
    changed_a
        .resources
        .insert("network.platform".to_owned(), resource("network.platform"));
    assert_eq!(locked.write(&changed_a).expect("first write"), 1);

    copy_b
        .resources
        .insert("service.auth-api".to_owned(), resource("service.auth-api"));
    let stale = locked
        .write(&copy_b)
        .expect_err("a stale copy must be refused");
    assert!(
        matches!(
            stale,
            StateError::Stale {
                current: 1,
                found: 0,
                ..
            }
        ),
        "{stale:?}"
    );

    let other = State::new("9.9.9");
    let mismatch = locked
        .write(&other)
        .expect_err("another lineage must be refused");
    assert!(
        matches!(mismatch, StateError::LineageMismatch { .. }),
        "{mismatch:?}"
    );
    let refused_update = locked
        .update(|state| state.lineage = "elsewhere".to_owned())
        .expect_err("a change of lineage must be refused");
    assert!(matches!(refused_update, StateError::LineageMismatch { .. }));

    let on_disk = state::read_unlocked(&scratch.path).expect("read");
    assert_eq!(on_disk.serial, 1);
    assert_eq!(
        on_disk.resources.keys().collect::<Vec<_>>(),
        ["network.platform"]
    );
}

#[test]
fn corrupt_files_are_reported_with_position_and_left_alone() {
    // (what, content, line, column)
    let cases = [
        ("empty file", "", 1, 0),
        (
            "truncated",
            "{\n  \"version\": 1,\n  \"serial\": 3,\n  \"lin",
            4,
            6,
        ),
        (
            "syntax error",
            "{\n  \"version\": 1,\n  \"serial\": ,\n}",
            3,
            13,
        ),
        (
            "wrong type",
            "{\"version\": 1, \"lineage\": \"x\",\n\"serial\": \"three\"}",
            2,
            17,
        ),
        ("no version", "{\"serial\": 1}", 1, 13),
    ];
    for (what, content, line, column) in cases {
        let scratch = Scratch::new();
        fs::write(&scratch.path, content).expect("write the corrupt file");
        for error in [
            StateFile::new(&scratch.path)
                .open("plan")
                .map(|_| ())
                .unwrap_err(),
            state::read_unlocked(&scratch.path).map(|_| ()).unwrap_err(),
        ] {
            let StateError::Corrupt {
                line: found_line,
                column: found_column,
                ..
            } = &error
            else {
                panic!("{what}: expected a corrupt-file error, got {error:?}");
            };
            assert_eq!(
                (*found_line, *found_column),
                (line, column),
                "{what}: {error}"
            );
            let message = error.to_string();
            let expected_start = format!(
                "state file `{}` is corrupt at line {line}, column {column}: ",
                scratch.path.display()
            );
            assert!(message.starts_with(&expected_start), "{what}: {message}");
            assert!(
                !message.contains(&format!("line {line} column {column}")),
                "position given twice: {message}"
            );
        }
        assert_eq!(
            fs::read_to_string(&scratch.path).unwrap(),
            content,
            "{what}"
        );
        assert!(!scratch.sibling(".backup").exists(), "{what}");
    }
}

#[test]
fn newer_format_is_refused_before_anything_else() {
    let scratch = Scratch::new();
    // The rest of a future format may look like anything.
    let content = r#"{"version": 2, "serial": "not a number", "resources": []}"#;
    fs::write(&scratch.path, content).unwrap();
    let error = state::read_unlocked(&scratch.path).unwrap_err();
    assert!(
        matches!(
            error,
            StateError::UnsupportedVersion {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "state file `{}` has format version 2, but this yoyoform reads only up to version \
             1: use a newer yoyoform",
            scratch.path.display()
        )
    );
    assert!(StateFile::new(&scratch.path).open("apply").is_err());
    assert_eq!(fs::read_to_string(&scratch.path).unwrap(), content);
}

#[test]
fn unknown_fields_and_missing_optional_ones_are_accepted() {
    let scratch = Scratch::new();
    let content = r#"{
        "version": 1,
        "lineage": "3f1a8d3e-1111-4222-8333-444455556666",
        "added_later": true,
        "resources": {"network.platform": {"address": "network.platform", "kind": "network"}}
    }"#;
    fs::write(&scratch.path, content).unwrap();
    let state = state::read_unlocked(&scratch.path).expect("read");
    assert_eq!(state.serial, 0);
    let network = &state.resources["network.platform"];
    assert!(network.docker_ids.is_empty() && network.attributes.is_empty());
}

#[test]
fn backup_holds_the_previous_state_and_all_files_are_private() {
    let scratch = Scratch::new();
    let locked = scratch.open("apply");
    locked.set_resource(resource("network.platform")).unwrap();
    assert!(
        !scratch.sibling(".backup").exists(),
        "nothing to back up on the first write"
    );
    let first = fs::read_to_string(&scratch.path).unwrap();

    locked.set_resource(resource("service.auth-api")).unwrap();
    let second = fs::read_to_string(&scratch.path).unwrap();
    assert_ne!(first, second);
    assert_eq!(
        fs::read_to_string(scratch.sibling(".backup")).unwrap(),
        first
    );

    locked.remove_resource("network.platform").unwrap();
    assert_eq!(
        fs::read_to_string(scratch.sibling(".backup")).unwrap(),
        second
    );

    assert_eq!(mode(&scratch.path), 0o600);
    assert_eq!(mode(&scratch.sibling(".backup")), 0o600);
    assert!(!scratch.sibling(".tmp").exists());
}

#[test]
fn a_world_readable_state_file_becomes_private_on_write() {
    let scratch = Scratch::new();
    scratch
        .open("apply")
        .set_resource(resource("network.platform"))
        .unwrap();
    fs::set_permissions(&scratch.path, fs::Permissions::from_mode(0o644)).unwrap();

    scratch
        .open("apply")
        .set_resource(resource("service.auth-api"))
        .unwrap();
    assert_eq!(mode(&scratch.path), 0o600);
    assert_eq!(mode(&scratch.sibling(".backup")), 0o600);
}

#[test]
fn a_temporary_file_left_by_a_crash_is_ignored_then_replaced() {
    let scratch = Scratch::new();
    scratch
        .open("apply")
        .set_resource(resource("network.platform"))
        .unwrap();
    let before = state::read_unlocked(&scratch.path).unwrap();
    // A crash after creating the temporary file and before the rename.
    fs::write(
        scratch.sibling(".tmp"),
        "{\"version\": 1, \"serial\": 99, \"lin",
    )
    .unwrap();
    fs::set_permissions(scratch.sibling(".tmp"), fs::Permissions::from_mode(0o644)).unwrap();

    let locked = scratch.open("apply");
    assert_eq!(locked.state(), before);
    locked.set_resource(resource("service.auth-api")).unwrap();
    assert!(!scratch.sibling(".tmp").exists());
    assert_eq!(mode(&scratch.path), 0o600);
    assert_eq!(state::read_unlocked(&scratch.path).unwrap().serial, 2);
}

#[test]
fn a_second_open_is_refused_with_who_holds_the_lock() {
    let scratch = Scratch::new();
    let _held = scratch.open("apply");
    // flock locks belong to the open file description, so a second open in the same
    // process conflicts just as another process would.
    let error = StateFile::new(&scratch.path)
        .open("plan")
        .expect_err("the lock is held");
    let StateError::Locked { holder, .. } = &error else {
        panic!("expected Locked, got {error:?}");
    };
    assert_eq!(holder.pid, std::process::id());
    assert_eq!(holder.operation, "apply");
    let message = error.to_string();
    let expected = format!(
        "state file `{}` is locked by {}@{} (pid {}, apply) since {}",
        scratch.path.display(),
        holder.user,
        holder.host,
        std::process::id(),
        holder.since
    );
    assert_eq!(message, expected);

    // Reading without the lock still works while it is held.
    assert_eq!(state::read_unlocked(&scratch.path).unwrap().serial, 0);
}

#[test]
fn dropping_the_state_releases_the_lock_and_clears_the_holder() {
    let scratch = Scratch::new();
    let locked = scratch.open("apply");
    let holder_text = fs::read_to_string(scratch.sibling(".lock")).unwrap();
    assert!(
        holder_text.contains("\"operation\":\"apply\""),
        "{holder_text}"
    );
    drop(locked);
    assert_eq!(fs::read_to_string(scratch.sibling(".lock")).unwrap(), "");
    let again = scratch.open("destroy");
    assert_eq!(again.serial(), 0);
}

#[test]
fn open_waits_for_the_lock_up_to_its_timeout() {
    let scratch = Scratch::new();
    // (timeout, holder lets go after, expect to get the lock)
    let cases = [
        (Duration::from_secs(5), Duration::from_millis(200), true),
        (Duration::from_millis(150), Duration::from_secs(2), false),
        (Duration::ZERO, Duration::from_millis(500), false),
    ];
    for (timeout, held_for, expect_lock) in cases {
        let held = scratch.open("apply");
        let holder = thread::spawn(move || {
            thread::sleep(held_for);
            drop(held);
        });
        let started = Instant::now();
        let result = StateFile::new(&scratch.path)
            .lock_timeout(timeout)
            .open("plan");
        let waited = started.elapsed();
        match (result, expect_lock) {
            (Ok(_), true) => assert!(waited >= Duration::from_millis(150), "{waited:?}"),
            (Err(StateError::Locked { .. }), false) => {
                assert!(
                    waited >= timeout && waited < held_for,
                    "{timeout:?}: {waited:?}"
                )
            }
            (result, _) => panic!("timeout {timeout:?}: unexpected {:?}", result.map(|_| ())),
        }
        holder.join().unwrap();
    }
}

#[test]
fn concurrent_updates_from_many_threads_are_all_kept() {
    fn assert_shareable<T: Send + Sync>() {}
    assert_shareable::<LockedState>();

    let scratch = Scratch::new();
    let locked = Arc::new(scratch.open("apply"));
    let threads = 6;
    let writes_per_thread = 15;
    let workers: Vec<_> = (0..threads)
        .map(|thread_index| {
            let locked = Arc::clone(&locked);
            thread::spawn(move || {
                for write in 0..writes_per_thread {
                    let address = format!("service.worker-{thread_index}[{write}]");
                    locked.set_resource(resource(&address)).expect("write");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("writer thread");
    }
    let total = (threads * writes_per_thread) as u64;
    let on_disk = state::read_unlocked(&scratch.path).expect("a valid file");
    assert_eq!(on_disk.serial, total);
    assert_eq!(on_disk.resources.len() as u64, total);
    assert_eq!(on_disk, locked.state());
}

#[test]
fn json_is_pretty_with_sorted_keys() {
    let scratch = Scratch::new();
    let lineage = "3f1a8d3e-1111-4222-8333-444455556666";
    fs::write(
        &scratch.path,
        format!(r#"{{"version": 1, "serial": 4, "lineage": "{lineage}"}}"#),
    )
    .unwrap();
    let locked = scratch.open("apply");
    locked
        .update(|state| {
            let mut api = resource("service.auth-api");
            // Inserted out of order at every level.
            api.attributes = json!({"ports": [{"to": 80, "from": 8080}], "image": "yoyo"})
                .as_object()
                .cloned()
                .unwrap();
            api.sensitive_attributes.clear();
            state.resources.insert(api.address.clone(), api);
            let mut network = resource("network.platform");
            network.attributes.clear();
            network.dependencies.clear();
            state.resources.insert(network.address.clone(), network);
            state.outputs.insert(
                "url".to_owned(),
                OutputState {
                    value: "http://127.0.0.1:8080".to_owned(),
                    sensitive: false,
                },
            );
        })
        .unwrap();
    let zeros = "0".repeat(64);
    let expected = format!(
        r#"{{
  "version": 1,
  "serial": 5,
  "lineage": "{lineage}",
  "yoyoform_version": "9.9.9",
  "resources": {{
    "network.platform": {{
      "address": "network.platform",
      "kind": "network",
      "docker_ids": [
        "id-of-network.platform"
      ],
      "config_hash": "{zeros}",
      "attributes": {{}},
      "sensitive_attributes": [
        "env"
      ],
      "dependencies": []
    }},
    "service.auth-api": {{
      "address": "service.auth-api",
      "kind": "service",
      "docker_ids": [
        "id-of-service.auth-api"
      ],
      "config_hash": "{zeros}",
      "attributes": {{
        "image": "yoyo",
        "ports": [
          {{
            "from": 8080,
            "to": 80
          }}
        ]
      }},
      "sensitive_attributes": [],
      "dependencies": [
        "network.platform"
      ]
    }}
  }},
  "outputs": {{
    "url": {{
      "value": "http://127.0.0.1:8080",
      "sensitive": false
    }}
  }}
}}
"#
    );
    assert_eq!(fs::read_to_string(&scratch.path).unwrap(), expected);
}

#[test]
fn a_failed_write_changes_nothing() {
    let scratch = Scratch::new();
    let locked = scratch.open("apply");
    locked.set_resource(resource("network.platform")).unwrap();
    let before_text = fs::read_to_string(&scratch.path).unwrap();
    let before = locked.state();
    // A directory where the backup goes cannot be replaced by a file: the write fails
    // after the temporary file is written and before the rename.
    fs::create_dir(scratch.sibling(".backup")).unwrap();
    fs::write(scratch.sibling(".backup").join("keep"), "x").unwrap();

    let error = locked
        .set_resource(resource("service.auth-api"))
        .expect_err("the backup cannot be made");
    assert!(matches!(error, StateError::Write { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot write state file `{}`: keep the previous state as `{}`: ",
            scratch.path.display(),
            scratch.sibling(".backup").display()
        )),
        "{message}"
    );
    assert_eq!(fs::read_to_string(&scratch.path).unwrap(), before_text);
    assert_eq!(locked.state(), before);
    assert!(!scratch.sibling(".tmp").exists());

    // Once the obstacle is gone the same change goes through with the next serial.
    fs::remove_dir_all(scratch.sibling(".backup")).unwrap();
    assert_eq!(
        locked.set_resource(resource("service.auth-api")).unwrap(),
        2
    );
}
