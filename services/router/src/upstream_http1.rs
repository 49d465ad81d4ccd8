//! The router's HTTP/1.1 client side: one keep-alive connection to an upstream address,
//! driven by the task of the request that uses it.
//!
//! hyper's client connection runs as a task of its own, fed through channels: each
//! proxied request went request task -> channel -> connection task -> socket and back
//! through a one-shot channel and a body channel, with two task wake-ups per request, and
//! the outgoing headers were first built into a `HeaderMap` for hyper to write out. Here
//! the request task writes the request head straight from the client's headers into one
//! buffer, sends it, and reads the response itself; the response body is read from the
//! socket as the client's connection asks for it, by [`UpstreamBody`], which gives the
//! connection back to the pool once the response is complete.
//!
//! What is supported is what a reverse proxy in front of HTTP/1.x services needs:
//! request bodies of known length or of unknown length (sent chunked); responses
//! delimited by `Content-Length`, by chunked coding (trailers are read and dropped) or by
//! the end of the connection; interim 1xx responses skipped; no body for `HEAD`, 204 and
//! 304. Protocol upgrades are not (the router strips `Upgrade`).

use crate::connection_pool::ConnectionPool;
use crate::forwarded_headers::{connection_listed_name, is_hop_by_hop};
use crate::retry_body::AttemptBody;
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use hyper::header::{
    CONNECTION, CONTENT_LENGTH, HeaderMap, HeaderName, HeaderValue, TRANSFER_ENCODING,
};
use hyper::{Method, Response, StatusCode, Version};
use std::future::Future;
use std::io::{self, ErrorKind};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest response head accepted; a longer one is an invalid answer.
const MAX_HEAD_LEN: usize = 64 * 1024;
/// Most response header fields accepted.
const MAX_HEADERS: usize = 100;
/// Longest chunk-size line (with extensions) accepted in a chunked response.
const MAX_CHUNK_LINE: usize = 4096;
/// How much is asked of the socket at a time.
const READ_SIZE: usize = 16 * 1024;

/// An open connection to one upstream address, between requests or carrying one.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    /// Bytes read from the upstream and not used yet.
    buffer: BytesMut,
    /// Whether an earlier request went over this connection.
    reused: bool,
}

/// How an exchange failed.
#[derive(Debug)]
pub enum ExchangeError {
    /// Nothing reached the upstream: the request head could not be written on a
    /// connection that had carried earlier requests (the upstream had closed it). The
    /// request may go out again on a new connection, whatever its method.
    NotSent(io::Error),
    /// The request went out, at least in part, and no complete response head came back.
    Failed(io::Error),
}

/// How the request body is framed on the way to the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFraming {
    /// No body.
    Empty,
    /// As many bytes as the `Content-Length` passed on with the headers says.
    Length,
    /// Chunked coding (a `Transfer-Encoding: chunked` header is written).
    Chunked,
}

