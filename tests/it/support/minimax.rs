//! A scripted MiniMax portal speaking the protocol of
//! `docs/protocol.md` (device code, token poll, rotating refresh),
//! with builder knobs for the variants and faults seen in the wild. Serve it
//! with [`MiniMax::start`], or compose [`MiniMaxState::handle`] with other
//! routes in a handler of your own.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};

use super::http_server::{Portal, Reply, Request};
use super::{lock, now_ms};

// ---------------------------------------------------------------------------
// PKCE
// ---------------------------------------------------------------------------

/// The PKCE S256 challenge of `verifier`, computed by the oauth2 crate; `None`
/// when the verifier is not 43 to 128 characters long (RFC 7636 §4.1), since
/// no valid challenge can come from it (and oauth2 panics on it).
pub fn pkce_challenge(verifier: &str) -> Option<String> {
    if !(43..=128).contains(&verifier.len()) {
        return None;
    }
    let verifier = oauth2::PkceCodeVerifier::new(verifier.to_owned());
    let challenge = oauth2::PkceCodeChallenge::from_code_verifier_sha256(&verifier);
    Some(challenge.as_str().to_owned())
}

/// Is `s` shaped like an S256 challenge (43 base64url characters)?
fn is_s256_challenge(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

// ---------------------------------------------------------------------------
// MiniMax: the scripted portal
// ---------------------------------------------------------------------------

pub const CLIENT_ID: &str = "78257093-7e40-4613-99e0-527b14b39113";
pub const SCOPE: &str = "group_id profile model.completion";
pub const DEVICE_CODE_PATH: &str = "/oauth2/device/code";
pub const TOKEN_PATH: &str = "/oauth2/token";
pub const USER_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:user_code";
pub const REFRESH_GRANT: &str = "refresh_token";
/// The user code the fake hands out.
pub const USER_CODE: &str = "TUE3-FXNG";
/// The verification page for [`USER_CODE`], unless told otherwise.
pub const VERIFICATION_URI: &str =
    "https://platform.minimax.io/oauth-authorize?user_code=TUE3-FXNG&client=OpenClaw";

/// The token endpoint of a fake portal, as a profile records it.
pub fn token_url(portal: &Portal) -> String {
    format!("{}{TOKEN_PATH}", portal.url())
}

#[derive(Clone, Debug)]
enum StateEcho {
    Echo,
    Fixed(String),
    Omit,
}

/// Builder of a scripted MiniMax portal. Defaults follow the protocol file;
/// every knob returns `self`:
///
/// ```ignore
/// let (portal, mm) = MiniMax::new().pending(2).resource_url("https://x/anthropic").start();
/// ```
#[derive(Clone, Debug)]
pub struct MiniMax {
    verification_uri: Option<String>,
    interval_ms: u64,
    /// How long after it is handed out the code expires.
    code_expires_in: Duration,
    state_echo: StateEcho,
    device_reply: Option<Reply>,
    pending: usize,
    token_expired_in: Value,
    resource_url: Option<String>,
    notification_message: Option<String>,
    token_replies: Option<Vec<Reply>>,
    rotation: bool,
    refresh_delay: Duration,
    refresh_replies: Option<Vec<Reply>>,
    seeded_refresh_tokens: Vec<String>,
}

impl Default for MiniMax {
    fn default() -> Self {
        MiniMax {
            verification_uri: None,
            interval_ms: 2000,
            code_expires_in: Duration::from_secs(600),
            state_echo: StateEcho::Echo,
            device_reply: None,
            pending: 0,
            token_expired_in: json!(3600),
            resource_url: None,
            notification_message: None,
            token_replies: None,
            rotation: true,
            refresh_delay: Duration::ZERO,
            refresh_replies: None,
            seeded_refresh_tokens: Vec::new(),
        }
    }
}

impl MiniMax {
    pub fn new() -> Self {
        Self::default()
    }

    // --- device code ------------------------------------------------------

    /// The `verification_uri` answered (e.g. a `www.` host).
    pub fn verification_uri(mut self, uri: &str) -> Self {
        self.verification_uri = Some(uri.to_owned());
        self
    }

    /// The poll `interval` in milliseconds (default 2000).
    pub fn interval_ms(mut self, ms: u64) -> Self {
        self.interval_ms = ms;
        self
    }

    /// The code expires `d` after it is handed out (default 600 s); answered
    /// as absolute epoch milliseconds.
    pub fn code_expires_in(mut self, d: Duration) -> Self {
        self.code_expires_in = d;
        self
    }

    /// Answer this `state` instead of echoing the one sent (a CSRF mismatch).
    pub fn state_echo(mut self, state: &str) -> Self {
        self.state_echo = StateEcho::Fixed(state.to_owned());
        self
    }

    /// Omit `state` from the device code answer.
    pub fn no_state_echo(mut self) -> Self {
        self.state_echo = StateEcho::Omit;
        self
    }

    /// Answer every device code request with this reply (the request's
    /// challenge is still remembered for the token poll).
    pub fn device_reply(mut self, reply: Reply) -> Self {
        self.device_reply = Some(reply);
        self
    }

    // --- token poll -------------------------------------------------------

    /// Answer `{"status":"pending"}` to the first `n` polls, then success.
    pub fn pending(mut self, n: usize) -> Self {
        self.pending = n;
        self
    }

    /// The raw `expired_in` of issued tokens (login and refresh), default
    /// `3600`: any JSON value, e.g. `now_ms() + 7_200_000` or `"3600s"`.
    pub fn token_expired_in(mut self, v: impl Into<Value>) -> Self {
        self.token_expired_in = v.into();
        self
    }

    /// Add `resource_url` to token answers.
    pub fn resource_url(mut self, url: &str) -> Self {
        self.resource_url = Some(url.to_owned());
        self
    }

    /// Add `notification_message` to token answers.
    pub fn notification_message(mut self, msg: &str) -> Self {
        self.notification_message = Some(msg.to_owned());
        self
    }

    /// Answer the token polls with these replies in order, the last one
    /// repeating (the requests are still checked and problems recorded).
    pub fn token_replies(mut self, replies: Vec<Reply>) -> Self {
        assert!(
            !replies.is_empty(),
            "token_replies needs at least one reply"
        );
        self.token_replies = Some(replies);
        self
    }

    // --- refresh ----------------------------------------------------------

    /// Refresh answers omit `refresh_token` and the used one stays live.
    pub fn no_rotation(mut self) -> Self {
        self.rotation = false;
        self
    }

    /// Every refresh answer comes after `d`. The refresh token is consumed
    /// when the request arrives, before the delay.
    pub fn refresh_delay(mut self, d: Duration) -> Self {
        self.refresh_delay = d;
        self
    }

    /// Answer refresh requests with these replies in order, the last one
    /// repeating (no token is consumed or issued).
    pub fn refresh_replies(mut self, replies: Vec<Reply>) -> Self {
        assert!(
            !replies.is_empty(),
            "refresh_replies needs at least one reply"
        );
        self.refresh_replies = Some(replies);
        self
    }

    /// Start with this refresh token live (see also
    /// [`MiniMaxState::add_refresh_token`]).
    pub fn refresh_token(mut self, token: &str) -> Self {
        self.seeded_refresh_tokens.push(token.to_owned());
        self
    }

    // --- start ------------------------------------------------------------

    /// The state without a server, to compose with other routes:
    /// `Portal::start(move |r| if ... { ... } else { mm.handle(r) })`.
    pub fn build(self) -> Arc<MiniMaxState> {
        let live = self.seeded_refresh_tokens.iter().cloned().collect();
        Arc::new(MiniMaxState {
            config: self,
            inner: Mutex::new(Inner {
                live_refresh: live,
                next_pair: 1,
                ..Inner::default()
            }),
        })
    }

    /// Serve the fake on a fresh [`Portal`].
    pub fn start(self) -> (Portal, Arc<MiniMaxState>) {
        let state = self.build();
        let handler_state = Arc::clone(&state);
        let portal = Portal::start(move |r| handler_state.handle(r));
        (portal, state)
    }
}

/// A token pair the fake handed out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// `"login"` or `"refresh"`.
    pub grant: &'static str,
    pub access: String,
    /// `None` when the answer omitted it (no rotation).
    pub refresh: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    challenge: Option<String>,
    sent_state: Option<String>,
    device_codes: usize,
    polls: usize,
    pending_served: usize,
    token_script_pos: usize,
    refreshes: usize,
    refresh_script_pos: usize,
    live_refresh: HashSet<String>,
    next_pair: u64,
    issued: Vec<Issued>,
    problems: Vec<String>,
}

