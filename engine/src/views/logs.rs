//! `yoyoform logs`: the output of several processes as `docker compose logs` shows it,
//! each line after its process's name (`service.worker[1] | ...`), the names padded to
//! one width and, on a terminal, coloured per resource.
//!
//! What was written so far comes first, every process's lines together in time order
//! (Docker's time for each line); following, the lines written since come as they come.
//! Docker's `since` takes whole seconds, so the following starts at the second of the
//! last line seen and drops what was seen already, by its time.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use resources::logs::{LogLine, LogsRequest};
use resources::timestamp::Time;

use crate::backend::{Backend, Process};
use crate::config::duration;
use crate::error::Error;

/// The colours of the names, one per resource in turn (Compose's: cyan, yellow, green,
/// magenta, blue, then their bright forms).
const COLOURS: &[&str] = &["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

/// `--since`: a time as Docker takes one. A duration back from `now` (`10m`, `1h`, `30s`,
/// `500ms`), a UNIX timestamp in seconds, or an RFC 3339 time
/// (`2026-12-02T10:00:00Z`, `2026-12-02T11:00:00+01:00`).
pub fn since(text: &str, now: Time) -> Result<Time, String> {
    if let Some(millis) = duration::parse(text) {
        return Ok(now.before(std::time::Duration::from_millis(millis)));
    }
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(Time::from_seconds(seconds));
    }
    Time::parse(text).ok_or_else(|| {
        format!(
            "`{text}` is neither a duration (`10m`, `1h`), a UNIX timestamp nor an RFC 3339 time (`2026-12-02T10:00:00Z`)"
        )
    })
}

/// The logs of some processes.
pub struct Logs<'a> {
    backend: &'a dyn Backend,
    /// The processes that have logs (a container, or a task), each with its prefix.
    processes: Vec<(Process, String)>,
    request: LogsRequest,
    /// Each process's last line shown: following goes on after it.
    seen: BTreeMap<usize, Time>,
}

impl<'a> Logs<'a> {
    /// The logs `request` asks for of `processes`; those that have no container (missing,
    /// or a task not placed yet) have none and are left out. `colour`: the names in
    /// colour.
    pub fn new(
        backend: &'a dyn Backend,
        processes: &[Process],
        request: LogsRequest,
        colour: bool,
    ) -> Logs<'a> {
        let with_logs: Vec<&Process> = processes
            .iter()
            .filter(|process| process.container_id.is_some() || process.task_id.is_some())
            .collect();
        let width = with_logs
            .iter()
            .map(|process| process.name().chars().count())
            .max()
            .unwrap_or(0);
        let mut resources: Vec<String> = Vec::new();
        let processes = with_logs
            .into_iter()
            .map(|process| {
                let name = format!("{:<width$} |", process.name());
                let resource = process.instance.resource.to_string();
                let turn = match resources.iter().position(|seen| *seen == resource) {
                    Some(turn) => turn,
                    None => {
                        resources.push(resource);
                        resources.len() - 1
                    }
                };
                let prefix = if colour {
                    format!("\x1b[{}m{name}\x1b[0m", COLOURS[turn % COLOURS.len()])
                } else {
                    name
                };
                (process.clone(), prefix)
            })
            .collect();
        Logs {
            backend,
            processes,
            request,
            seen: BTreeMap::new(),
        }
    }

    /// Whether any of the processes has logs.
    pub fn is_empty(&self) -> bool {
        self.processes.is_empty()
    }

    /// Every line written so far (of those asked for), all processes together in time
    /// order, each after its process's name.
    pub async fn history(&mut self) -> Result<Vec<String>, Error> {
        let request = LogsRequest {
            follow: false,
            ..self.request
        };
        let backend = self.backend;
        let reads = self.processes.iter().map(|(process, _)| async move {
            let stream = backend.logs(process, &request).await?;
            let lines: Vec<resources::Result<LogLine>> = stream.collect().await;
            lines
                .into_iter()
                .collect::<Result<Vec<LogLine>, _>>()
                .map_err(Error::from)
        });
        let read: Vec<Vec<LogLine>> = futures_util::future::try_join_all(reads).await?;
        let mut merged: Vec<(usize, LogLine)> = Vec::new();
        for (index, lines) in read.into_iter().enumerate() {
            if let Some(last) = lines.last() {
                self.seen.insert(index, last.time);
            }
            merged.extend(lines.into_iter().map(|line| (index, line)));
        }
        // Stable: the lines of one process with the same time keep their order.
        merged.sort_by_key(|(_, line)| line.time);
        Ok(merged
            .into_iter()
            .map(|(index, line)| self.line(index, &line))
            .collect())
    }

    /// The lines written after [`Logs::history`]'s, as they come, until every process has
    /// stopped (or the caller stops reading).
    pub async fn follow(self) -> Result<BoxStream<'static, Result<String, Error>>, Error> {
        let mut streams = Vec::new();
        for (index, (process, prefix)) in self.processes.iter().enumerate() {
            let seen = self.seen.get(&index).copied();
            let request = LogsRequest {
                since: seen.or(self.request.since),
                // All that came since the last line seen; none was there for the others.
                tail: None,
                follow: true,
            };
            let prefix = prefix.clone();
            let stream = self
                .backend
                .logs(process, &request)
                .await?
                .filter_map(move |line| {
                    let shown = match line {
                        Ok(line) if seen.is_some_and(|seen| line.time <= seen) => None,
                        Ok(line) => Some(Ok(format!("{prefix} {}", line.text))),
                        Err(error) => Some(Err(Error::from(error))),
                    };
                    std::future::ready(shown)
                });
            streams.push(stream.boxed());
        }
        Ok(futures_util::stream::select_all(streams).boxed())
    }

    /// One line after its process's name.
    fn line(&self, index: usize, line: &LogLine) -> String {
        format!("{} {}", self.processes[index].1, line.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_duration_a_timestamp_or_a_time() {
        let now = Time::parse("2026-12-02T10:00:00Z").unwrap();
        let at = |text: &str| since(text, now).map(Time::nanos);
        let ten_minutes_ago = Time::parse("2026-12-02T09:50:00Z").unwrap().nanos();
        assert_eq!(at("10m"), Ok(ten_minutes_ago));
        assert_eq!(at("1796030000"), Ok(1_796_030_000_000_000_000));
        assert_eq!(at("2026-12-02T09:50:00Z"), Ok(ten_minutes_ago));
        assert_eq!(at("2026-12-02T10:50:00+01:00"), Ok(ten_minutes_ago));
        assert_eq!(
            at("yesterday"),
            Err("`yesterday` is neither a duration (`10m`, `1h`), a UNIX timestamp nor an RFC 3339 time (`2026-12-02T10:00:00Z`)".to_owned())
        );
    }
}
