//! Running a command in a container that runs, as `docker exec` does: its input, output
//! and error attached to streams the caller gives (the binary gives its own), optionally
//! on a terminal (TTY) of the container's, resized as the caller's is. The caller gets the
//! command's exit status.

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::docker::Docker;
use crate::error::{Error, Result, docker as docker_error};

/// The command, and how it is attached.
pub struct Exec {
    /// The program and its arguments (no shell: give `sh -c '...'` for one).
    pub command: Vec<String>,
    /// Run it on a terminal of the container's; its output and error come as one stream
    /// then, written to `stdout`.
    pub tty: bool,
    /// What it reads, chunk by chunk; its input is closed when this ends.
    pub stdin: BoxStream<'static, Vec<u8>>,
    /// Where its output goes.
    pub stdout: Box<dyn AsyncWrite + Send + Unpin>,
    /// Where its error goes.
    pub stderr: Box<dyn AsyncWrite + Send + Unpin>,
    /// The caller's terminal size (rows, columns) as it changes, the first one at once;
    /// only with `tty`.
    pub sizes: BoxStream<'static, (u16, u16)>,
}

/// Runs `exec` in the container `container` (id or name) and returns the command's exit
/// status once its output has ended. Docker's own codes apply: 126 when the command cannot
/// be run, 127 when it is not found.
pub async fn run(docker: &Docker, container: &str, exec: Exec) -> Result<i64> {
    let failed = || docker_error("running a command in", "container", container);
    let client = docker.client();
    let options = CreateExecOptions {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(exec.tty),
        cmd: Some(exec.command.clone()),
        ..Default::default()
    };
    let created = client
        .create_exec(container, options)
        .await
        .map_err(failed())?;
    let start = StartExecOptions {
        detach: false,
        tty: exec.tty,
        output_capacity: None,
    };
    let started = client
        .start_exec(&created.id, Some(start))
        .await
        .map_err(failed())?;
    let StartExecResults::Attached {
        mut output,
        mut input,
    } = started
    else {
        return Err(Error::InvalidSpec {
            container: container.to_owned(),
            message: "Docker started the command detached, though asked to attach".to_owned(),
        });
    };
    // The input is fed on a task of its own: the command may end before its input does
    // (which then is never read to the end), and its end is what ends this.
    let mut stdin = exec.stdin;
    let feeding = tokio::spawn(async move {
        while let Some(chunk) = stdin.next().await {
            if input.write_all(&chunk).await.is_err() || input.flush().await.is_err() {
                return;
            }
        }
        // End of input: the command reads EOF.
        let _ = input.shutdown().await;
    });
    let (mut stdout, mut stderr) = (exec.stdout, exec.stderr);
    let mut sizes = if exec.tty {
        exec.sizes
    } else {
        futures_util::stream::empty().boxed()
    };
    let ended = loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(LogOutput::StdErr { message })) => {
                    let _ = stderr.write_all(&message).await;
                    let _ = stderr.flush().await;
                }
                Some(Ok(other)) => {
                    let _ = stdout.write_all(other.as_ref()).await;
                    let _ = stdout.flush().await;
                }
                Some(Err(error)) => break Err(failed()(error)),
                None => break Ok(()),
            },
            Some((rows, columns)) = sizes.next() => {
                let size = bollard::exec::ResizeExecOptions { height: rows, width: columns };
                // A resize that fails leaves the terminal as it was: not worth stopping for.
                let _ = client.resize_exec(&created.id, size).await;
            }
        }
    };
    feeding.abort();
    ended?;
    let inspected = client.inspect_exec(&created.id).await.map_err(failed())?;
    Ok(inspected.exit_code.unwrap_or(-1))
}
