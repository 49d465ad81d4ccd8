//! Running the real `yoyoform` binary from a test: one small builder, and a result that,
//! when it is not what the test expected, panics with everything needed to see why (the
//! command, its folder, its exit status, stdout and stderr), as ripgrep's test helpers do.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// One `yoyoform` command line, run in a chosen folder with no terminal on stdin.
pub struct Yoyoform {
    dir: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    deadline: Duration,
}

impl Yoyoform {
    /// The binary cargo built for this package, to be run in `dir`.
    pub fn new(dir: impl AsRef<Path>) -> Yoyoform {
        Yoyoform {
            dir: dir.as_ref().to_path_buf(),
            args: Vec::new(),
            env: Vec::new(),
            // Long enough for a first apply that compiles four release binaries on two
            // cores; a hung command still ends the test instead of blocking CI forever.
            deadline: Duration::from_secs(20 * 60),
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Yoyoform
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|arg| arg.as_ref().to_os_string()));
        self
    }

    /// Sets an environment variable for it.
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Yoyoform {
        self.env
            .push((name.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// Runs it to the end (killing it if it outlives the deadline) and keeps what it said.
    pub fn run(&self) -> Ran {
        let started = Instant::now();
        let mut command = Command::new(env!("CARGO_BIN_EXE_yoyoform"));
        command
            .args(&self.args)
            .current_dir(&self.dir)
            // No terminal: apply and destroy must not wait for a `yes` nobody can type.
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // The command line alone decides; a developer's shell must not leak in.
            .env_remove("YOYOFORM_PROJECT")
            .envs(self.env.iter().map(|(name, value)| (name, value)));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("YOYOFORM_VAR_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", self.describe()));
        let stdout = drain(child.stdout.take().expect("piped stdout"));
        let stderr = drain(child.stderr.take().expect("piped stderr"));
        let status = wait_until(&mut child, started + self.deadline);
        let timed_out = status.is_none();
        let status = status.unwrap_or_else(|| {
            // Killed, not left running: the test owns this process.
            let _ = child.kill();
            child.wait().expect("waiting for the killed yoyoform")
        });
        Ran {
            command: self.describe(),
            status,
            timed_out,
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
            elapsed: started.elapsed(),
        }
    }

    fn describe(&self) -> String {
        let mut text = String::from("yoyoform");
        for arg in &self.args {
            text.push(' ');
            text.push_str(&arg.to_string_lossy());
        }
        format!("{text}  (in {})", self.dir.display())
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().expect("waiting for yoyoform") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// What one run of `yoyoform` did.
pub struct Ran {
    /// The command line and its folder, for failure reports.
    pub command: String,
    /// How it ended.
    pub status: ExitStatus,
    /// True when the deadline ran out and the test killed it.
    pub timed_out: bool,
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
    /// How long it took.
    pub elapsed: Duration,
}

impl Ran {
    /// Panics with the whole run unless it exited with `code`; returns itself for more checks.
    pub fn code(self, code: i32) -> Ran {
        if self.timed_out || self.status.code() != Some(code) {
            self.fail(&format!("expected exit code {code}"));
        }
        self
    }

    /// Panics with the whole run unless stdout contains `text`.
    pub fn stdout_has(self, text: &str) -> Ran {
        if !self.stdout.contains(text) {
            self.fail(&format!("expected stdout to contain {text:?}"));
        }
        self
    }

    /// Panics with the whole run unless stdout is exactly `text`.
    pub fn stdout_is(self, text: &str) -> Ran {
        if self.stdout != text {
            self.fail(&format!("expected stdout to be exactly:\n{text}"));
        }
        self
    }

    /// Panics with the whole run unless stderr is exactly `text`.
    pub fn stderr_is(self, text: &str) -> Ran {
        if self.stderr != text {
            self.fail(&format!("expected stderr to be exactly:\n{text}"));
        }
        self
    }

    /// Panics with the whole run unless stderr contains `text`.
    pub fn stderr_has(self, text: &str) -> Ran {
        if !self.stderr.contains(text) {
            self.fail(&format!("expected stderr to contain {text:?}"));
        }
        self
    }

    /// Panics with `why` and the whole run.
    pub fn fail(&self, why: &str) -> ! {
        panic!("{why}\n\n{self}");
    }
}

impl fmt::Display for Ran {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ending = if self.timed_out {
            "killed after the deadline".to_owned()
        } else {
            self.status.to_string()
        };
        write!(
            f,
            "command: {}\nstatus: {ending} after {:.1?}\n\
             ---------------- stdout ----------------\n{}\n\
             ---------------- stderr ----------------\n{}\n\
             ----------------------------------------",
            self.command, self.elapsed, self.stdout, self.stderr
        )
    }
}
