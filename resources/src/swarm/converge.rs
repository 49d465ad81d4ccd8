//! Waiting on swarm: until a service runs what it was last given, or until a job's run has
//! completed. Swarm does the work on its own once a service is made or updated; these say
//! when it is done, or name the task whose failure means it will not be.
//!
//! What this daemon showed (Docker 20.10): a task with a health check stays `starting` until
//! the check first passes, then is `running`; a container that cannot start fails its task
//! with `starting container failed: ...`, one that exits with `task: non-zero exit (N)`, one
//! that becomes unhealthy with `task: non-zero exit (137): dockerexec: unhealthy container`;
//! swarm starts a failed task again after the restart delay (5 s by default), as a new task
//! in the same slot, and keeps the failed ones in the list. An update whose new task fails
//! within the monitor period goes `updating` → `rollback_started` → `rollback_completed`.

use std::time::{Duration, Instant};

use bollard::models::{
    Service, ServiceUpdateStatusStateEnum, Task as RawTask, TaskSpec,
    TaskSpecRestartPolicyConditionEnum, TaskState as RawState,
};

use crate::docker::Docker;
use crate::error::{Error, Result};
use crate::swarm::service::inspect_raw;
use crate::swarm::task::{Timestamp, created, list_raw, task};

/// How often the service and its tasks are looked at.
const POLL: Duration = Duration::from_millis(250);
/// How many failed tasks (of the current spec, since it was given) make a service that
/// swarm keeps restarting a failure rather than something still to wait for.
const FAILURES_BEFORE_GIVING_UP: usize = 3;

/// Waits until the service (name or id) runs its current spec: every replica's task is
/// `running` (so healthy, when it has a health check) and runs the current spec, no
/// rolling update is under way, and there are as many such tasks as replicas.
///
/// Fails with [`Error::ServiceFailed`] naming the task and swarm's message (e.g. `task 3
/// failed: starting container failed: ...`) when tasks of the current spec fail three
/// times (once, when the restart condition is `none`: nothing will replace them), or when
/// the service's update ended `rollback_completed`, `paused` or `rollback_paused`; with
/// [`Error::ServiceTimeout`], saying what is still pending, after `timeout`.
pub async fn wait_converged(docker: &Docker, service: &str, timeout: Duration) -> Result<()> {
    wait(docker, service, timeout, replicated_progress).await
}

/// Waits until the current run of a job service (name or id) has completed: `Ok` once its
/// task exited 0; [`Error::ServiceFailed`] with the task's message when it failed (and,
/// with a restart condition other than `none`, failed three times);
/// [`Error::ServiceTimeout`] after `timeout`.
pub async fn wait_job(docker: &Docker, service: &str, timeout: Duration) -> Result<()> {
    wait(docker, service, timeout, job_progress).await
}

/// Whether a task failed because Docker could not mount its secrets: "unable to remount
/// dir as readonly: mount tmpfs:.../mounts/secrets ...: device or resource busy", a race
/// in the daemon (moby/moby#48783, seen here on 20.10 under load and reported on 28.0)
/// that makes swarm roll back an update with nothing wrong in it.
pub fn secrets_mount_race(message: &str) -> bool {
    message.contains("unable to remount") && message.contains("/mounts/secrets")
}

/// Where a service is, seen from its spec and tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Progress {
    /// Converged (or the job completed).
    Done,
    /// It will not: why.
    Failed(String),
    /// Not yet: what is missing.
    Pending(String),
}

