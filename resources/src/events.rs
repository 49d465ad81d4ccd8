//! Docker's events about one container, which the waits of [`crate::container`] react to
//! instead of looking every so often.
//!
//! Polling every 250 ms made yoyoform see a container turn healthy 125 ms late on average
//! (up to 250 ms), once per layer of the dependency chain: about a third of a second per
//! layer of a cold up was yoyoform's own. Docker says `health_status: healthy`, `die` or
//! `start` the moment it happens; a waiter re-reads the container then, and only then.
//!
//! The subscription replays from the container's creation (`since`, by the daemon's own
//! clock, which it wrote into the container), so nothing that happens between the first
//! look and the subscription is missed. Should the stream break (a daemon restarting, a
//! proxy in between cutting long requests), the watch falls back to looking every
//! [`FALLBACK_POLL`]: slower, never wrong.

use std::collections::HashMap;
use std::pin::Pin;
use std::time::Duration;

use bollard::models::EventMessage;
use bollard::query_parameters::EventsOptions;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use crate::docker::Docker;
use crate::timestamp::Time;

/// How often a watch whose stream broke looks at the container instead.
const FALLBACK_POLL: Duration = Duration::from_millis(250);

/// The container events that can change what a wait decides: its health, its process
/// ending or starting again (a restart policy at work), its removal. (Docker matches
/// `health_status` against `health_status: healthy` and the others as a prefix; the
/// health checks' own `exec_*` events, several a second, are left out.)
const ACTIONS: [&str; 4] = ["health_status", "die", "start", "destroy"];

type Events<'a> =
    Pin<Box<dyn Stream<Item = Result<EventMessage, bollard::errors::Error>> + Send + 'a>>;

/// What [`Watch::next`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Docker said something about the container (or, without a stream, a poll is due):
    /// look at it again.
    Changed,
    /// The time given came first.
    Deadline,
}

/// One container's events, from its creation on.
pub(crate) struct Watch<'a> {
    docker: &'a Docker,
    id: String,
    /// The container's creation by the daemon's clock, as `since` takes it.
    since: Option<String>,
    events: Option<Events<'a>>,
    /// The stream ended or failed: poll from now on.
    broken: bool,
}

impl<'a> Watch<'a> {
    /// A watch of container `id`, created at `created` (by the daemon's clock; `None`
    /// when unknown: only what happens from the subscription on is seen, so the caller
    /// must look at the container after the first [`Watch::next`] anyway, as it does).
    pub(crate) fn new(docker: &'a Docker, id: &str, created: Option<Time>) -> Watch<'a> {
        Watch {
            docker,
            id: id.to_string(),
            since: created.map(|time| {
                let nanos = time.nanos();
                format!(
                    "{}.{:09}",
                    nanos.div_euclid(1_000_000_000),
                    nanos.rem_euclid(1_000_000_000)
                )
            }),
            events: None,
            broken: false,
        }
    }

    /// Waits until Docker says something about the container, or until `deadline`.
    pub(crate) async fn next(&mut self, deadline: Instant) -> Seen {
        if self.broken {
            let poll = Instant::now() + FALLBACK_POLL;
            tokio::time::sleep_until(poll.min(deadline)).await;
            return if poll <= deadline {
                Seen::Changed
            } else {
                Seen::Deadline
            };
        }
        if self.events.is_none() {
            let filters = HashMap::from([
                ("container".to_string(), vec![self.id.clone()]),
                ("type".to_string(), vec!["container".to_string()]),
                (
                    "event".to_string(),
                    ACTIONS.iter().map(|action| action.to_string()).collect(),
                ),
            ]);
            let options = EventsOptions {
                since: self.since.clone(),
                until: None,
                filters: Some(filters),
            };
            self.events = Some(Box::pin(self.docker.client().events(Some(options))));
        }
        let events = self.events.as_mut().expect("the stream was just opened");
        tokio::select! {
            event = events.next() => {
                if !matches!(event, Some(Ok(_))) {
                    self.broken = true;
                    self.events = None;
                }
                Seen::Changed
            }
            _ = tokio::time::sleep_until(deadline) => Seen::Deadline,
        }
    }
}