impl Connection {
    /// Opens a connection to `addr`.
    pub async fn connect(addr: SocketAddr) -> io::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buffer: BytesMut::new(),
            reused: false,
        })
    }

    /// Whether an idle connection can carry another request: the upstream has neither
    /// closed it nor sent anything unasked. Costs no system call while the socket has
    /// reported nothing since it was last read dry.
    pub fn is_reusable(&self) -> bool {
        let mut probe = [0u8; 1];
        self.buffer.is_empty()
            && matches!(self.stream.try_read(&mut probe), Err(error) if error.kind() == ErrorKind::WouldBlock)
    }

    /// Sends a request (`head`, written by [`write_request_head`], then `body` framed as
    /// `framing`) and reads the response head. The response body is read by the
    /// returned [`UpstreamBody`], which gives the connection to `pool` when it is done.
    pub async fn exchange(
        mut self,
        method: &Method,
        head: &[u8],
        body: AttemptBody<'_>,
        framing: RequestFraming,
        pool: &Arc<ConnectionPool>,
        addr: SocketAddr,
    ) -> Result<Response<UpstreamBody>, ExchangeError> {
        let reused = std::mem::replace(&mut self.reused, true);
        if let Err(error) = self.stream.write_all(head).await {
            return Err(if reused {
                ExchangeError::NotSent(error)
            } else {
                ExchangeError::Failed(error)
            });
        }
        if framing != RequestFraming::Empty {
            self.send_body(body, framing)
                .await
                .map_err(ExchangeError::Failed)?;
        }
        let head = loop {
            let head = self.read_head().await.map_err(ExchangeError::Failed)?;
            // Interim answers (100 Continue, 103 Early Hints) come before the real one.
            if head.status.is_informational() {
                if head.status == StatusCode::SWITCHING_PROTOCOLS {
                    return Err(ExchangeError::Failed(invalid("a protocol upgrade")));
                }
                continue;
            }
            break head;
        };
        let framing =
            response_framing(method, head.status, &head.fields).map_err(ExchangeError::Failed)?;
        let keep_alive =
            framing != ResponseFraming::UntilClose && keeps_alive(head.version, &head.fields);
        let ResponseHead {
            status,
            version,
            headers,
            ..
        } = head;
        let mut response = Response::new(UpstreamBody {
            connection: Some(self),
            framing,
            keep_alive,
            home: Some((Arc::clone(pool), addr)),
        });
        *response.status_mut() = status;
        *response.version_mut() = version;
        *response.headers_mut() = headers;
        Ok(response)
    }

    async fn send_body(
        &mut self,
        mut body: AttemptBody<'_>,
        framing: RequestFraming,
    ) -> io::Result<()> {
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|error| io::Error::other(format!("request body: {error}")))?;
            // Trailers of a chunked request are not passed on.
            let Ok(mut data) = frame.into_data() else {
                continue;
            };
            if data.is_empty() {
                continue;
            }
            if framing == RequestFraming::Chunked {
                let size = format!("{:x}\r\n", data.len());
                self.stream.write_all(size.as_bytes()).await?;
                self.stream.write_all_buf(&mut data).await?;
                self.stream.write_all(b"\r\n").await?;
            } else {
                self.stream.write_all_buf(&mut data).await?;
            }
        }
        if framing == RequestFraming::Chunked {
            self.stream.write_all(b"0\r\n\r\n").await?;
        }
        Ok(())
    }

    /// Reads one response head.
    async fn read_head(&mut self) -> io::Result<ResponseHead> {
        loop {
            if !self.buffer.is_empty()
                && let Some(head) = self.parse_head()?
            {
                return Ok(head);
            }
            if self.buffer.len() >= MAX_HEAD_LEN {
                return Err(invalid("a response head over 64 KiB"));
            }
            let read = std::future::poll_fn(|cx| self.poll_fill(cx)).await?;
            if read == 0 {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    if self.buffer.is_empty() {
                        "the upstream closed the connection without an answer"
                    } else {
                        "the upstream closed the connection in the middle of the response head"
                    },
                ));
            }
        }
    }

    /// The head at the start of the buffer, taken out of it, if it is all there. Its
    /// hop-by-hop fields are noted (they say how the body is framed and whether the
    /// connection stays open) and left out of the headers passed on to the client.
    fn parse_head(&mut self) -> io::Result<Option<ResponseHead>> {
        // Uninitialised slots: zeroing 100 of them cost more than parsing the head.
        let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut []);
        let length = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut parsed,
            &self.buffer,
            &mut slots,
        ) {
            Ok(httparse::Status::Complete(length)) => length,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(error) => return Err(invalid(&format!("a malformed response head ({error})"))),
        };
        let status = parsed
            .code
            .and_then(|code| StatusCode::from_u16(code).ok())
            .ok_or_else(|| invalid("a bad status code"))?;
        let version = match parsed.version {
            Some(0) => Version::HTTP_10,
            _ => Version::HTTP_11,
        };
        // Where each value passed on lies in the head, so that once the head is taken out
        // of the buffer the values can be slices of its bytes instead of copies.
        let base = self.buffer.as_ptr() as usize;
        let mut fields = FieldSummary::default();
        let mut passed_on = Vec::with_capacity(parsed.headers.len());
        for field in parsed.headers.iter() {
            let name = HeaderName::from_bytes(field.name.as_bytes())
                .map_err(|_| invalid("a bad header name"))?;
            fields.note(&name, field.value)?;
            if !is_hop_by_hop(&name) {
                let at = field.value.as_ptr() as usize - base;
                passed_on.push((name, at..at + field.value.len()));
            }
        }
        let head = self.buffer.split_to(length).freeze();
        let mut headers = HeaderMap::with_capacity(passed_on.len());
        for (name, span) in passed_on {
            if fields.listed.contains(&name) {
                continue;
            }
            let value = HeaderValue::from_maybe_shared(head.slice(span))
                .map_err(|_| invalid("a bad header value"))?;
            headers.append(name, value);
        }
        Ok(Some(ResponseHead {
            status,
            version,
            headers,
            fields,
        }))
    }

    /// Reads what the socket has into the buffer; `Ok(0)` at the end of the stream.
    ///
    /// Through `AsyncRead` rather than `try_read_buf`: after a read that did not fill the
    /// buffer, tokio marks the socket as drained, so the check in
    /// [`Connection::is_reusable`] costs no system call when the connection is next taken
    /// from the pool. (With `try_read_buf` it stayed marked readable, and that check was
    /// a `recvfrom` answering EAGAIN for every request.)
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.buffer.capacity() - self.buffer.len() < READ_SIZE / 4 {
            self.buffer.reserve(READ_SIZE);
        }
        // The future only borrows the two; making a new one for each poll loses nothing.
        pin!(self.stream.read_buf(&mut self.buffer)).poll(cx)
    }
}

