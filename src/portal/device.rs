//! The portal's user-code flow: ask for a code (PKCE S256 and a state that
//! must come back), then poll the token endpoint until the user approves.

use super::answer::{self, TokenAnswer};
use super::http::{Answer, Http, StatusClass};
use super::wire::{self, DeviceCode};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::profile::LoginTokens;
use crate::region::{Region, SCOPE, client_id};
use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use std::time::Duration;

const USER_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:user_code";
/// `slow_down`, a 429 or failures in a row double the interval up to this.
const MAX_SLOW_DOWN_INTERVAL: Duration = Duration::from_secs(30);
/// Failures in a row polled at the usual interval (a passing blip) before
/// the polls back off.
const FAILURES_BEFORE_BACKOFF: u32 = 4;

/// A code handed out by the portal, waiting for the user's approval.
pub struct PendingCode {
    pub code: DeviceCode,
    verifier: PkceCodeVerifier,
    client_id: String,
}

/// How a wait for approval ended, when it did not fail.
pub enum Approval {
    Approved(Box<LoginTokens>),
    /// The code died before the user approved it, while the portal was
    /// answering: a new code may be asked for.
    CodeExpired,
}

/// Asks for a user code, blocking; Ctrl-C cancels.
pub fn start_blocking(region: Region) -> Result<PendingCode> {
    crate::runtime::cancellable(async {
        let http = Http::new()?;
        start(&http, region).await
    })
}

/// Waits for the user's approval of `pending`, blocking; Ctrl-C cancels.
/// `every_second` is called once a second with the portal's trouble the
/// wait is riding out, if any.
pub fn wait_blocking(
    region: Region,
    pending: &PendingCode,
    every_second: &mut dyn FnMut(Option<&str>),
) -> Result<Approval> {
    crate::runtime::cancellable(async {
        let http = Http::new()?;
        let trouble = std::cell::RefCell::new(None::<String>);
        let mut on_trouble = |why: Option<&str>| *trouble.borrow_mut() = why.map(str::to_string);
        let wait = wait_for_approval(&http, region, pending, &mut on_trouble);
        tokio::pin!(wait);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                result = &mut wait => return result,
                _ = tick.tick() => every_second(trouble.borrow().as_deref()),
            }
        }
    })
}

pub async fn start(http: &Http, region: Region) -> Result<PendingCode> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    crate::redact::register(verifier.secret());
    let state = CsrfToken::new_random();
    let url = region.device_code_url()?;
    let client_id = client_id()?;
    let answer = http
        .post_form(
            &url,
            &[
                ("response_type", "code"),
                ("client_id", client_id.as_str()),
                ("scope", SCOPE),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", challenge.method().as_str()),
                ("state", state.secret()),
            ],
        )
        .await
        .map_err(|f| f.into_error("ask for a user code"))?;
    check_status(&answer, "ask for a user code")?;
    let code = wire::parse_device_code(&answer.body, state.secret(), now_ms())
        .map_err(|why| Error::failed(why).with_hint(RETRY_HINT))?;
    Ok(PendingCode {
        code,
        verifier,
        client_id,
    })
}

const RETRY_HINT: &str = "run login again; if it keeps failing, check the region (a CN account \
signs in with --region cn) and `minimax-portal-auth doctor`";

/// Non-2xx answers to the code request: 5xx, 408 and 429 are transient,
/// a redirect means an old endpoint, the rest is a refusal.
fn check_status(answer: &Answer, what: &str) -> Result<()> {
    match answer.class() {
        StatusClass::Ok => Ok(()),
        StatusClass::Redirect => Err(Error::failed(format!(
            "the MiniMax portal redirected the request to {what} (HTTP {}{}); OAuth requests \
             are never sent on after a redirect because the form would be lost",
            answer.status,
            answer.redirect_target()
        ))
        .with_hint("check MINIMAX_PORTAL_OAUTH_BASE_URL: it must name the account host")),
        StatusClass::RateLimited { .. } | StatusClass::Unavailable { .. } => {
            Err(Error::transient(format!(
                "the MiniMax portal is unavailable (HTTP {}) and could not {what}: {}",
                answer.status,
                answer.reason()
            ))
            .with_hint("try again in a few minutes"))
        }
        StatusClass::ClientError(status) => Err(Error::failed(format!(
            "the MiniMax portal refused to {what} (HTTP {status}): {}",
            answer.reason()
        ))
        .with_hint(RETRY_HINT)),
    }
}

