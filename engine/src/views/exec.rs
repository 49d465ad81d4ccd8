//! `yoyoform exec ADDRESS -- COMMAND...`: a command in the container of one process, as
//! `docker compose exec` runs one: this process's input, output and error attached, on a
//! terminal of the container's when the input is a terminal, the command's exit status
//! returned.
//!
//! A name that picks several processes (a resource with replicas, a swarm service with
//! several tasks) runs the command in the first, as Compose takes the first container
//! (`--index 1`) of a service; [`pick`] says so, for the binary to tell.

use std::io::{IsTerminal, Read};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use resources::exec::Exec;
use state::State;
use tokio::io::AsyncWrite;

use super::{ViewError, processes, state_text};
use crate::backend::{Backend, Process};
use crate::error::Error;

/// The process a name picks, and, when it picked the first of several, a note saying so.
pub struct Picked {
    /// Where the command runs.
    pub process: Process,
    /// `service.web has 3 instances; running in service.web[0] ...`.
    pub note: Option<String>,
}

/// The process `name` picks: the one it names, or the first of those it names.
pub async fn pick(state: &State, backend: &dyn Backend, name: &str) -> Result<Picked, ViewError> {
    let mut found = processes(state, backend, &[name.to_owned()]).await?;
    let note = (found.len() > 1).then(|| {
        format!(
            "`{name}` has {} instances; running in `{}` (name another one, e.g. `{}`, to run there)",
            found.len(),
            found[0].name(),
            found[1].name()
        )
    });
    Ok(Picked {
        process: found.remove(0),
        note,
    })
}

/// Runs `command` in `process` with this process's input, the given output and error,
/// and returns the command's exit status.
pub async fn run(
    backend: &dyn Backend,
    process: &Process,
    command: Vec<String>,
    stdout: Box<dyn AsyncWrite + Send + Unpin>,
    stderr: Box<dyn AsyncWrite + Send + Unpin>,
) -> Result<i64, Error> {
    if !process.running() {
        return Err(Error::NotRunning {
            process: process.name(),
            state: state_text(process),
        });
    }
    let tty = std::io::stdin().is_terminal();
    // Keys go to the container's terminal as typed (Ctrl-C included), until it ends.
    let _raw = if tty { RawTerminal::enter() } else { None };
    let exec = Exec {
        command,
        tty,
        stdin: stdin(),
        stdout,
        stderr,
        sizes: if tty {
            sizes()
        } else {
            futures_util::stream::empty().boxed()
        },
    };
    backend.exec(process, exec).await
}

/// This process's input, chunk by chunk. Read on a thread of its own, which is left
/// behind when the command ends first: a read from a terminal cannot be cancelled, and
/// the process ends soon after anyway.
fn stdin() -> BoxStream<'static, Vec<u8>> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    std::thread::spawn(move || {
        let mut input = std::io::stdin().lock();
        let mut buffer = vec![0; 8192];
        loop {
            match input.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(read) => {
                    if sender.blocking_send(buffer[..read].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        let chunk = receiver.recv().await?;
        Some((chunk, receiver))
    })
    .boxed()
}

/// The terminal's size now, then each time it changes (SIGWINCH).
fn sizes() -> BoxStream<'static, (u16, u16)> {
    let now = futures_util::stream::iter(terminal_size());
    let changes = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change());
    let Ok(changes) = changes else {
        return now.boxed();
    };
    let later = futures_util::stream::unfold(changes, |mut changes| async move {
        changes.recv().await?;
        Some((terminal_size(), changes))
    })
    .filter_map(std::future::ready);
    now.chain(later).boxed()
}

/// The rows and columns of the terminal on standard input.
fn terminal_size() -> Option<(u16, u16)> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the winsize it is given, on a valid descriptor.
    let asked = unsafe { libc::ioctl(libc::STDIN_FILENO, libc::TIOCGWINSZ, &mut size) };
    (asked == 0 && size.ws_row > 0).then_some((size.ws_row, size.ws_col))
}

/// The terminal on standard input in raw mode (no echo, no line editing, no signals from
/// keys: all of it is the container terminal's), put back as it was when dropped.
struct RawTerminal {
    saved: libc::termios,
}

impl RawTerminal {
    /// `None` when the terminal cannot be read or set: the command runs all the same.
    fn enter() -> Option<RawTerminal> {
        // SAFETY: tcgetattr fills the termios it is given; cfmakeraw and tcsetattr take a
        // valid one.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) != 0 {
                return None;
            }
            Some(RawTerminal { saved })
        }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        // SAFETY: restoring the settings read from the same descriptor.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}
