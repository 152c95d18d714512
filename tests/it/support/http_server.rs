//! A real HTTP/1.1 server on 127.0.0.1 for the integration tests, written on
//! std only so a test can inject the faults a real server never produces:
//! truncated bodies, stalls, oversized bodies, connections closed without an
//! answer.
//!
//! A handler turns each [`Request`] into a [`Reply`]; [`Portal`] records
//! every request in order. The MiniMax behaviour lives in `minimax.rs`.
//!
//! Each connection carries one request: the server always answers
//! `Connection: close` and closes afterwards.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::lock;

/// Largest request head (request line and headers) the server reads; larger
/// ones get `431`.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest request body the server reads; larger ones get `413`.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Read and write timeout of a connection, so a silent client cannot hold a
/// thread for ever.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// How often waiting threads look at the shutdown flag.
const TICK: Duration = Duration::from_millis(10);

// ---------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The path of the request target, without the query.
    pub path: String,
    /// The raw query (after `?`, without it), empty when there is none.
    pub query: String,
    /// Headers in the order received, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header of that name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as `application/x-www-form-urlencoded` fields, percent-decoded
    /// with `+` as space. A repeated field keeps its last value.
    pub fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// The query's fields, decoded like [`Request::form`].
    pub fn query_map(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The bearer token of the `Authorization` header, if any.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
    }
}

// ---------------------------------------------------------------------------
// Reply
// ---------------------------------------------------------------------------

/// How a [`Reply`] reaches the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The whole reply, then close.
    Normal,
    /// The headers with `Content-Length` of the full body but only the first
    /// half of the body, then close.
    Truncated,
    /// Read the request and never answer; the connection is released only
    /// when the [`Portal`] is dropped.
    Hang,
    /// The headers and the first half of the body, then silence until the
    /// [`Portal`] is dropped (a stall in the middle of the body).
    Stall,
    /// Read the request, then close without sending a byte.
    Close,
    /// Send `body` verbatim as the whole answer (no status line or headers
    /// added), then close: for malformed HTTP.
    Raw,
}

/// What the server answers to one request.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    /// Extra headers. `Content-Length` is added unless present here (so a
    /// test can lie about it); `Connection: close` is added unless present.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
    pub delivery: Delivery,
}

impl Reply {
    /// A JSON answer (`Content-Type: application/json`).
    pub fn json(status: u16, v: Value) -> Reply {
        let body = serde_json::to_vec(&v).expect("a serde_json::Value always serializes");
        Reply::text(status, "application/json", body)
    }

