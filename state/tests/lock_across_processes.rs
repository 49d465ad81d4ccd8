//! The lock between two processes: refused with the holder's details while held, free again
//! when the holder exits, even when it is killed without any chance to clean up.
//!
//! The binary plays both parts: run by the test runner it is the test; run with
//! `STATE_TEST_HOLD_LOCK=<path>` it is the other process, which locks `<path>`, records a
//! resource, says `locked` on stdout and holds on until its stdin closes.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use state::{ResourceState, StateError, StateFile};

const HOLD_LOCK: &str = "STATE_TEST_HOLD_LOCK";

const TESTS: [(&str, fn()); 2] = [
    (
        "refused_with_holder_details_and_free_after_a_crash",
        refused_with_holder_details_and_free_after_a_crash,
    ),
    (
        "a_waiting_open_gets_the_lock_when_the_holder_exits",
        a_waiting_open_gets_the_lock_when_the_holder_exits,
    ),
];

fn main() {
    if let Ok(path) = std::env::var(HOLD_LOCK) {
        hold_lock(Path::new(&path));
        return;
    }
    if std::env::args().any(|arg| arg == "--list") {
        for (name, _) in TESTS {
            println!("{name}: test");
        }
        return;
    }
    for (name, test) in TESTS {
        test();
        println!("test {name} ... ok");
    }
}

/// The other process.
fn hold_lock(path: &Path) {
    let locked = state::open(path, "apply").expect("holder: open the state");
    locked
        .set_resource(ResourceState {
            address: "network.platform".to_owned(),
            kind: "network".to_owned(),
            backend: None,
            docker_ids: vec!["n1".to_owned()],
            config_hash: String::new(),
            attributes: Default::default(),
            sensitive_attributes: Vec::new(),
            dependencies: Vec::new(),
            tainted: false,
        })
        .expect("holder: write the state");
    let mut stdout = std::io::stdout();
    writeln!(stdout, "locked")
        .and_then(|()| stdout.flush())
        .expect("holder: report");
    // Wait for the test to close our stdin (or die with it).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(locked);
}

/// The holding process, killed when the test ends however it ends.
struct Holder {
    child: Child,
}

impl Holder {
    /// Starts the other process and waits until it holds the lock.
    fn start(path: &Path) -> Holder {
        let exe = std::env::current_exe().expect("path of this test binary");
        let child = Command::new(&exe)
            .env(HOLD_LOCK, path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("start `{}`: {error}", exe.display()));
        let mut holder = Holder { child };
        let stdout: ChildStdout = holder.child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the holder's stdout");
        assert_eq!(line, "locked\n", "the holder did not take the lock");
        holder
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn refused_with_holder_details_and_free_after_a_crash() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("env.tfstate");
    let mut holder = Holder::start(&path);

    let error = StateFile::new(&path)
        .open("plan")
        .expect_err("another process holds the lock");
    let StateError::Locked { holder: info, .. } = &error else {
        panic!("expected Locked, got {error:?}");
    };
    assert_eq!(info.pid, holder.pid());
    assert_eq!(info.operation, "apply");
    let message = error.to_string();
    let expected_start = format!(
        "state file `{}` is locked by {}@{} (pid {}, apply) since ",
        path.display(),
        info.user,
        info.host,
        holder.pid()
    );
    assert!(message.starts_with(&expected_start), "{message}");

    // What the holder wrote is readable without the lock.
    let seen = state::read_unlocked(&path).expect("read while locked");
    assert_eq!(seen.serial, 1);

    // A crash: SIGKILL gives no chance to unlock or clear the lock file. The kernel drops
    // the flock with the process, so the lock is not stale.
    holder.child.kill().expect("kill the holder");
    holder.child.wait().expect("reap the holder");
    let locked = StateFile::new(&path)
        .open("apply")
        .expect("the lock died with its holder");
    assert_eq!(locked.state(), seen);
    let lock_file = std::fs::read_to_string(dir.path().join("env.tfstate.lock")).unwrap();
    assert!(
        lock_file.contains(&format!("\"pid\":{}", std::process::id())),
        "the new holder records itself: {lock_file}"
    );
}

fn a_waiting_open_gets_the_lock_when_the_holder_exits() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("env.tfstate");
    let mut holder = Holder::start(&path);
    let stdin = holder.child.stdin.take().expect("piped stdin");
    let release = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        drop(stdin); // the holder exits normally
    });

    let started = Instant::now();
    let locked = StateFile::new(&path)
        .lock_timeout(Duration::from_secs(20))
        .open("apply")
        .expect("the lock once the holder exits");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "did not wait: {waited:?}"
    );
    assert_eq!(locked.serial(), 1);
    release.join().expect("release thread");
    let status = holder.child.wait().expect("reap the holder");
    assert!(status.success(), "the holder failed: {status}");
}