impl Inner {
    fn issue(&mut self, grant: &'static str, rotate: bool) -> Issued {
        let n = self.next_pair;
        self.next_pair += 1;
        let refresh = rotate.then(|| format!("ref-{n}"));
        if let Some(r) = &refresh {
            self.live_refresh.insert(r.clone());
        }
        let issued = Issued {
            grant,
            access: format!("acc-{n}"),
            refresh,
        };
        self.issued.push(issued.clone());
        issued
    }
}

/// The live state of a running [`MiniMax`] fake, shared with the test.
#[derive(Debug)]
pub struct MiniMaxState {
    config: MiniMax,
    inner: Mutex<Inner>,
}

/// `{"status":"error","base_resp":{...}}` with that HTTP status.
fn status_error(http: u16, code: u32, msg: &str) -> Reply {
    Reply::json(
        http,
        json!({"status": "error", "base_resp": {"status_code": code, "status_msg": msg}}),
    )
}

fn form_problems(req: &Request) -> Vec<String> {
    let mut problems = Vec::new();
    if req.method != "POST" {
        problems.push(format!("{} {}: expected POST", req.method, req.path));
    }
    let content_type = req.header("content-type").unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        problems.push(format!(
            "{}: Content-Type {content_type:?}, expected application/x-www-form-urlencoded",
            req.path
        ));
    }
    problems
}