/// Polls until the user approves, the portal refuses, or the code dies.
/// The first poll goes out at once and the next ones every `interval`,
/// never stretched while the answer is pending, so an approval is seen
/// within one interval; only `slow_down` or a 429 make it wait longer.
/// A failing portal (5xx, timeouts) is ridden out for as long as the code
/// lives, backing off while it keeps failing; `on_trouble` hears of each
/// failure, and a code that dies during one ends with that failure.
pub async fn wait_for_approval(
    http: &Http,
    region: Region,
    pending: &PendingCode,
    on_trouble: &mut dyn FnMut(Option<&str>),
) -> Result<Approval> {
    let url = region.token_url()?;
    let code = &pending.code;
    let mut interval = code.interval;
    let mut wait = Duration::ZERO;
    // The wait after each failure in a row, doubling after a few.
    let mut backoff = interval;
    let mut failures = 0;
    let mut trouble: Option<String> = None;
    loop {
        let left = code.deadline_ms.saturating_sub(now_ms());
        if left <= 0 {
            return ended(trouble);
        }
        // Sleep, but never past the deadline.
        tokio::time::sleep(wait.min(Duration::from_millis(left as u64))).await;
        if code.deadline_ms.saturating_sub(now_ms()) <= 0 {
            return ended(trouble);
        }
        wait = interval;
        match poll_once(http, &url, pending).await {
            TokenAnswer::Pending => {
                failures = 0;
                if trouble.take().is_some() {
                    on_trouble(None);
                }
            }
            TokenAnswer::SlowDown { retry_after } => {
                interval = slow_down(interval, retry_after);
                wait = interval;
            }
            TokenAnswer::Transient {
                reason,
                retry_after,
            } => {
                on_trouble(Some(&reason));
                failures += 1;
                backoff = if failures > FAILURES_BEFORE_BACKOFF {
                    slow_down(backoff, retry_after)
                } else {
                    retry_after.map_or(interval, |asked| {
                        asked.clamp(interval, Duration::from_secs(60))
                    })
                };
                trouble = Some(reason);
                wait = backoff;
            }
            TokenAnswer::Tokens(tokens) => {
                return answer::login_tokens(tokens)
                    .map(|tokens| Approval::Approved(Box::new(tokens)))
                    .map_err(|e| e.with_hint(RETRY_HINT));
            }
            TokenAnswer::Rejected(reason) | TokenAnswer::Failed(reason) => {
                return Err(Error::failed(format!(
                    "the MiniMax portal refused the login: {reason}"
                ))
                .with_hint("run login again and approve the code in the browser"));
            }
        }
    }
}

/// A code that died: expired, or, when the portal was failing at the end,
/// that failure.
fn ended(trouble: Option<String>) -> Result<Approval> {
    match trouble {
        Some(reason) => Err(Error::transient(format!(
            "could not confirm the login before the code expired: {reason}"
        ))
        .with_hint("try again in a few minutes")),
        None => Ok(Approval::CodeExpired),
    }
}

/// One poll of the token endpoint with the code and its PKCE verifier.
async fn poll_once(http: &Http, url: &url::Url, pending: &PendingCode) -> TokenAnswer {
    let sent = http
        .post_form(
            url,
            &[
                ("grant_type", USER_CODE_GRANT),
                ("client_id", pending.client_id.as_str()),
                ("user_code", &pending.code.user_code),
                ("code_verifier", pending.verifier.secret()),
            ],
        )
        .await;
    answer::classify(sent, now_ms())
}

fn slow_down(interval: Duration, retry_after: Option<Duration>) -> Duration {
    let doubled = (interval * 2).min(MAX_SLOW_DOWN_INTERVAL);
    match retry_after {
        Some(wait) => wait.clamp(doubled, Duration::from_secs(60)),
        None => doubled,
    }
}

/// The error of a login whose code expired and is not renewed.
pub fn code_expired() -> Error {
    Error::failed("the user code expired before the login was approved")
        .with_hint("approve the new code in the browser before it expires")
}
