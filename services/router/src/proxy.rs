//! The request handler: route, forward, stream the answer back, log one line.

use crate::access_log::{self, RequestLine};
use crate::balancer::Balancer;
use crate::config::Config;
use crate::connection_pool::ConnectionPool;
use crate::forwarded_headers::{
    X_REQUEST_ID, forwarded_prefix, request_id, upstream_request_fields,
};
use crate::idle_body::IdleTimeout;
use crate::json_reply;
use crate::request_path::RequestPath;
use crate::response_body::ResponseBody;
use crate::retry_body::RetryBody;
use crate::route_table::RouteTable;
use crate::upstream_http1::{ExchangeError, RequestFraming, UpstreamBody, write_request_head};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_LENGTH, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Version};
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, warn};

/// At most this many addresses are tried for one request when connecting fails.
const MAX_CONNECT_ATTEMPTS: usize = 3;

/// The proxy of one worker: route table, balancing state and the worker's upstream
/// connection pool.
pub struct Proxy {
    table: RouteTable,
    balancer: Arc<Balancer>,
    pool: Arc<ConnectionPool>,
    upstream_timeout: Duration,
    /// Each route's `X-Forwarded-Prefix`, in the table's order.
    forwarded_prefixes: Vec<Option<HeaderValue>>,
    /// Whether the per-request line is wanted (`RUST_LOG` lets `info` through for
    /// `router::proxy`); the filter does not change while the router runs.
    log_requests: bool,
}

/// What is logged about a request besides its method, path, status and duration.
#[derive(Default)]
struct Trail<'a> {
    route: Option<&'a str>,
    upstream: Option<&'a str>,
    addr: Option<SocketAddr>,
}

/// Why no upstream answer could be had.
enum Failure {
    /// No upstream host of the route resolved.
    Unresolvable,
    /// Every attempt failed to connect (the last error is kept).
    Connect(std::io::Error),
    /// Connected, but the exchange failed before a response head arrived.
    Exchange(std::io::Error),
    /// The request target could not be rebuilt for the upstream.
    BadTarget,
}

/// How one attempt at one address failed.
enum AttemptError {
    /// No connection could be made: nothing was sent.
    Connect(std::io::Error),
    /// The request went out (at least in part) and no response head came back.
    Exchange(std::io::Error),
}

impl Proxy {
    /// A proxy for `config`'s routes and timeouts, balancing with `balancer` (shared by
    /// the workers) over a connection pool of its own.
    pub fn new(config: &Config, balancer: Arc<Balancer>) -> Self {
        Proxy {
            balancer,
            table: config.routes.clone(),
            forwarded_prefixes: config
                .routes
                .routes()
                .iter()
                .map(|route| forwarded_prefix(&route.prefix))
                .collect(),
            pool: Arc::new(ConnectionPool::new(config.connect_timeout)),
            upstream_timeout: config.upstream_timeout,
            log_requests: tracing::enabled!(tracing::Level::INFO),
        }
    }

    /// Answers one request from the client whose IP address, as text, is `client_ip`.
    /// Never fails: every problem is a JSON answer.
    pub async fn handle(
        &self,
        client_ip: &[u8],
        request: Request<Incoming>,
    ) -> Response<ResponseBody> {
        let started = Instant::now();
        let request_id = request_id(request.headers());
        let method = request.method().clone();
        // A cheap copy (shared bytes) of what the log line needs once the request is gone.
        let uri = request.uri().clone();
        let mut trail = Trail::default();

        let mut response = self
            .route(client_ip, request, &request_id, started, &mut trail)
            .await;
        response
            .headers_mut()
            .insert(X_REQUEST_ID, request_id.clone());

        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let status = response.status().as_u16();
        let request_id = request_id.to_str().unwrap_or("-");
        let path = uri.path();
        if trail.route.is_none() && status == 200 {
            // The router's own health answer, asked for every second by Docker.
            debug!(%method, %path, status, ms, %request_id, "health");
        } else if self.log_requests {
            access_log::record(&RequestLine {
                method: &method,
                path,
                route: trail.route,
                upstream: trail.upstream,
                addr: trail.addr,
                status,
                ms,
                request_id,
            });
        }
        response
    }

