//! The one HTTP client: rustls, no redirects (a redirected OAuth POST loses
//! its form body), a timeout on every request, and bounded response bodies.

use crate::error::{Error, Result};
use crate::redact::SecretBytes;
use std::time::Duration;
use url::Url;

pub const TIMEOUT_ENV: &str = "MINIMAX_PORTAL_AUTH_HTTP_TIMEOUT_MS";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// No answer of the portal is larger than this; more is not a MiniMax answer.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A complete, size-checked answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The `Date` header, for clock-skew checks.
    pub date: Option<String>,
    pub body: SecretBytes,
    pub retry_after: Option<Duration>,
    pub location: Option<String>,
}

/// What an answer's status says, before its body is read: the one reading
/// of HTTP statuses that every portal answer goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// 2xx.
    Ok,
    /// 3xx: never followed, since a redirected OAuth POST loses its form.
    Redirect,
    /// 429: ask again later, after `retry_after` when the server said.
    RateLimited { retry_after: Option<Duration> },
    /// 408 and 5xx: the server is in trouble for now.
    Unavailable { retry_after: Option<Duration> },
    /// Any other status (4xx, and codes no server sends as an answer): the
    /// request was refused; the status says how.
    ClientError(u16),
}

impl StatusClass {
    pub fn of(status: u16, retry_after: Option<Duration>) -> StatusClass {
        match status {
            200..=299 => StatusClass::Ok,
            300..=399 => StatusClass::Redirect,
            429 => StatusClass::RateLimited { retry_after },
            408 | 500..=599 => StatusClass::Unavailable { retry_after },
            status => StatusClass::ClientError(status),
        }
    }
}

impl Answer {
    pub fn class(&self) -> StatusClass {
        StatusClass::of(self.status, self.retry_after)
    }

    /// The reason the answer gives for a failure, safe to show: scrubbed,
    /// cleaned and bounded (`wire::failure_reason`).
    pub fn reason(&self) -> String {
        super::wire::failure_reason(&self.body)
    }

    /// " to <where>" of a redirect, cleaned, for messages; empty without a
    /// `Location`.
    pub fn redirect_target(&self) -> String {
        self.location
            .as_deref()
            .map(|l| format!(" to {}", crate::redact::clean(l, 200)))
            .unwrap_or_default()
    }
}

/// How a request failed, so callers can classify it.
#[derive(Debug)]
pub enum Failure {
    /// The request never reached the portal (DNS, connect, TLS): safe to retry.
    NotSent(String),
    /// Sent, but no complete answer came back (timeout, reset, truncated
    /// body). What did arrive is kept: a success cut short may still carry
    /// tokens the portal has already rotated.
    NoAnswer {
        why: String,
        status: Option<u16>,
        partial: SecretBytes,
    },
    /// The answer was larger than `MAX_BODY_BYTES`.
    TooLarge,
    /// The portal's certificate is not trusted: not a passing problem.
    Certificate(String),
}

impl Failure {
    pub fn into_error(self, what: &str) -> Error {
        match self {
            Failure::NotSent(why) => {
                Error::transient(format!("cannot reach the MiniMax portal to {what}: {why}"))
                    .with_hint("check your network or proxy (HTTPS_PROXY), then try again")
            }
            Failure::NoAnswer { why, .. } => Error::transient(format!(
                "no complete answer from the MiniMax portal to {what}: {why}"
            ))
            .with_hint("try again in a moment"),
            Failure::Certificate(why) => Error::failed(format!(
                "cannot {what}: the portal's certificate is not trusted ({why})"
            ))
            .with_hint(CERTIFICATE_HINT),
            Failure::TooLarge => Error::failed(format!(
                "the MiniMax portal's answer to {what} is larger than {} KiB: not a portal answer",
                MAX_BODY_BYTES / 1024
            ))
            .with_hint("check MINIMAX_PORTAL_OAUTH_BASE_URL and any proxy in between"),
        }
    }
}

