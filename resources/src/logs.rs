//! The logs of a container, or of a swarm task (wherever in the swarm it runs: the manager
//! fetches them), line by line, each with the time Docker received it, so that the lines
//! of several can be put in time order.

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::docker::Docker;
use crate::error::{Result, docker as docker_error};
use crate::timestamp::Time;

/// Which lines to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogsRequest {
    /// Only the lines received at or after this time.
    pub since: Option<Time>,
    /// Only the last this many lines (of those since `since`).
    pub tail: Option<u64>,
    /// Go on with the lines written from now on, until the container stops.
    pub follow: bool,
}

/// Where a line was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Standard output (and a terminal's output, for a container with a TTY).
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When Docker received it.
    pub time: Time,
    /// Where it was written.
    pub output: Output,
    /// The line, without its end of line.
    pub text: String,
}

/// Lines as they come; the stream ends with the logs (when following: when the container
/// stops).
pub type LogStream = BoxStream<'static, Result<LogLine>>;

/// The logs of the container `id`.
pub fn container(docker: &Docker, id: &str, request: &LogsRequest) -> LogStream {
    let frames = docker.client().logs(id, Some(options(request)));
    lines(frames, request.since, "container", id)
}

/// The logs of the swarm task `id`.
pub fn task(docker: &Docker, id: &str, request: &LogsRequest) -> LogStream {
    let frames = docker.client().task_logs(id, Some(options(request)));
    lines(frames, request.since, "task", id)
}

/// Docker's query: both outputs, with timestamps (the key of the time order).
fn options(request: &LogsRequest) -> LogsOptions {
    LogsOptions {
        follow: request.follow,
        stdout: true,
        stderr: true,
        // Docker takes whole seconds; the lines of the second before `since` are dropped
        // here.
        since: request.since.map_or(0, |since| {
            i32::try_from(since.seconds()).unwrap_or(i32::MAX)
        }),
        until: 0,
        timestamps: true,
        tail: request
            .tail
            .map_or_else(|| "all".to_owned(), |tail| tail.to_string()),
    }
}

/// Docker's frames as lines. A frame is usually one line; a long line comes in several
/// frames and a frame may hold several lines: each line that starts with a timestamp
/// starts a line, and text without one goes on with the time of the line before.
fn lines(
    frames: impl futures_util::Stream<Item = std::result::Result<LogOutput, bollard::errors::Error>>
    + Send
    + 'static,
    since: Option<Time>,
    kind: &'static str,
    id: &str,
) -> LogStream {
    let id = id.to_owned();
    let mut last = Time::from_seconds(0);
    frames
        .map(move |frame| -> Vec<Result<LogLine>> {
            let frame = match frame {
                Ok(frame) => frame,
                Err(error) => {
                    return vec![Err(docker_error("reading the logs of", kind, &id)(error))];
                }
            };
            let output = match frame {
                LogOutput::StdErr { .. } => Output::Stderr,
                _ => Output::Stdout,
            };
            let text = String::from_utf8_lossy(frame.as_ref()).into_owned();
            let mut lines = Vec::new();
            for piece in text.split_terminator('\n') {
                let (time, text) = split_time(piece).unwrap_or((last, piece));
                last = time;
                if since.is_some_and(|since| time < since) {
                    continue;
                }
                let text = text.strip_suffix('\r').unwrap_or(text).to_owned();
                lines.push(Ok(LogLine { time, output, text }));
            }
            lines
        })
        .flat_map(futures_util::stream::iter)
        .boxed()
}

/// `2026-12-02T10:04:05.123456789Z text` → the time and the text.
fn split_time(line: &str) -> Option<(Time, &str)> {
    let (stamp, text) = line.split_once(' ').unwrap_or((line, ""));
    Some((Time::parse(stamp)?, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> std::result::Result<LogOutput, bollard::errors::Error> {
        Ok(LogOutput::StdOut {
            message: text.to_owned().into_bytes().into(),
        })
    }

    fn read(
        frames: Vec<std::result::Result<LogOutput, bollard::errors::Error>>,
        since: Option<Time>,
    ) -> Vec<(i128, String)> {
        let stream = lines(futures_util::stream::iter(frames), since, "container", "c");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let lines: Vec<Result<LogLine>> = runtime.block_on(stream.collect());
        lines
            .into_iter()
            .map(|line| {
                let line = line.unwrap();
                (line.time.nanos() % 1_000_000_000, line.text)
            })
            .collect()
    }

    #[test]
    fn frames_become_timed_lines() {
        let frames = vec![
            frame("2026-12-02T10:00:00.1Z first\n"),
            frame("2026-12-02T10:00:00.2Z two\n2026-12-02T10:00:00.3Z in one frame\n"),
            frame("no time: the line before's\n"),
            frame("2026-12-02T10:00:00.4Z \n"),
            frame("2026-12-02T10:00:00.5Z crlf\r\n"),
        ];
        assert_eq!(
            read(frames, None),
            [
                (100_000_000, "first".to_owned()),
                (200_000_000, "two".to_owned()),
                (300_000_000, "in one frame".to_owned()),
                (300_000_000, "no time: the line before's".to_owned()),
                (400_000_000, String::new()),
                (500_000_000, "crlf".to_owned()),
            ]
        );
    }

    #[test]
    fn lines_before_since_are_dropped_to_the_nanosecond() {
        let frames = vec![
            frame("2026-12-02T10:00:00.1Z early\n"),
            frame("2026-12-02T10:00:00.3Z late\n"),
        ];
        let since = Time::parse("2026-12-02T10:00:00.2Z");
        assert_eq!(read(frames, since), [(300_000_000, "late".to_owned())]);
    }
}