    async fn route<'s>(
        &'s self,
        client_ip: &[u8],
        request: Request<Incoming>,
        request_id: &HeaderValue,
        arrived: Instant,
        trail: &mut Trail<'s>,
    ) -> Response<ResponseBody> {
        let path = match RequestPath::parse(request.uri().path()) {
            Ok(path) => path,
            Err(error) => return json_reply::error(StatusCode::BAD_REQUEST, error.to_string()),
        };
        if path.is(&["health"]) {
            return health(request.method());
        }
        let Some(found) = self.table.find(&path) else {
            let message = format!("No route for {}", request.uri().path());
            return json_reply::error(StatusCode::NOT_FOUND, message);
        };
        let route = &self.table.routes()[found.index];
        trail.route = Some(&route.prefix);

        let mut target = found.upstream_path;
        if let Some(query) = request.uri().query() {
            target.push('?');
            target.push_str(query);
        }
        let (parts, body) = request.into_parts();
        let body = RetryBody::new(body);
        let framing = if body.is_end_stream() {
            RequestFraming::Empty
        } else if parts.headers.contains_key(CONTENT_LENGTH) {
            RequestFraming::Length
        } else {
            RequestFraming::Chunked
        };
        let mut head = Vec::with_capacity(512);

        let exchange = async {
            let candidates = self.balancer.candidates(found.index, arrived).await;
            if candidates.is_empty() {
                return Err(Failure::Unresolvable);
            }
            let mut candidates = candidates;
            let mut last_connect_error = None;
            let mut last_exchange_error = None;
            // The addresses tried so far (a fixed array: a Vec cost an allocation per request).
            let mut tried = [None; MAX_CONNECT_ATTEMPTS];
            let mut attempts = 0;
            let mut looked_again = false;
            while attempts < MAX_CONNECT_ATTEMPTS {
                let untried = candidates
                    .iter()
                    .find(|candidate| !tried.contains(&Some(candidate.addr)))
                    .cloned();
                let Some(candidate) = untried else {
                    // Every known address refused: the service may have just been replaced
                    // (new container, new address). Look it up once more before giving up.
                    if looked_again {
                        break;
                    }
                    looked_again = true;
                    // The failures marked the answers stale, so this looks them up again.
                    candidates = self.balancer.candidates(found.index, arrived).await;
                    continue;
                };
                // Once an attempt has read from the client's body, another could not send it
                // whole.
                if !body.is_untouched() {
                    break;
                }
                tried[attempts] = Some(candidate.addr);
                attempts += 1;
                let upstream = &route.upstreams[candidate.upstream];
                trail.upstream = Some(&upstream.authority);
                trail.addr = Some(candidate.addr);
                head.clear();
                write_request_head(
                    &mut head,
                    &parts.method,
                    &target,
                    |put| {
                        upstream_request_fields(
                            &parts.headers,
                            client_ip,
                            self.forwarded_prefixes[found.index].as_ref(),
                            request_id,
                            &upstream.host_header,
                            put,
                        );
                    },
                    framing,
                );

                let sent = self
                    .send(
                        candidate.addr,
                        &parts.method,
                        &head,
                        &body,
                        framing,
                        arrived,
                    )
                    .await;
                match sent {
                    Ok(response) => return Ok(response),
                    Err(AttemptError::Connect(error)) => {
                        warn!(
                            upstream = %upstream.authority,
                            addr = %candidate.addr,
                            error = %error_chain(&error),
                            "could not connect to upstream"
                        );
                        self.balancer
                            .connect_failed(found.index, candidate.upstream);
                        last_connect_error = Some(error);
                    }
                    // A pooled connection the upstream closed as the request went out (a
                    // container stopping during a replacement): a request that is safe to
                    // repeat goes to another address; any other would risk doing it twice.
                    Err(AttemptError::Exchange(error)) if is_idempotent(&parts.method) => {
                        warn!(
                            upstream = %upstream.authority,
                            addr = %candidate.addr,
                            error = %error_chain(&error),
                            "upstream dropped the request; trying another address"
                        );
                        self.balancer
                            .connect_failed(found.index, candidate.upstream);
                        last_exchange_error = Some(error);
                    }
                    Err(AttemptError::Exchange(error)) => return Err(Failure::Exchange(error)),
                }
            }
            // `candidates` is not empty, so at least one attempt was made.
            match (last_exchange_error, last_connect_error) {
                (Some(error), _) => Err(Failure::Exchange(error)),
                (None, error) => Err(error.map_or(Failure::BadTarget, Failure::Connect)),
            }
        };

        match tokio::time::timeout(self.upstream_timeout, exchange).await {
            Ok(Ok(response)) => upstream_response(response, self.upstream_timeout),
            Ok(Err(failure)) => self.failure_response(failure, &route.prefix, trail),
            Err(_) => json_reply::error(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "Upstream of {} did not answer within {} ms",
                    route.prefix,
                    self.upstream_timeout.as_millis()
                ),
            ),
        }
    }

    /// Sends the request (`head`, then the client's `body` framed as `framing`) to `addr`
    /// over an idle pooled connection, or a new one, and reads the response head.
    async fn send(
        &self,
        addr: SocketAddr,
        method: &Method,
        head: &[u8],
        body: &RetryBody,
        framing: RequestFraming,
        arrived: Instant,
    ) -> Result<Response<UpstreamBody>, AttemptError> {
        let used_up = || {
            AttemptError::Exchange(std::io::Error::other(
                "the request body was already sent to another address",
            ))
        };
        if let Some(connection) = self.pool.checkout(addr, arrived) {
            let attempt = body.attempt().ok_or_else(used_up)?;
            match connection
                .exchange(method, head, attempt, framing, &self.pool, addr)
                .await
            {
                Ok(response) => return Ok(response),
                // The upstream had closed the pooled connection: nothing was sent, so a
                // new connection may carry the request, whatever the method.
                Err(ExchangeError::NotSent(_)) => {}
                Err(ExchangeError::Failed(error)) => return Err(AttemptError::Exchange(error)),
            }
        }
        let connection = self
            .pool
            .connect(addr)
            .await
            .map_err(AttemptError::Connect)?;
        let attempt = body.attempt().ok_or_else(used_up)?;
        connection
            .exchange(method, head, attempt, framing, &self.pool, addr)
            .await
            .map_err(
                |(ExchangeError::NotSent(error) | ExchangeError::Failed(error))| {
                    AttemptError::Exchange(error)
                },
            )
    }

    fn failure_response(
        &self,
        failure: Failure,
        prefix: &str,
        trail: &Trail<'_>,
    ) -> Response<ResponseBody> {
        match failure {
            Failure::Unresolvable => json_reply::error(
                StatusCode::BAD_GATEWAY,
                format!("Upstream of {prefix} could not be resolved"),
            ),
            Failure::Connect(error) if is_timeout(&error) => json_reply::error(
                StatusCode::GATEWAY_TIMEOUT,
                format!("Upstream of {prefix} did not accept a connection in time"),
            ),
            Failure::Connect(_) => json_reply::error(
                StatusCode::BAD_GATEWAY,
                format!("Upstream of {prefix} is unreachable"),
            ),
            Failure::Exchange(error) => {
                warn!(
                    upstream = trail.upstream.unwrap_or("-"),
                    error = %error_chain(&error),
                    "upstream exchange failed"
                );
                json_reply::error(
                    StatusCode::BAD_GATEWAY,
                    format!("Upstream of {prefix} closed the connection without an answer"),
                )
            }
            Failure::BadTarget => json_reply::error(
                StatusCode::BAD_REQUEST,
                "Request target cannot be forwarded",
            ),
        }
    }
}