/// Polls `progress` until it is done, has failed, or `timeout` has passed.
async fn wait(
    docker: &Docker,
    service: &str,
    timeout: Duration,
    progress: fn(&Service, &[RawTask]) -> Progress,
) -> Result<()> {
    let began = Instant::now();
    loop {
        let Some(found) = inspect_raw(docker, service).await? else {
            return Err(Error::ServiceFailed {
                service: service.to_string(),
                message: "it was removed while we waited for it".to_string(),
            });
        };
        let id = found.id.clone().unwrap_or_else(|| service.to_string());
        let tasks = list_raw(docker, &id).await?;
        let pending = match progress(&found, &tasks) {
            Progress::Done => return Ok(()),
            Progress::Failed(message) => {
                return Err(Error::ServiceFailed {
                    service: service.to_string(),
                    message,
                });
            }
            Progress::Pending(pending) => pending,
        };
        let elapsed = began.elapsed();
        if elapsed >= timeout {
            return Err(Error::ServiceTimeout {
                service: service.to_string(),
                waited: elapsed,
                pending,
            });
        }
        tokio::time::sleep(POLL.min(timeout - elapsed)).await;
    }
}

/// The progress of a replicated service.
fn replicated_progress(service: &Service, tasks: &[RawTask]) -> Progress {
    let spec = service.spec.clone().unwrap_or_default();
    let template = spec.task_template.unwrap_or_default();
    let mode = spec.mode.unwrap_or_default();
    let Some(replicas) = mode.replicated.map(|r| r.replicas.unwrap_or(0)) else {
        return Progress::Failed("it is not a replicated service (a job?)".to_string());
    };
    let replicas = usize::try_from(replicas).unwrap_or(usize::MAX);
    let status = service.update_status.clone().unwrap_or_default();
    let state = status.state.unwrap_or(ServiceUpdateStatusStateEnum::EMPTY);
    let message = status.message.unwrap_or_default();
    let current = |task: &RawTask| runs(task, &template);
    use ServiceUpdateStatusStateEnum as Update;
    if matches!(
        state,
        Update::ROLLBACK_COMPLETED | Update::PAUSED | Update::ROLLBACK_PAUSED
    ) {
        // Swarm has given up on the update; the task that made it is among those made
        // since it started, whichever spec they ran.
        let since = Timestamp::parse(status.started_at.as_deref().unwrap_or(""));
        let failure = tasks
            .iter()
            .rfind(|task| failed(task) && created(task) >= since)
            .map(|task| format!("; {}", describe_failure(task)))
            .unwrap_or_default();
        return Progress::Failed(format!("its update ended {state} ({message}){failure}"));
    }
    let updating = matches!(state, Update::UPDATING | Update::ROLLBACK_STARTED);
    if !updating {
        // While an update is under way, swarm judges its failures (and rolls back).
        let since = Timestamp::parse(service.updated_at.as_deref().unwrap_or(""));
        let failures: Vec<&RawTask> = tasks
            .iter()
            .filter(|task| failed(task) && current(task) && created(task) >= since)
            .collect();
        if let Some(last) = failures.last()
            && failures.len() >= failure_limit(&template)
        {
            return Progress::Failed(describe_failure(last));
        }
    }
    let desired: Vec<&RawTask> = tasks
        .iter()
        .filter(|task| task.desired_state == Some(RawState::RUNNING))
        .collect();
    let ready = desired
        .iter()
        .filter(|task| state_of(task) == Some(RawState::RUNNING) && current(task))
        .count();
    if !updating && ready == replicas && desired.len() == replicas {
        return Progress::Done;
    }
    let mut pending = vec![format!("{ready} of {replicas} tasks running")];
    for raw in &desired {
        let seen = task(raw);
        if seen.state == crate::swarm::task::TaskState::Running && current(raw) {
            continue;
        }
        let mut line = format!("{} {}", seen.label(), seen.state);
        if !current(raw) {
            line.push_str(" (previous spec)");
        }
        if let Some(error) = &seen.error {
            line.push_str(&format!(": {error}"));
        }
        pending.push(line);
    }
    if updating {
        pending.push(format!("update {state} ({message})"));
    }
    Progress::Pending(pending.join("; "))
}