    /// An answer with that content type and body.
    pub fn text(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body: body.into(),
            delay: Duration::ZERO,
            delivery: Delivery::Normal,
        }
    }

    /// An answer without body or content type.
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
            delivery: Delivery::Normal,
        }
    }

    /// A redirect (`301`, `302`, `307`, `308`...) to `location`, empty body.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::empty(status).with_header("Location", location)
    }

    /// `404` with a short text body.
    pub fn not_found() -> Reply {
        Reply::text(404, "text/plain", "not found")
    }

    /// Read the request and never answer (until the portal is dropped).
    pub fn hang() -> Reply {
        Reply {
            delivery: Delivery::Hang,
            ..Reply::empty(200)
        }
    }

    /// Read the request and close the connection without an answer.
    pub fn close() -> Reply {
        Reply {
            delivery: Delivery::Close,
            ..Reply::empty(200)
        }
    }

    /// Send exactly these bytes as the whole answer, then close.
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Reply {
        Reply {
            body: bytes.into(),
            delivery: Delivery::Raw,
            ..Reply::empty(200)
        }
    }

    /// Add a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Answer only after `d` (added to any delay already set).
    pub fn delayed(mut self, d: Duration) -> Reply {
        self.delay += d;
        self
    }

    /// Announce the full body length but send only half of the body.
    pub fn truncated(mut self) -> Reply {
        self.delivery = Delivery::Truncated;
        self
    }

    /// Send the headers and half the body, then stall until the portal is
    /// dropped.
    pub fn stalled(mut self) -> Reply {
        self.delivery = Delivery::Stall;
        self
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// Status line and headers, ending with the blank line.
    fn head(&self) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !self.has_header("content-length") {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        if !self.has_header("connection") {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

// ---------------------------------------------------------------------------
// Portal: the server
// ---------------------------------------------------------------------------

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

struct ServerState {
    handler: Box<Handler>,
    requests: Mutex<Vec<Request>>,
    shutdown: AtomicBool,
}

impl ServerState {
    fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Sleep `d` in ticks; false when the portal shut down meanwhile.
    fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            if self.is_shut_down() {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            thread::sleep(TICK.min(until - now));
        }
    }

    fn wait_for_shutdown(&self) {
        while !self.is_shut_down() {
            thread::sleep(TICK);
        }
    }
}

/// An HTTP/1.1 server on an ephemeral port of 127.0.0.1, one thread per
/// connection. Dropping it stops accepting and releases hung connections.
pub struct Portal {
    addr: SocketAddr,
    shared: Arc<ServerState>,
    acceptor: Option<JoinHandle<()>>,
}

impl Portal {
    /// Start serving; `handler` answers every request.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Portal {
        let listener = TcpListener::bind("127.0.0.1:0").expect("test portal: bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("test portal: local address of the listener");
        let shared = Arc::new(ServerState {
            handler: Box::new(handler),
            requests: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
        });
        let acceptor_shared = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name(format!("test-portal-{}", addr.port()))
            .spawn(move || accept_loop(listener, acceptor_shared))
            .expect("test portal: spawn the accept thread");
        Portal {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }

    /// The last request received on `path`, if any.
    pub fn last(&self, path: &str) -> Option<Request> {
        lock(&self.shared.requests)
            .iter()
            .rev()
            .find(|r| r.path == path)
            .cloned()
    }

    /// How many requests were received on `path` (no query).
    pub fn count(&self, path: &str) -> usize {
        lock(&self.shared.requests)
            .iter()
            .filter(|r| r.path == path)
            .count()
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Wake the blocking accept with a connection of our own; only wait
        // for the thread if the wake-up went through.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).is_ok();
        if let Some(acceptor) = self.acceptor.take()
            && woke
        {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<ServerState>) {
    for stream in listener.incoming() {
        if shared.is_shut_down() {
            break;
        }
        let Ok(stream) = stream else { continue };
        let conn_shared = Arc::clone(&shared);
        // If no thread can be spawned, the stream is dropped with the closure,
        // which closes the connection.
        let _ = thread::Builder::new()
            .name("test-portal-conn".to_owned())
            .spawn(move || serve(&conn_shared, stream));
    }
}

enum ReadError {
    /// The connection failed or ended early: nothing to answer.
    Io,
    /// A request the server refuses with this status and message.
    Reject(u16, String),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Io
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

fn read_request(stream: &mut TcpStream) -> Result<Request, ReadError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(ReadError::Reject(431, "request head too large".into()));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(ReadError::Io);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end > MAX_HEAD_BYTES {
        return Err(ReadError::Reject(431, "request head too large".into()));
    }
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| ReadError::Reject(400, "request head is not UTF-8".into()))?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Reject(
            400,
            format!("bad request line {request_line:?}"),
        ));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || target.is_empty() {
        return Err(ReadError::Reject(
            400,
            format!("bad request line {request_line:?}"),
        ));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Reject(400, format!("bad header line {line:?}")));
        };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut request = Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: Vec::new(),
    };
    if request.header("transfer-encoding").is_some() {
        return Err(ReadError::Reject(
            411,
            "this test server reads bodies by Content-Length only".into(),
        ));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| ReadError::Reject(400, format!("bad Content-Length {v:?}")))?,
    };
    if length > MAX_BODY_BYTES {
        return Err(ReadError::Reject(413, "request body too large".into()));
    }
    let mut body = buf.split_off(head_end + 4);
    if body.len() > length {
        // Pipelined bytes after the body: ignored (one request per connection).
        body.truncate(length);
    }
    let already = body.len();
    body.resize(length, 0);
    stream.read_exact(&mut body[already..])?;
    request.body = body;
    Ok(request)
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic".to_owned()
    }
}

fn serve(shared: &ServerState, mut stream: TcpStream) {
    if shared.is_shut_down() {
        return;
    }
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let request = match read_request(&mut stream) {
        Ok(request) => request,
        Err(ReadError::Io) => return,
        Err(ReadError::Reject(status, message)) => {
            deliver(shared, stream, Reply::text(status, "text/plain", message));
            return;
        }
    };
    lock(&shared.requests).push(request.clone());
    let reply = panic::catch_unwind(AssertUnwindSafe(|| (shared.handler)(&request)))
        .unwrap_or_else(|payload| {
            Reply::text(
                500,
                "text/plain",
                format!("test portal handler panicked: {}", panic_message(&*payload)),
            )
        });
    deliver(shared, stream, reply);
}

fn deliver(shared: &ServerState, mut stream: TcpStream, reply: Reply) {
    if !shared.sleep(reply.delay) {
        return;
    }
    let half = reply.body.len() / 2;
    let sent = match reply.delivery {
        Delivery::Normal => stream
            .write_all(&reply.head())
            .and_then(|()| stream.write_all(&reply.body)),
        Delivery::Truncated => stream
            .write_all(&reply.head())
            .and_then(|()| stream.write_all(&reply.body[..half])),
        Delivery::Stall => {
            let _ = stream
                .write_all(&reply.head())
                .and_then(|()| stream.write_all(&reply.body[..half]))
                .and_then(|()| stream.flush());
            shared.wait_for_shutdown();
            return;
        }
        Delivery::Hang => {
            shared.wait_for_shutdown();
            return;
        }
        Delivery::Close => Ok(()),
        Delivery::Raw => stream.write_all(&reply.body),
    };
    if sent.is_ok() {
        finish(stream);
    }
}

/// Close the sending side and drain what the client still sends, so the
/// close is a clean FIN rather than a reset that could eat the answer.
fn finish(mut stream: TcpStream) {
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut sink = [0u8; 8192];
    while Instant::now() < deadline {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}
