//! Spreading requests over a route's upstreams and over every address each resolves to.
//!
//! In Docker, the n replicas of a service share a network alias and the embedded DNS
//! answers with all their addresses, so the balancer resolves each upstream host itself
//! and round-robins over the flattened list of (upstream, address) pairs. Answers are
//! cached for [`REFRESH_AFTER`], so scaling a service up or down needs no router change.
//! A stale answer is looked up again before it is used (Docker's DNS answers in well
//! under a millisecond): serving it meanwhile would send the first request after a
//! replacement to the old container's address, where it waits out the connect timeout.
//! A connection failure marks the upstream's answer stale at once.

use crate::route_table::{Route, RouteTable};
use crate::upstream::Upstream;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::{debug, warn};

/// How long a DNS answer is used before it is looked up again.
pub const REFRESH_AFTER: Duration = Duration::from_secs(3);

/// One address to try, with the upstream it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Index of the upstream within its route.
    pub upstream: usize,
    /// Address to connect to.
    pub addr: SocketAddr,
}

/// The balancing state of every route of a table, in the table's order.
#[derive(Debug)]
pub struct Balancer {
    routes: Vec<RouteState>,
    lookup_timeout: Duration,
}

#[derive(Debug)]
struct RouteState {
    next: AtomicUsize,
    upstreams: Vec<Arc<UpstreamState>>,
}

#[derive(Debug)]
struct UpstreamState {
    upstream: Upstream,
    answer: Mutex<Option<Answer>>,
}

#[derive(Debug, Clone)]
struct Answer {
    addrs: Arc<[SocketAddr]>,
    fresh_until: Instant,
    /// Set when connecting to one of the addresses failed: looked up again before use,
    /// whatever the time (a flag, not a time, because requests compare freshness with
    /// their own arrival, which may be earlier than the failure).
    stale: bool,
}

impl Balancer {
    /// Balancing state for `table`; DNS lookups give up after `lookup_timeout`.
    pub fn new(table: &RouteTable, lookup_timeout: Duration) -> Self {
        let routes = table
            .routes()
            .iter()
            .map(|route: &Route| RouteState {
                next: AtomicUsize::new(0),
                upstreams: route
                    .upstreams
                    .iter()
                    .map(|upstream| {
                        Arc::new(UpstreamState {
                            upstream: upstream.clone(),
                            answer: Mutex::new(None),
                        })
                    })
                    .collect(),
            })
            .collect();
        Balancer {
            routes,
            lookup_timeout,
        }
    }

    /// The addresses to try for one request to route `route`, in order: the first is the
    /// round-robin choice, the others are fallbacks should it refuse the connection.
    /// Empty when no upstream host resolves. `now` is the request's arrival (a clock
    /// read saved: answers stay fresh for seconds).
    pub async fn candidates(&self, route: usize, now: Instant) -> Vec<Candidate> {
        let state = &self.routes[route];
        let mut all = Vec::new();
        for (index, upstream) in state.upstreams.iter().enumerate() {
            let addrs = upstream.addresses(self.lookup_timeout, now).await;
            all.extend(addrs.iter().map(|addr| Candidate {
                upstream: index,
                addr: *addr,
            }));
        }
        if !all.is_empty() {
            let start = state.next.fetch_add(1, Ordering::Relaxed) % all.len();
            all.rotate_left(start);
        }
        all
    }

    /// Notes that connecting to an address of `upstream` of route `route` failed, so its
    /// DNS answer is refreshed on the next request.
    pub fn connect_failed(&self, route: usize, upstream: usize) {
        let state = &self.routes[route].upstreams[upstream];
        if let Some(answer) = lock(&state.answer).as_mut() {
            answer.stale = true;
        }
    }
}

impl UpstreamState {
    async fn addresses(
        self: &Arc<Self>,
        lookup_timeout: Duration,
        now: Instant,
    ) -> Arc<[SocketAddr]> {
        let cached = lock(&self.answer).clone();
        match cached {
            Some(answer) if !answer.stale && answer.fresh_until > now => answer.addrs,
            // Stale or never looked up; a failed lookup keeps the old answer.
            _ => self.refresh(lookup_timeout).await,
        }
    }

    /// Looks the host up and stores the answer. A failed or empty lookup keeps the old
    /// answer (a DNS hiccup should not take a healthy service away).
    async fn refresh(&self, lookup_timeout: Duration) -> Arc<[SocketAddr]> {
        let host = (self.upstream.host.as_str(), self.upstream.port);
        let looked_up = tokio::time::timeout(lookup_timeout, tokio::net::lookup_host(host)).await;
        let found: Result<Vec<SocketAddr>, String> = match looked_up {
            Ok(Ok(addrs)) => {
                let mut addrs: Vec<SocketAddr> = addrs.collect();
                // A stable order keeps the round-robin even across refreshes.
                addrs.sort();
                addrs.dedup();
                Ok(addrs)
            }
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {lookup_timeout:?}")),
        };
        let mut answer = lock(&self.answer);
        match found {
            Ok(addrs) if !addrs.is_empty() => {
                debug!(upstream = %self.upstream.authority, ?addrs, "resolved upstream");
                let addrs: Arc<[SocketAddr]> = addrs.into();
                *answer = Some(Answer {
                    addrs: Arc::clone(&addrs),
                    fresh_until: Instant::now() + REFRESH_AFTER,
                    stale: false,
                });
                addrs
            }
            failed => {
                let reason = failed.err().unwrap_or_else(|| "no addresses".into());
                warn!(upstream = %self.upstream.authority, %reason, "could not resolve upstream");
                match answer.as_mut() {
                    Some(old) => {
                        old.fresh_until = Instant::now() + REFRESH_AFTER;
                        old.stale = false;
                        Arc::clone(&old.addrs)
                    }
                    None => Arc::from(Vec::new()),
                }
            }
        }
    }
}

/// Locks a mutex, recovering it if a panicking thread poisoned it: the data is a cache
/// that is always in a usable state.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_robins_over_upstreams() {
        let table = RouteTable::parse(
            "/a=http://127.0.0.1:5001|http://127.0.0.1:5002|http://127.0.0.1:5003",
        )
        .unwrap();
        let balancer = Balancer::new(&table, Duration::from_secs(1));
        let mut firsts = Vec::new();
        for _ in 0..6 {
            let candidates = balancer.candidates(0, Instant::now()).await;
            assert_eq!(candidates.len(), 3, "every upstream is a fallback");
            firsts.push(candidates[0].addr.port());
        }
        assert_eq!(firsts, [5001, 5002, 5003, 5001, 5002, 5003]);
    }

    #[tokio::test]
    async fn unresolvable_hosts_give_no_candidates() {
        let table = RouteTable::parse("/a=http://no-such-host.invalid:1").unwrap();
        let balancer = Balancer::new(&table, Duration::from_secs(2));
        assert!(balancer.candidates(0, Instant::now()).await.is_empty());
    }

    #[tokio::test]
    async fn serves_a_stale_answer_while_it_is_refreshed() {
        let table = RouteTable::parse("/a=http://127.0.0.1:5001").unwrap();
        let balancer = Balancer::new(&table, Duration::from_secs(1));
        let first = balancer.candidates(0, Instant::now()).await;
        balancer.connect_failed(0, 0);
        // The answer is stale now; it is still served while the refresh runs.
        assert_eq!(balancer.candidates(0, Instant::now()).await, first);
    }
}