pub const CERTIFICATE_HINT: &str = "if a proxy or private CA signs the portal's certificate, point \
SSL_CERT_FILE at its CA file; otherwise check the system clock and MINIMAX_PORTAL_OAUTH_BASE_URL";

/// The one HTTP client for the portal and the API: it never follows a
/// redirect, bounds every request in time, and reads no answer larger than
/// [`MAX_BODY_BYTES`].
pub struct Http {
    client: reqwest::Client,
    /// For loopback hosts, built when first needed: never through a proxy.
    direct: std::sync::OnceLock<reqwest::Client>,
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(request_timeout())
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("minimax-portal-auth/", env!("CARGO_PKG_VERSION")))
}

fn built(builder: reqwest::ClientBuilder) -> Result<reqwest::Client> {
    builder
        .build()
        .map_err(|e| Error::failed(format!("cannot set up HTTPS: {e}")))
}

/// A CA bundle larger than this is not one (Debian's is about 200 KiB).
const MAX_CA_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// SSL_CERT_FILE is read whole by the certificate loader: a device or a
/// FIFO (`/dev/zero`) would grow memory without bound or never end, so
/// only a regular file of a bounded size is accepted.
fn check_ca_file() -> Result<()> {
    let Some(path) = std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let path = std::path::Path::new(&path);
    let why = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => "is not a regular file".to_string(),
        Ok(meta) if meta.len() > MAX_CA_FILE_BYTES => {
            format!("is larger than {} MiB", MAX_CA_FILE_BYTES >> 20)
        }
        Ok(_) | Err(_) => return Ok(()),
    };
    Err(Error::failed(format!(
        "SSL_CERT_FILE ({}) {why}: not a CA file",
        path.display()
    ))
    .with_hint("point SSL_CERT_FILE at a PEM file of CA certificates, or unset it"))
}

impl Http {
    pub fn new() -> Result<Http> {
        check_ca_file()?;
        // reqwest is built without a default crypto provider; ring is ours.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(Http {
            client: built(builder())?,
            direct: std::sync::OnceLock::new(),
        })
    }

    /// The client for `url`. A loopback host is reached directly: reqwest
    /// would send even `http://127.0.0.1` through HTTP_PROXY or ALL_PROXY,
    /// and a plain-http refresh carries the refresh token in clear text.
    fn client_for(&self, url: &Url) -> Result<&reqwest::Client, Failure> {
        if !crate::region::is_loopback(url) {
            return Ok(&self.client);
        }
        if let Some(direct) = self.direct.get() {
            return Ok(direct);
        }
        let direct = built(builder().no_proxy()).map_err(|e| Failure::NotSent(e.message))?;
        Ok(self.direct.get_or_init(|| direct))
    }

    /// POSTs a form and reads the whole answer. The form carries secrets:
    /// they go in the body only, never in the URL.
    pub async fn post_form(&self, url: &Url, form: &[(&str, &str)]) -> Result<Answer, Failure> {
        let request = self
            .client_for(url)?
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
            .form(form);
        self.send(request).await
    }

    /// GETs a usage endpoint with the token in the header (never in the
    /// URL) and the headers OpenClaw sends there (docs/protocol.md).
    pub async fn get_usage(&self, url: &Url, token: &str) -> Result<Answer, Failure> {
        let request = self
            .client_for(url)?
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("MM-API-Source", "OpenClaw")
            .bearer_auth(token);
        self.send(request).await
    }

    /// GETs without credentials (reachability and clock checks).
    async fn get(&self, url: &Url) -> Result<Answer, Failure> {
        self.send(self.client_for(url)?.get(url.clone())).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, Failure> {
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let date = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(Failure::TooLarge);
        }
        let mut body = Vec::new();
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    return Err(match classify(e) {
                        Failure::NoAnswer { why, .. } => Failure::NoAnswer {
                            why,
                            status: Some(status),
                            partial: SecretBytes(body),
                        },
                        other => other,
                    });
                }
            };
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(Failure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            date,
            body: SecretBytes(body),
            retry_after,
            location,
        })
    }
}