/// The progress of a job's current run.
fn job_progress(service: &Service, tasks: &[RawTask]) -> Progress {
    let spec = service.spec.clone().unwrap_or_default();
    if spec.mode.unwrap_or_default().replicated_job.is_none() {
        return Progress::Failed("it is not a job".to_string());
    }
    let template = spec.task_template.unwrap_or_default();
    // Each run of a job (its creation, each update) is an iteration; swarm omits a 0.
    let iteration = |version: Option<&bollard::models::ObjectVersion>| {
        version.and_then(|version| version.index).unwrap_or(0)
    };
    let current = iteration(
        service
            .job_status
            .as_ref()
            .and_then(|status| status.job_iteration.as_ref()),
    );
    let run: Vec<&RawTask> = tasks
        .iter()
        .filter(|task| iteration(task.job_iteration.as_ref()) == current)
        .collect();
    if run
        .iter()
        .any(|task| state_of(task) == Some(RawState::COMPLETE))
    {
        return Progress::Done;
    }
    let failures: Vec<&&RawTask> = run.iter().filter(|task| failed(task)).collect();
    if let Some(last) = failures.last()
        && failures.len() >= failure_limit(&template)
    {
        return Progress::Failed(describe_failure(last));
    }
    match run.last() {
        None => Progress::Pending("no task yet".to_string()),
        Some(raw) => {
            let seen = task(raw);
            let error = seen
                .error
                .as_ref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            Progress::Pending(format!("{} {}{error}", seen.label(), seen.state))
        }
    }
}

/// How many failures of the current spec it takes to give up: one when nothing restarts a
/// failed task.
fn failure_limit(template: &TaskSpec) -> usize {
    let condition = template
        .restart_policy
        .as_ref()
        .and_then(|policy| policy.condition);
    if condition == Some(TaskSpecRestartPolicyConditionEnum::NONE) {
        1
    } else {
        FAILURES_BEFORE_GIVING_UP
    }
}

/// Whether a task runs `template`. Swarm copies the service's task template into each task
/// it makes, less the `Runtime` field (Docker 20.10 reports it on the service only).
fn runs(task: &RawTask, template: &TaskSpec) -> bool {
    let Some(spec) = &task.spec else { return false };
    let without_runtime = |spec: &TaskSpec| TaskSpec {
        runtime: None,
        ..spec.clone()
    };
    without_runtime(spec) == without_runtime(template)
}

fn state_of(task: &RawTask) -> Option<RawState> {
    task.status.as_ref().and_then(|status| status.state)
}

fn failed(task: &RawTask) -> bool {
    matches!(state_of(task), Some(RawState::FAILED | RawState::REJECTED))
}