fn expect_field(
    form: &HashMap<String, String>,
    name: &str,
    want: &str,
    problems: &mut Vec<String>,
) {
    match form.get(name) {
        Some(v) if v == want => {}
        Some(v) => problems.push(format!("field {name} = {v:?}, expected {want:?}")),
        None => problems.push(format!("field {name} is missing")),
    }
}

impl MiniMaxState {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Answer one request as the MiniMax portal would.
    pub fn handle(&self, req: &Request) -> Reply {
        match req.path.as_str() {
            DEVICE_CODE_PATH => self.device_code(req),
            TOKEN_PATH => {
                let form = req.form();
                match form.get("grant_type").map(String::as_str) {
                    Some(USER_CODE_GRANT) => self.poll(req, &form),
                    Some(REFRESH_GRANT) => self.refresh(req, &form),
                    other => {
                        let msg = format!("unsupported grant_type {other:?}");
                        self.inner().problems.push(msg.clone());
                        status_error(400, 1002, &msg)
                    }
                }
            }
            _ => Reply::not_found(),
        }
    }

    fn device_code(&self, req: &Request) -> Reply {
        let form = req.form();
        let mut problems = form_problems(req);
        expect_field(&form, "response_type", "code", &mut problems);
        expect_field(&form, "client_id", CLIENT_ID, &mut problems);
        expect_field(&form, "scope", SCOPE, &mut problems);
        expect_field(&form, "code_challenge_method", "S256", &mut problems);
        let challenge = form.get("code_challenge").cloned();
        match &challenge {
            Some(c) if is_s256_challenge(c) => {}
            Some(c) => problems.push(format!("code_challenge {c:?} is not an S256 challenge")),
            None => problems.push("field code_challenge is missing".to_owned()),
        }
        let sent_state = form.get("state").cloned().filter(|s| !s.is_empty());
        if sent_state.is_none() {
            problems.push("field state is missing or empty".to_owned());
        }

        let mut inner = self.inner();
        inner.device_codes += 1;
        inner.problems.extend(problems.iter().cloned());
        if challenge.is_some() {
            inner.challenge = challenge;
        }
        inner.sent_state = sent_state.clone();
        drop(inner);

        if let Some(reply) = &self.config.device_reply {
            return reply.clone();
        }
        if let Some(first) = problems.first() {
            return Reply::json(
                400,
                json!({"error": first, "base_resp": {"status_code": 1002, "status_msg": first}}),
            );
        }

        let cfg = &self.config;
        let uri = cfg.verification_uri.as_deref().unwrap_or(VERIFICATION_URI);
        // The code's expiry is absolute epoch milliseconds, as MiniMax sends it.
        let expires_in_ms = u64::try_from(cfg.code_expires_in.as_millis()).unwrap_or(u64::MAX);
        let mut answer = json!({
            "user_code": USER_CODE,
            "verification_uri": uri,
            "expired_in": now_ms().saturating_add(expires_in_ms),
            "interval": cfg.interval_ms,
        });
        match &cfg.state_echo {
            StateEcho::Echo => answer["state"] = json!(sent_state),
            StateEcho::Fixed(s) => answer["state"] = json!(s),
            StateEcho::Omit => {}
        }
        Reply::json(200, answer)
    }