/// Writes the request line and header fields of a request to `out`: `method`, `target`
/// (origin form), the fields `fields` hands over one by one (name, value), and
/// `Transfer-Encoding: chunked` for a chunked body.
pub fn write_request_head(
    out: &mut Vec<u8>,
    method: &Method,
    target: &str,
    fields: impl FnOnce(&mut dyn FnMut(&[u8], &[u8])),
    framing: RequestFraming,
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    fields(&mut |name, value| {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    });
    if framing == RequestFraming::Chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// How the response body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseFraming {
    /// After this many more bytes (0: there is no body, or it has all been read).
    Length(u64),
    /// Chunked coding, at this point of it.
    Chunked(ChunkState),
    /// When the upstream closes the connection.
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Before a chunk-size line.
    Size,
    /// Inside a chunk, with this many bytes to go.
    Data(u64),
    /// After a chunk's data, before its CRLF.
    DataEnd,
    /// After the last chunk: trailer fields up to an empty line.
    Trailers,
}

/// A response head as read: the status, the version, the end-to-end headers, and what
/// its hop-by-hop fields said.
struct ResponseHead {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    fields: FieldSummary,
}

/// What the framing and connection fields of a response head say.
#[derive(Debug, Default)]
struct FieldSummary {
    /// Whether the last transfer coding is `chunked`, if there is a `Transfer-Encoding`.
    chunked: Option<bool>,
    /// The `Content-Length`, if any (repeated fields must agree: RFC 9110, 8.6).
    content_length: Option<u64>,
    /// `Connection: close`.
    close: bool,
    /// `Connection: keep-alive` (what an HTTP/1.0 server must say to keep it).
    keep_alive: bool,
    /// Other headers `Connection` names: they are not passed on either.
    listed: Vec<HeaderName>,
}