/// `task 3 failed: <what swarm said>`.
fn describe_failure(raw: &RawTask) -> String {
    let seen = task(raw);
    let what = seen.error.as_ref().unwrap_or(&seen.message);
    format!("{} {}: {what}", seen.label(), seen.state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secrets_mount_race_is_told_from_other_failures() {
        let race = "service `u06f` failed: its update ended rollback_completed (rollback \
             completed); task 1 failed: starting container failed: unable to remount dir as \
             readonly: mount tmpfs:/var/lib/docker/containers/0412/mounts/secrets, flags: \
             0x21, data: uid=0,gid=0: device or resource busy";
        assert!(secrets_mount_race(race));
        let exited = "task 1 failed: task: non-zero exit (1)";
        assert!(!secrets_mount_race(exited));
    }
    use bollard::models::{
        ObjectVersion, ServiceJobStatus, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated,
        ServiceSpecModeReplicatedJob, ServiceUpdateStatus, TaskSpecContainerSpec,
        TaskSpecRestartPolicy, TaskStatus,
    };

    fn template(image: &str) -> TaskSpec {
        TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(image.into()),
                ..Default::default()
            }),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::ANY),
                ..Default::default()
            }),
            runtime: Some("container".into()),
            ..Default::default()
        }
    }

    fn service(
        replicas: i64,
        image: &str,
        update: Option<ServiceUpdateStatusStateEnum>,
    ) -> Service {
        Service {
            id: Some("svc".into()),
            updated_at: Some("2026-01-01T00:00:10Z".into()),
            spec: Some(ServiceSpec {
                mode: Some(ServiceSpecMode {
                    replicated: Some(ServiceSpecModeReplicated {
                        replicas: Some(replicas),
                    }),
                    ..Default::default()
                }),
                task_template: Some(template(image)),
                ..Default::default()
            }),
            update_status: update.map(|state| ServiceUpdateStatus {
                state: Some(state),
                started_at: Some("2026-01-01T00:00:10Z".into()),
                message: Some("update rolled back due to failure".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// A task of `slot` made at second `at`, running `image`, without the runtime field.
    fn task(slot: i64, at: u32, image: &str, desired: RawState, state: RawState) -> RawTask {
        RawTask {
            id: Some(format!("task{slot}at{at}")),
            slot: Some(slot),
            created_at: Some(format!("2026-01-01T00:00:{at:02}.5Z")),
            spec: Some(TaskSpec {
                runtime: None,
                ..template(image)
            }),
            desired_state: Some(desired),
            status: Some(TaskStatus {
                state: Some(state),
                err: (state == RawState::FAILED)
                    .then(|| "starting container failed: no such file".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    use RawState::{FAILED, PREPARING, RUNNING, SHUTDOWN, STARTING};

    #[test]
    fn a_replicated_service_converges_when_every_replica_runs_the_current_spec() {
        let cases: Vec<(&str, Service, Vec<RawTask>, &str)> = vec![
            (
                "all running",
                service(2, "a:2", None),
                vec![
                    task(1, 11, "a:2", RUNNING, RUNNING),
                    task(2, 11, "a:2", RUNNING, RUNNING),
                ],
                "done",
            ),
            (
                "one still starting (its health check)",
                service(2, "a:2", None),
                vec![
                    task(1, 11, "a:2", RUNNING, RUNNING),
                    task(2, 11, "a:2", RUNNING, STARTING),
                ],
                "1 of 2 tasks running; task 2 starting",
            ),
            (
                "scaled up, the new replica not there yet",
                service(3, "a:2", None),
                vec![
                    task(1, 1, "a:2", RUNNING, RUNNING),
                    task(2, 1, "a:2", RUNNING, RUNNING),
                ],
                "2 of 3 tasks running",
            ),
            (
                "updated, the updater not started yet: old tasks do not count",
                service(1, "a:3", None),
                vec![task(1, 1, "a:2", RUNNING, RUNNING)],
                "0 of 1 tasks running; task 1 running (previous spec)",
            ),
            (
                "an update under way",
                service(1, "a:2", Some(ServiceUpdateStatusStateEnum::UPDATING)),
                vec![task(1, 11, "a:2", RUNNING, RUNNING)],
                "1 of 1 tasks running; update updating (update rolled back due to failure)",
            ),
            (
                "an old task replaced, shut down",
                service(1, "a:2", Some(ServiceUpdateStatusStateEnum::COMPLETED)),
                vec![
                    task(1, 1, "a:1", SHUTDOWN, SHUTDOWN),
                    task(1, 11, "a:2", RUNNING, RUNNING),
                ],
                "done",
            ),
            (
                "failing twice is still pending",
                service(1, "a:2", None),
                vec![
                    task(1, 11, "a:2", SHUTDOWN, FAILED),
                    task(1, 12, "a:2", SHUTDOWN, FAILED),
                    task(1, 13, "a:2", RUNNING, PREPARING),
                ],
                "0 of 1 tasks running; task 1 preparing",
            ),
            (
                "failing three times is a failure",
                service(1, "a:2", None),
                vec![
                    task(1, 11, "a:2", SHUTDOWN, FAILED),
                    task(1, 12, "a:2", SHUTDOWN, FAILED),
                    task(1, 13, "a:2", SHUTDOWN, FAILED),
                    task(1, 14, "a:2", RUNNING, PREPARING),
                ],
                "failed: task 1 failed: starting container failed: no such file",
            ),
            (
                "failures before the last update do not count",
                service(1, "a:2", None),
                vec![
                    task(1, 1, "a:2", SHUTDOWN, FAILED),
                    task(1, 2, "a:2", SHUTDOWN, FAILED),
                    task(1, 3, "a:2", SHUTDOWN, FAILED),
                    task(1, 11, "a:2", RUNNING, RUNNING),
                ],
                "done",
            ),
            (
                "an update rolled back",
                service(
                    1,
                    "a:1",
                    Some(ServiceUpdateStatusStateEnum::ROLLBACK_COMPLETED),
                ),
                vec![
                    task(1, 1, "a:1", SHUTDOWN, SHUTDOWN),
                    task(1, 11, "a:2", SHUTDOWN, FAILED),
                    task(1, 12, "a:1", RUNNING, RUNNING),
                ],
                "failed: its update ended rollback_completed (update rolled back due to \
                 failure); task 1 failed: starting container failed: no such file",
            ),
        ];
        for (name, service, tasks, expected) in cases {
            let got = match replicated_progress(&service, &tasks) {
                Progress::Done => "done".to_string(),
                Progress::Failed(message) => format!("failed: {message}"),
                Progress::Pending(pending) => pending,
            };
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn a_failure_is_final_at_once_when_nothing_restarts_it() {
        let mut service = service(1, "a:2", None);
        let template = service
            .spec
            .as_mut()
            .unwrap()
            .task_template
            .as_mut()
            .unwrap();
        template.restart_policy.as_mut().unwrap().condition =
            Some(TaskSpecRestartPolicyConditionEnum::NONE);
        let mut failed = task(1, 11, "a:2", SHUTDOWN, FAILED);
        failed.spec.as_mut().unwrap().restart_policy = template.restart_policy.clone();
        assert_eq!(
            replicated_progress(&service, &[failed]),
            Progress::Failed("task 1 failed: starting container failed: no such file".into())
        );
    }

    #[test]
    fn a_job_is_done_when_its_current_run_completed() {
        let job = |iteration: u64| Service {
            spec: Some(ServiceSpec {
                mode: Some(ServiceSpecMode {
                    replicated_job: Some(ServiceSpecModeReplicatedJob::default()),
                    ..Default::default()
                }),
                task_template: Some(template("j:1")),
                ..Default::default()
            }),
            job_status: Some(ServiceJobStatus {
                job_iteration: Some(ObjectVersion {
                    index: (iteration > 0).then_some(iteration),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let run = |iteration: u64, state: RawState| RawTask {
            id: Some(format!("jobtask{iteration}xxxxxxxx")),
            job_iteration: Some(ObjectVersion {
                index: (iteration > 0).then_some(iteration),
            }),
            status: Some(TaskStatus {
                state: Some(state),
                err: (state == FAILED).then(|| "task: non-zero exit (3)".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            job_progress(&job(0), &[run(0, RawState::COMPLETE)]),
            Progress::Done
        );
        // The completion of an earlier run says nothing of this one.
        assert_eq!(
            job_progress(&job(7), &[run(0, RawState::COMPLETE), run(7, STARTING)]),
            Progress::Pending("task jobtask7xxxx starting".into())
        );
        assert_eq!(
            job_progress(&job(0), &[]),
            Progress::Pending("no task yet".into())
        );
        let three = [run(0, FAILED), run(0, FAILED), run(0, FAILED)];
        assert_eq!(
            job_progress(&job(0), &three),
            Progress::Failed("task jobtask0xxxx failed: task: non-zero exit (3)".into())
        );
        assert_eq!(
            replicated_progress(&job(0), &[]),
            Progress::Failed("it is not a replicated service (a job?)".into())
        );
    }
}