    fn token_answer(&self, issued: &Issued) -> Reply {
        let cfg = &self.config;
        let mut answer = json!({
            "status": "success",
            "access_token": issued.access,
            "expired_in": cfg.token_expired_in,
        });
        if let Some(r) = &issued.refresh {
            answer["refresh_token"] = json!(r);
        }
        answer["token_type"] = json!("Bearer");
        if let Some(u) = &cfg.resource_url {
            answer["resource_url"] = json!(u);
        }
        if let Some(m) = &cfg.notification_message {
            answer["notification_message"] = json!(m);
        }
        Reply::json(200, answer)
    }

    fn poll(&self, req: &Request, form: &HashMap<String, String>) -> Reply {
        let mut inner = self.inner();
        inner.polls += 1;

        let mut problems = form_problems(req);
        // (code, message) of the first fatal problem, answered as an error.
        let mut fatal: Option<(u32, String)> = None;
        if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            let msg = format!("invalid client_id {:?}", form.get("client_id"));
            problems.push(msg.clone());
            fatal = fatal.or(Some((1002, msg)));
        }
        if form.get("user_code").map(String::as_str) != Some(USER_CODE) {
            let msg = format!("invalid user_code {:?}", form.get("user_code"));
            problems.push(msg.clone());
            fatal = fatal.or(Some((1005, msg)));
        }
        match (&inner.challenge, form.get("code_verifier")) {
            (None, _) => {
                let msg = "no device code was requested before the poll".to_owned();
                problems.push(msg.clone());
                fatal = fatal.or(Some((1003, msg)));
            }
            (Some(_), None) => {
                problems.push("field code_verifier is missing".to_owned());
                fatal = fatal.or(Some((1004, "invalid code_verifier".to_owned())));
            }
            (Some(challenge), Some(verifier)) => {
                let mismatch = match pkce_challenge(verifier) {
                    None => Some(format!(
                        "code_verifier is {} characters long; RFC 7636 wants 43 to 128",
                        verifier.len()
                    )),
                    Some(derived) if derived != *challenge => Some(format!(
                        "code_verifier does not match the code_challenge {challenge:?}"
                    )),
                    Some(_) => None,
                };
                if let Some(problem) = mismatch {
                    problems.push(problem);
                    fatal = fatal.or(Some((1004, "invalid code_verifier".to_owned())));
                }
            }
        }
        inner.problems.extend(problems);