impl FieldSummary {
    fn note(&mut self, name: &HeaderName, value: &[u8]) -> io::Result<()> {
        if *name == TRANSFER_ENCODING {
            let last = value.rsplit(|b| *b == b',').next().unwrap_or_default();
            self.chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if *name == CONTENT_LENGTH {
            let length = parse_length(value)?;
            if self.content_length.is_some_and(|earlier| earlier != length) {
                return Err(invalid("conflicting Content-Length fields"));
            }
            self.content_length = Some(length);
        } else if *name == CONNECTION {
            for token in value.split(|b| *b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    self.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    self.keep_alive = true;
                } else if let Some(listed) = connection_listed_name(token) {
                    self.listed.push(listed);
                }
            }
        }
        Ok(())
    }
}

/// RFC 9112, section 6.3: how the body of a response to `method` with `status` and
/// the framing `fields` is delimited.
fn response_framing(
    method: &Method,
    status: StatusCode,
    fields: &FieldSummary,
) -> io::Result<ResponseFraming> {
    if *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(ResponseFraming::Length(0));
    }
    Ok(match (fields.chunked, fields.content_length) {
        // Transfer-Encoding overrides Content-Length.
        (Some(true), _) => ResponseFraming::Chunked(ChunkState::Size),
        (Some(false), _) | (None, None) => ResponseFraming::UntilClose,
        (None, Some(length)) => ResponseFraming::Length(length),
    })
}

fn parse_length(text: &[u8]) -> io::Result<u64> {
    let text = text.trim_ascii();
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) || text.len() > 19 {
        return Err(invalid("a bad Content-Length"));
    }
    Ok(text
        .iter()
        .fold(0, |n, digit| n * 10 + u64::from(digit - b'0')))
}

/// Whether the upstream keeps the connection open after this response.
fn keeps_alive(version: Version, fields: &FieldSummary) -> bool {
    match version {
        Version::HTTP_10 => fields.keep_alive,
        _ => !fields.close,
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, format!("the upstream sent {what}"))
}

/// A response body read from the upstream connection as the client's side asks for it.
/// Once it has been read to its end, or if there was none, dropping it gives the
/// connection back to the pool; a body dropped half-way closes it (the rest of the
/// response would still be on the wire).
#[derive(Debug)]
pub struct UpstreamBody {
    connection: Option<Connection>,
    framing: ResponseFraming,
    keep_alive: bool,
    home: Option<(Arc<ConnectionPool>, SocketAddr)>,
}

impl UpstreamBody {
    fn is_done(&self) -> bool {
        self.framing == ResponseFraming::Length(0)
    }

    /// The next piece of the body, or `None` at its end.
    fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        let Some(connection) = self.connection.as_mut() else {
            return Poll::Ready(None);
        };
        loop {
            let buffer = &mut connection.buffer;
            match &mut self.framing {
                ResponseFraming::Length(0) => return Poll::Ready(None),
                ResponseFraming::Length(remaining) => {
                    if !buffer.is_empty() {
                        let take = buffer
                            .len()
                            .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                        *remaining -= take as u64;
                        return Poll::Ready(Some(Ok(buffer.split_to(take).freeze())));
                    }
                }
                ResponseFraming::UntilClose => {
                    if !buffer.is_empty() {
                        return Poll::Ready(Some(Ok(buffer.split().freeze())));
                    }
                }
                ResponseFraming::Chunked(state) => match decode_chunked(state, buffer) {
                    Ok(Decoded::Data(data)) => return Poll::Ready(Some(Ok(data))),
                    Ok(Decoded::End) => {
                        self.framing = ResponseFraming::Length(0);
                        return Poll::Ready(None);
                    }
                    Ok(Decoded::NeedMore) => {}
                    Err(error) => return Poll::Ready(Some(Err(error))),
                },
            }
            match ready!(connection.poll_fill(cx)) {
                Ok(0) if self.framing == ResponseFraming::UntilClose => {
                    self.framing = ResponseFraming::Length(0);
                    self.keep_alive = false;
                    return Poll::Ready(None);
                }
                Ok(0) => {
                    return Poll::Ready(Some(Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "the upstream closed the connection in the middle of the response body",
                    ))));
                }
                Ok(_) => {}
                Err(error) => return Poll::Ready(Some(Err(error))),
            }
        }
    }
}

