//! The loopback (browser) flow, built to the standards because MiniMax has
//! not yet served it to this client: RFC 6749 authorization code, RFC 7636
//! PKCE S256, RFC 8252 loopback redirect to an IP literal (so `localhost`
//! resolving to IPv6 cannot miss a server listening on IPv4).

use super::answer::{self, TokenAnswer, Tokens};
use super::http::Http;
use crate::error::{Error, Result};
use crate::profile::now_ms;
use crate::region::{CLIENT_ID, Region, SCOPE, join, parse_base_url};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

pub const AUTHORIZE_URL_ENV: &str = "MINIMAX_PORTAL_AUTHORIZE_URL";
/// The port an early MiniMax CLI used; any free port when it is taken.
const PREFERRED_PORT: u16 = 18991;
const CALLBACK_PATH: &str = "/callback";
/// How long the user has to finish in the browser.
const WAIT_FOR_BROWSER: Duration = Duration::from_secs(10 * 60);
/// A browser sends its request at once; a silent connection is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// A listening loopback server and the authorize URL that leads to it.
pub struct Started {
    pub authorize_url: Url,
    pub redirect_uri: String,
    listener: TcpListener,
    state: CsrfToken,
    verifier: PkceCodeVerifier,
}

fn authorize_endpoint(region: Region) -> Result<Url> {
    match std::env::var(AUTHORIZE_URL_ENV) {
        Ok(text) if !text.trim().is_empty() => parse_base_url(text.trim())
            .map_err(|why| Error::usage(format!("{AUTHORIZE_URL_ENV} is not usable: {why}"))),
        _ => join(&region.oauth_base()?, "oauth2/authorize"),
    }
}

async fn bind_loopback() -> Result<TcpListener> {
    let preferred = SocketAddr::from((Ipv4Addr::LOCALHOST, PREFERRED_PORT));
    if let Ok(listener) = TcpListener::bind(preferred).await {
        return Ok(listener);
    }
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .map_err(|e| {
            Error::failed(format!(
                "cannot listen on 127.0.0.1 for the browser's return: {e}"
            ))
            .with_hint("use --flow device")
        })
}

pub async fn start(region: Region) -> Result<Started> {
    let listener = bind_loopback().await?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::failed(format!("cannot read the loopback port: {e}")))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
    let redirect = RedirectUrl::new(redirect_uri.clone())
        .map_err(|e| Error::failed(format!("bad redirect URI: {e}")))?;
    let client = BasicClient::new(ClientId::new(CLIENT_ID.to_string()))
        .set_auth_uri(AuthUrl::from_url(authorize_endpoint(region)?))
        .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    crate::redact::register(verifier.secret());
    let (authorize_url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(SCOPE.split(' ').map(|s| Scope::new(s.to_string())))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Started {
        authorize_url,
        redirect_uri,
        listener,
        state,
        verifier,
    })
}

/// Waits for the browser to come back, then trades the code for tokens.
pub async fn finish(http: &Http, region: Region, started: Started) -> Result<Tokens> {
    let code = tokio::time::timeout(WAIT_FOR_BROWSER, wait_for_code(&started))
        .await
        .map_err(|_| {
            Error::failed("the browser did not come back within 10 minutes")
                .with_hint("run login again, or use --flow device")
        })??;
    let url = region.token_url()?;
    let sent = http
        .post_form(
            &url,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CLIENT_ID),
                ("code", &code),
                ("redirect_uri", &started.redirect_uri),
                ("code_verifier", started.verifier.secret()),
            ],
        )
        .await;
    match answer::classify(sent, now_ms()) {
        TokenAnswer::Tokens(tokens) if tokens.refresh.is_some() => Ok(tokens),
        TokenAnswer::Tokens(_) => Err(Error::failed(
            "the portal sent no usable refresh_token, so the session could not be kept fresh",
        )),
        TokenAnswer::Transient { reason, .. } => Err(Error::transient(format!(
            "could not trade the code for tokens: {reason}"
        ))
        .with_hint("run login again in a few minutes")),
        TokenAnswer::SlowDown { .. } => Err(Error::transient(
            "the MiniMax portal asked to slow down while trading the code for tokens",
        )
        .with_hint("run login again in a few minutes")),
        TokenAnswer::Rejected(reason) | TokenAnswer::Failed(reason) => Err(Error::failed(format!(
            "the MiniMax portal refused the code: {reason}"
        ))
        .with_hint("run login again; if it keeps failing, use --flow device")),
        TokenAnswer::Pending => Err(Error::failed(
            "the portal answered the code exchange without tokens",
        )),
    }
}

/// Serves the loopback port until a request to the callback carries this
/// login's state; other requests (favicon, stray tabs) get a 404.
async fn wait_for_code(started: &Started) -> Result<String> {
    loop {
        let (stream, _) = match started.listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => continue,
        };
        if let Some(outcome) = answer_one(stream, started.state.secret()).await {
            return outcome;
        }
    }
}

/// What the browser's request means: `None` to keep waiting.
async fn answer_one(mut stream: TcpStream, state: &str) -> Option<Result<String>> {
    let target = match tokio::time::timeout(READ_TIMEOUT, read_request_target(&mut stream)).await {
        Ok(Some(target)) => target,
        _ => return None,
    };
    let url = Url::parse(&format!("http://127.0.0.1{target}")).ok()?;
    if url.path() != CALLBACK_PATH {
        respond(
            &mut stream,
            "404 Not Found",
            "Not found",
            "This is not the sign-in page.",
        )
        .await;
        return None;
    }
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if param("state").as_deref() != Some(state) {
        respond(&mut stream, "400 Bad Request", "Sign-in refused",
            "This answer does not belong to the sign-in that is waiting. Close this tab and run login again.").await;
        return Some(Err(Error::failed(
            "the browser came back with a state this login did not send; it may not come from \
             MiniMax (possible CSRF), so the login was stopped",
        )
        .with_hint("run login again")));
    }
    if let Some(error) = param("error") {
        let detail = param("error_description").unwrap_or_default();
        respond(
            &mut stream,
            "200 OK",
            "Sign-in not completed",
            "MiniMax did not approve the sign-in. You can close this tab.",
        )
        .await;
        let reason: String = format!("{error} {detail}")
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect();
        return Some(Err(Error::failed(format!(
            "MiniMax did not approve the sign-in: {reason}"
        ))
        .with_hint("run login again and approve it, or use --flow device")));
    }
    match param("code").filter(|c| !c.is_empty() && c.len() <= 4096) {
        Some(code) => {
            crate::redact::register(&code);
            respond(
                &mut stream,
                "200 OK",
                "Signed in to MiniMax",
                "You are signed in. You can close this tab and go back to the terminal.",
            )
            .await;
            Some(Ok(code))
        }
        None => {
            respond(
                &mut stream,
                "400 Bad Request",
                "Sign-in refused",
                "The answer carries no code. Close this tab and run login again.",
            )
            .await;
            Some(Err(
                Error::failed("the browser came back without a code").with_hint("run login again")
            ))
        }
    }
}

/// Reads a request head and returns its target (`/callback?...`).
async fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() + n > MAX_REQUEST_BYTES {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut words = head.lines().next()?.split(' ');
    match (words.next(), words.next()) {
        (Some("GET"), Some(target)) if target.starts_with('/') => Some(target.to_string()),
        _ => None,
    }
}

async fn respond(stream: &mut TcpStream, status: &str, title: &str, text: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{text}</p></body></html>"
    );
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}