/// `GET /health`: answered by the router itself, so Docker's health check tests the
/// router, not whichever service happens to be behind it.
fn health(method: &Method) -> Response<ResponseBody> {
    if method == Method::GET || method == Method::HEAD {
        return json_reply::json(StatusCode::OK, &serde_json::json!({ "healthy": true }));
    }
    let mut response = json_reply::error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// The upstream's response, streamed back (its hop-by-hop headers were left out as it
/// was read); its connection goes back to the pool once the body has been sent on.
fn upstream_response(response: Response<UpstreamBody>, idle: Duration) -> Response<ResponseBody> {
    let (mut parts, body) = response.into_parts();
    // The client's connection has its own version; an HTTP/1.0 backend must not leak it.
    parts.version = Version::HTTP_11;
    Response::from_parts(parts, ResponseBody::Right(IdleTimeout::new(body, idle)))
}

/// Methods whose repetition has the same effect as one request (RFC 9110, 9.2.2).
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

/// Whether the error was a connect timeout (the upstream address is black-holed).
fn is_timeout(error: &(dyn StdError + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        source = current.source();
    }
    false
}

/// An error and its causes on one line, for the log.
fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(current) = source {
        text.push_str(": ");
        text.push_str(&current.to_string());
        source = current.source();
    }
    text
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("table", &self.table)
            .field("upstream_timeout", &self.upstream_timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_timeouts_among_causes() {
        let timed_out = std::io::Error::new(std::io::ErrorKind::TimedOut, "slow");
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "no");
        assert!(is_timeout(&timed_out));
        assert!(!is_timeout(&refused));
    }

    #[test]
    fn health_answers_get_and_head_only() {
        assert_eq!(health(&Method::GET).status(), StatusCode::OK);
        assert_eq!(health(&Method::HEAD).status(), StatusCode::OK);
        let post = health(&Method::POST);
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[ALLOW], "GET, HEAD");
    }
}
