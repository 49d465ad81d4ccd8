//! `yoyoform ps`: one line per process, in aligned columns under a header (as `docker
//! compose ps`), or one JSON object each.

use std::time::Duration;

use resources::container::HealthStatus;
use resources::timestamp::Time;

use super::state_text;
use crate::backend::Process;

/// The columns, in order.
const HEADER: [&str; 6] = ["ADDRESS", "CONTAINER", "STATE", "HEALTH", "PORTS", "UPTIME"];
/// Between two columns.
const GAP: &str = "   ";

/// The table, header first; `now` dates the uptimes.
pub fn table(processes: &[Process], now: Time) -> String {
    let mut rows = vec![HEADER.map(str::to_owned)];
    for process in processes {
        let ports = if process.ports.is_empty() {
            "-".to_owned()
        } else {
            process.ports.join(", ")
        };
        let uptime = match process.started_at {
            Some(started) if process.running() => format!("Up {}", human(now.since(started))),
            _ => "-".to_owned(),
        };
        rows.push([
            process.name(),
            process.container.clone(),
            state_text(process),
            health(process).unwrap_or("-").to_owned(),
            ports,
            uptime,
        ]);
    }
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for row in rows {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            if column > 0 {
                line.push_str(GAP);
            }
            line.push_str(&format!("{cell:<width$}", width = widths[column]));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// One object per process: `address`, `container`, `state`, `exit_code`, `health`,
/// `ports`, `uptime_seconds` (null when it does not run), `backend`.
pub fn json(processes: &[Process], now: Time) -> serde_json::Value {
    processes
        .iter()
        .map(|process| {
            let uptime = process
                .started_at
                .filter(|_| process.running())
                .map(|started| now.since(started).as_secs());
            serde_json::json!({
                "address": process.name(),
                "container": process.container,
                "state": process.state,
                "exit_code": process.exit_code,
                "health": health(process),
                "ports": process.ports,
                "uptime_seconds": uptime,
                "backend": process.target.name(),
            })
        })
        .collect()
}

/// Docker's word for the health check's verdict.
fn health(process: &Process) -> Option<&'static str> {
    process.health.map(|health| match health {
        HealthStatus::Healthy => "healthy",
        HealthStatus::Unhealthy => "unhealthy",
        HealthStatus::Starting => "starting",
    })
}

/// A duration as `docker ps` says one (`3 minutes`, `About an hour`): Docker's
/// `HumanDuration`, so the two read alike side by side.
pub fn human(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let minutes = seconds / 60;
    // Docker rounds the hours (and counts days, weeks, months from them).
    let hours = (duration.as_secs_f64() / 3600.0).round() as u64;
    match () {
        _ if seconds < 1 => "Less than a second".to_owned(),
        _ if seconds == 1 => "1 second".to_owned(),
        _ if seconds < 60 => format!("{seconds} seconds"),
        _ if minutes == 1 => "About a minute".to_owned(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".to_owned(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", seconds / 3600 / 24 / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Target;
    use crate::plan::Instance;

    #[test]
    fn durations_read_as_dockers() {
        let table = [
            (0, "Less than a second"),
            (1, "1 second"),
            (59, "59 seconds"),
            (60, "About a minute"),
            (119, "About a minute"),
            (120, "2 minutes"),
            (3599, "59 minutes"),
            (3600, "About an hour"),
            (5399, "About an hour"),
            (5400, "2 hours"),
            (47 * 3600, "47 hours"),
            (48 * 3600, "2 days"),
            (14 * 24 * 3600, "2 weeks"),
            (60 * 24 * 3600, "2 months"),
            (730 * 24 * 3600, "2 years"),
        ];
        for (seconds, text) in table {
            assert_eq!(human(Duration::from_secs(seconds)), text, "{seconds}s");
        }
    }

    #[test]
    fn columns_line_up_under_the_header() {
        let now = Time::parse("2026-12-02T10:00:00Z").unwrap();
        let web = Process {
            ports: vec!["127.0.0.1:8080->5000/tcp".to_owned()],
            health: Some(HealthStatus::Healthy),
            started_at: Some(now.before(Duration::from_secs(180))),
            state: "running".to_owned(),
            container: "p-web".to_owned(),
            ..Process::missing(&Instance::parse("service.web").unwrap(), Target::Docker, "")
        };
        let job = Process {
            state: "exited".to_owned(),
            exit_code: Some(0),
            container: "p-seed".to_owned(),
            ..Process::missing(&Instance::parse("job.seed").unwrap(), Target::Docker, "")
        };
        let gone = Process::missing(
            &Instance::parse("service.worker[1]").unwrap(),
            Target::Docker,
            "p-worker-1",
        );
        assert_eq!(
            table(&[job, web.clone(), gone], now),
            "ADDRESS             CONTAINER    STATE        HEALTH    PORTS                      UPTIME\n\
             job.seed            p-seed       exited (0)   -         -                          -\n\
             service.web         p-web        running      healthy   127.0.0.1:8080->5000/tcp   Up 3 minutes\n\
             service.worker[1]   p-worker-1   missing      -         -                          -\n"
        );
        assert_eq!(
            json(&[web], now),
            serde_json::json!([{
                "address": "service.web", "container": "p-web", "state": "running",
                "exit_code": null, "health": "healthy",
                "ports": ["127.0.0.1:8080->5000/tcp"], "uptime_seconds": 180, "backend": "docker",
            }])
        );
    }
}