        if let Some(script) = &self.config.token_replies {
            let pos = inner.token_script_pos.min(script.len() - 1);
            inner.token_script_pos += 1;
            return script[pos].clone();
        }
        if let Some((code, msg)) = fatal {
            return status_error(200, code, &msg);
        }
        if inner.pending_served < self.config.pending {
            inner.pending_served += 1;
            return Reply::json(200, json!({"status": "pending"}));
        }
        let issued = inner.issue("login", true);
        drop(inner);
        self.token_answer(&issued)
    }

    fn refresh(&self, req: &Request, form: &HashMap<String, String>) -> Reply {
        let delay = self.config.refresh_delay;
        let mut inner = self.inner();
        inner.refreshes += 1;
        let mut problems = form_problems(req);
        if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            problems.push(format!("invalid client_id {:?}", form.get("client_id")));
        }
        let token = form.get("refresh_token").cloned();
        if token.is_none() {
            problems.push("field refresh_token is missing".to_owned());
        }
        let first_problem = problems.first().cloned();
        inner.problems.extend(problems);

        if let Some(script) = &self.config.refresh_replies {
            let pos = inner.refresh_script_pos.min(script.len() - 1);
            inner.refresh_script_pos += 1;
            return script[pos].clone().delayed(delay);
        }
        if let Some(msg) = first_problem {
            return status_error(400, 1002, &msg).delayed(delay);
        }
        let token = token.unwrap_or_default();
        let live = if self.config.rotation {
            inner.live_refresh.remove(&token)
        } else {
            inner.live_refresh.contains(&token)
        };
        if !live {
            // Not 1001 (a time-out, which means "try later"): a dead grant.
            return status_error(400, 1004, "refresh token already used").delayed(delay);
        }
        let issued = inner.issue("refresh", self.config.rotation);
        drop(inner);
        self.token_answer(&issued).delayed(delay)
    }

    // --- what the test can read or change ---------------------------------

    /// Make `token` a live refresh token.
    pub fn add_refresh_token(&self, token: &str) {
        self.inner().live_refresh.insert(token.to_owned());
    }

    /// Kill a refresh token (as a revocation would).
    pub fn revoke_refresh_token(&self, token: &str) {
        self.inner().live_refresh.remove(token);
    }

    /// Would `token` refresh now?
    pub fn is_live(&self, token: &str) -> bool {
        self.inner().live_refresh.contains(token)
    }

    /// The live refresh tokens, sorted.
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        let mut live: Vec<String> = self.inner().live_refresh.iter().cloned().collect();
        live.sort();
        live
    }

    /// Refresh requests received (`grant_type=refresh_token`), answered or not.
    pub fn refresh_count(&self) -> usize {
        self.inner().refreshes
    }

    /// Token polls received (`grant_type=...:user_code`).
    pub fn poll_count(&self) -> usize {
        self.inner().polls
    }

    /// Device code requests received.
    pub fn device_code_count(&self) -> usize {
        self.inner().device_codes
    }

    /// The `code_challenge` of the last device code request that had one.
    pub fn code_challenge(&self) -> Option<String> {
        self.inner().challenge.clone()
    }

    /// The `state` sent with the last device code request.
    pub fn sent_state(&self) -> Option<String> {
        self.inner().sent_state.clone()
    }

    /// Every token pair handed out, in order.
    pub fn issued(&self) -> Vec<Issued> {
        self.inner().issued.clone()
    }

    /// What the fake found wrong in the client's requests, in order.
    pub fn problems(&self) -> Vec<String> {
        self.inner().problems.clone()
    }

    /// Panic listing the problems, if any.
    #[track_caller]
    pub fn assert_no_problems(&self) {
        let problems = self.problems();
        assert!(
            problems.is_empty(),
            "the fake MiniMax portal found problems in the client's requests:\n  {}",
            problems.join("\n  ")
        );
    }
}