enum Decoded {
    Data(Bytes),
    End,
    NeedMore,
}

/// Decodes what `buffer` holds of a chunked body from `state` on.
fn decode_chunked(state: &mut ChunkState, buffer: &mut BytesMut) -> io::Result<Decoded> {
    loop {
        match state {
            ChunkState::Size => {
                let Some(line_end) = find_crlf(buffer) else {
                    if buffer.len() > MAX_CHUNK_LINE {
                        return Err(invalid("an over-long chunk-size line"));
                    }
                    return Ok(Decoded::NeedMore);
                };
                let line = &buffer[..line_end];
                let digits = line
                    .split(|b| *b == b';')
                    .next()
                    .unwrap_or_default()
                    .trim_ascii();
                if digits.is_empty() || digits.len() > 15 {
                    return Err(invalid("a bad chunk size"));
                }
                let size = digits.iter().try_fold(0u64, |size, digit| {
                    (*digit as char)
                        .to_digit(16)
                        .map(|value| size << 4 | u64::from(value))
                });
                let size = size.ok_or_else(|| invalid("a bad chunk size"))?;
                buffer.advance(line_end + 2);
                *state = if size == 0 {
                    ChunkState::Trailers
                } else {
                    ChunkState::Data(size)
                };
            }
            ChunkState::Data(remaining) => {
                if buffer.is_empty() {
                    return Ok(Decoded::NeedMore);
                }
                let take = buffer
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                *remaining -= take as u64;
                if *remaining == 0 {
                    *state = ChunkState::DataEnd;
                }
                return Ok(Decoded::Data(buffer.split_to(take).freeze()));
            }
            ChunkState::DataEnd => {
                if buffer.len() < 2 {
                    return Ok(Decoded::NeedMore);
                }
                if &buffer[..2] != b"\r\n" {
                    return Err(invalid("chunk data longer than its size"));
                }
                buffer.advance(2);
                *state = ChunkState::Size;
            }
            ChunkState::Trailers => {
                let Some(line_end) = find_crlf(buffer) else {
                    if buffer.len() > MAX_HEAD_LEN {
                        return Err(invalid("over-long trailer fields"));
                    }
                    return Ok(Decoded::NeedMore);
                };
                buffer.advance(line_end + 2);
                if line_end == 0 {
                    return Ok(Decoded::End);
                }
            }
        }
    }
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|pair| pair == b"\r\n")
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.poll_data(cx)
            .map(|data| data.map(|result| result.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.is_done()
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            ResponseFraming::Length(remaining) => SizeHint::with_exact(remaining),
            _ => SizeHint::default(),
        }
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        if self.is_done()
            && self.keep_alive
            && let (Some(connection), Some((pool, addr))) =
                (self.connection.take(), self.home.take())
        {
            pool.checkin(addr, connection);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header fields as (name, value) pairs.
    type Fields<'a> = &'a [(&'a str, &'a str)];
    /// (request method, status, fields, framing; `None` for an invalid response)
    type FramingCase<'a> = (&'a Method, StatusCode, Fields<'a>, Option<ResponseFraming>);

    fn summary(pairs: &[(&str, &str)]) -> io::Result<FieldSummary> {
        let mut fields = FieldSummary::default();
        for (name, value) in pairs {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            fields.note(&name, value.as_bytes())?;
        }
        Ok(fields)
    }

    #[test]
    fn frames_responses_as_rfc_9112_says() {
        let get = Method::GET;
        let ok = StatusCode::OK;
        let cases: [FramingCase; 10] = [
            (
                &get,
                ok,
                &[("content-length", "3")],
                Some(ResponseFraming::Length(3)),
            ),
            (
                &get,
                ok,
                &[("content-length", "3"), ("content-length", "3")],
                Some(ResponseFraming::Length(3)),
            ),
            (
                &get,
                ok,
                &[("content-length", "3"), ("content-length", "4")],
                None,
            ),
            (&get, ok, &[("content-length", "x")], None),
            (
                &get,
                ok,
                &[
                    ("transfer-encoding", "gzip, chunked"),
                    ("content-length", "3"),
                ],
                Some(ResponseFraming::Chunked(ChunkState::Size)),
            ),
            (
                &get,
                ok,
                &[("transfer-encoding", "gzip")],
                Some(ResponseFraming::UntilClose),
            ),
            (&get, ok, &[], Some(ResponseFraming::UntilClose)),
            (
                &Method::HEAD,
                ok,
                &[("content-length", "3")],
                Some(ResponseFraming::Length(0)),
            ),
            (
                &get,
                StatusCode::NO_CONTENT,
                &[],
                Some(ResponseFraming::Length(0)),
            ),
            (
                &get,
                StatusCode::NOT_MODIFIED,
                &[("content-length", "9")],
                Some(ResponseFraming::Length(0)),
            ),
        ];
        for (method, status, fields, want) in cases {
            let got = summary(fields)
                .and_then(|fields| response_framing(method, status, &fields))
                .ok();
            assert_eq!(got, want, "{method} {status} {fields:?}");
        }
    }

    #[test]
    fn knows_when_the_upstream_keeps_the_connection() {
        let cases: [(Version, Fields, bool); 5] = [
            (Version::HTTP_11, &[], true),
            (Version::HTTP_11, &[("connection", "keep-alive")], true),
            (Version::HTTP_11, &[("connection", "x-a, Close")], false),
            (Version::HTTP_10, &[], false),
            (Version::HTTP_10, &[("connection", "keep-alive")], true),
        ];
        for (version, fields, want) in cases {
            assert_eq!(
                keeps_alive(version, &summary(fields).unwrap()),
                want,
                "{version:?} {fields:?}"
            );
        }
    }

    #[test]
    fn decodes_chunked_bodies_in_any_split() {
        let wire = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n";
        // Every way of cutting the input in two gives the same body.
        for cut in 0..=wire.len() {
            let mut state = ChunkState::Size;
            let mut buffer = BytesMut::new();
            let mut body = Vec::new();
            let mut ended = false;
            for part in [&wire[..cut], &wire[cut..]] {
                buffer.extend_from_slice(part);
                loop {
                    match decode_chunked(&mut state, &mut buffer).unwrap() {
                        Decoded::Data(data) => body.extend_from_slice(&data),
                        Decoded::End => {
                            ended = true;
                            break;
                        }
                        Decoded::NeedMore => break,
                    }
                }
            }
            assert!(ended, "cut at {cut}");
            assert_eq!(body, b"Wikipedia in\r\n\r\nchunks.", "cut at {cut}");
            assert!(buffer.is_empty(), "cut at {cut}");
        }
    }

    #[test]
    fn refuses_broken_chunked_bodies() {
        for wire in [&b"zz\r\n"[..], b"4\r\nWikiX\r\n", b"1234567890abcdef0\r\n"] {
            let mut state = ChunkState::Size;
            let mut buffer = BytesMut::from(wire);
            let result = loop {
                match decode_chunked(&mut state, &mut buffer) {
                    Ok(Decoded::Data(_)) => continue,
                    other => break other,
                }
            };
            assert!(result.is_err(), "{:?}", String::from_utf8_lossy(wire));
        }
    }

    #[test]
    fn writes_a_request_head() {
        let mut out = Vec::new();
        write_request_head(
            &mut out,
            &Method::POST,
            "/token?x=1",
            |put| {
                put(b"host", b"auth-api:5000");
                put(b"x-request-id", b"abc");
            },
            RequestFraming::Chunked,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST /token?x=1 HTTP/1.1\r\nhost: auth-api:5000\r\nx-request-id: abc\r\n\
             transfer-encoding: chunked\r\n\r\n"
        );
    }
}