/// A server that answered a reachability check: how soon, and its `Date`.
pub struct Reached {
    pub elapsed: Duration,
    pub date: Option<String>,
}

/// GETs each URL in turn without credentials, blocking (reachability and
/// clock checks): each one's answer, or why it could not be reached.
pub fn reach_blocking(urls: &[Url]) -> Result<Vec<Result<Reached>>> {
    crate::runtime::run_async(async {
        let http = Http::new()?;
        let mut reached = Vec::new();
        for url in urls {
            let started = std::time::Instant::now();
            reached.push(match http.get(url).await {
                Ok(answer) => Ok(Reached {
                    elapsed: started.elapsed(),
                    date: answer.date,
                }),
                Err(failure) => Err(failure.into_error("check reachability")),
            });
        }
        Ok(reached)
    })?
}

fn request_timeout() -> Duration {
    crate::env::millis(TIMEOUT_ENV, DEFAULT_TIMEOUT)
}

fn classify(e: reqwest::Error) -> Failure {
    // reqwest wraps the cause in layers ("error sending request ... client
    // error (Connect) ..."); the innermost one says what went wrong.
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    let host = e
        .url()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(port) => format!("{h}:{port}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| "the portal".to_string());
    if is_certificate_error(&e) {
        Failure::Certificate(format!("{host}: {cause}"))
    } else if e.is_timeout() {
        no_answer(format!(
            "{host} timed out after {} s",
            request_timeout().as_secs_f32()
        ))
    } else if e.is_connect() || e.is_builder() {
        Failure::NotSent(format!("{host}: {cause}"))
    } else {
        no_answer(format!("{host}: {cause}"))
    }
}

fn no_answer(why: String) -> Failure {
    Failure::NoAnswer {
        why,
        status: None,
        partial: SecretBytes::default(),
    }
}

fn is_certificate_error(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        // An io::Error hides the error it wraps from `source()`, and the
        // TLS layers wrap io::Errors in io::Errors.
        let mut tls = inner.downcast_ref::<rustls::Error>();
        let mut io = inner.downcast_ref::<std::io::Error>();
        while tls.is_none()
            && let Some(wrapped) = io.and_then(|e| e.get_ref())
        {
            tls = wrapped.downcast_ref::<rustls::Error>();
            io = wrapped.downcast_ref::<std::io::Error>();
        }
        if let Some(tls) = tls {
            return matches!(
                tls,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            );
        }
        source = inner.source();
    }
    false
}

/// `Retry-After`: seconds, or an HTTP date. Capped at an hour.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let secs = match value.parse::<u64>() {
        Ok(secs) => secs,
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            let now = chrono::Utc::now().timestamp();
            u64::try_from(at.timestamp().saturating_sub(now)).unwrap_or(0)
        }
    };
    Some(Duration::from_secs(secs.min(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_by_class() {
        let wait = Some(Duration::from_secs(3));
        for (status, want) in [
            (200, StatusClass::Ok),
            (204, StatusClass::Ok),
            (301, StatusClass::Redirect),
            (307, StatusClass::Redirect),
            (429, StatusClass::RateLimited { retry_after: wait }),
            (408, StatusClass::Unavailable { retry_after: wait }),
            (500, StatusClass::Unavailable { retry_after: wait }),
            (503, StatusClass::Unavailable { retry_after: wait }),
            (400, StatusClass::ClientError(400)),
            (401, StatusClass::ClientError(401)),
            (404, StatusClass::ClientError(404)),
            (101, StatusClass::ClientError(101)),
            (600, StatusClass::ClientError(600)),
        ] {
            assert_eq!(StatusClass::of(status, wait), want, "HTTP {status}");
        }
    }

    #[test]
    fn retry_after_in_both_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("99999"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
