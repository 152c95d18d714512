//! The loopback (browser) flow, built to the standards because MiniMax has
//! not yet served it to this client: RFC 6749 authorization code, RFC 7636
//! PKCE S256, RFC 8252 loopback redirect to an IP literal (so `localhost`
//! resolving to IPv6 cannot miss a server listening on IPv4).
//!
//! The loopback server is reachable by every web page the user has open, so
//! (RFC 8252 §8, the OAuth security BCP):
//! - only a callback carrying this login's `state`, compared in constant
//!   time, can end the login; anything else (a stray tab, a forged `<img>`, a
//!   favicon) gets a 4xx page and the login keeps waiting;
//! - every connection is served on its own task, with a bounded read in time
//!   and size, so idle or slow connections never hold up the real callback;
//! - the browser is told "signed in" only once the tokens are saved.

use super::answer::{self, TokenAnswer};
use super::http::Http;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::profile::LoginTokens;
use crate::redact;
use crate::region::{Region, SCOPE, client_id, join, parse_base_url};
use crate::runtime::Runtime;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use url::Url;

pub const AUTHORIZE_URL_ENV: &str = "MINIMAX_PORTAL_AUTHORIZE_URL";
/// The port an early MiniMax CLI used; any free port when it is taken.
pub const PREFERRED_PORT: u16 = 18991;
const CALLBACK_PATH: &str = "/callback";
/// How long the user has to finish in the browser.
pub const WAIT_FOR_BROWSER: Duration = Duration::from_secs(10 * 60);
/// A browser sends its request at once; a connection that has not sent a
/// whole request head by then is closed (a slow sender included).
const READ_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// A callback's request head is well under this; more is not a browser's.
const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Connections served at once; more are closed on arrival. Each one ends
/// within the read timeout unless it carries this login's state.
const MAX_CONNECTIONS: usize = 64;
/// How long the last pages may take to reach the browser before the
/// command ends.
const DRAIN: Duration = Duration::from_secs(3);
/// Codes longer than this are not anyone's.
const MAX_CODE_LEN: usize = 4096;
/// How much of the provider's error text is kept.
const MAX_REASON_CHARS: usize = 300;

/// A listening loopback server and the authorize URL that leads to it.
pub struct Listening {
    pub authorize_url: Url,
    pub redirect_uri: String,
    listener: TcpListener,
    state: CsrfToken,
    verifier: PkceCodeVerifier,
    client_id: String,
    token_url: Url,
}

fn authorize_endpoint(region: Region) -> Result<Url> {
    match std::env::var(AUTHORIZE_URL_ENV) {
        Ok(text) if !text.trim().is_empty() => parse_base_url(text.trim())
            .map_err(|why| Error::usage(format!("{AUTHORIZE_URL_ENV} is not usable: {why}"))),
        _ => join(&region.oauth_base()?, "oauth2/authorize"),
    }
}

/// Listens on 127.0.0.1: on `port` when given (a clear error when it is
/// taken), else on 18991, else on any free port.
pub async fn bind(port: Option<u16>) -> Result<TcpListener> {
    if let Some(port) = port {
        return TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AddrInUse {
                    Error::failed(format!(
                        "port {port} on 127.0.0.1 is taken by another program, so the browser \
                         could not come back to it"
                    ))
                    .with_hint(
                        "pick another port with --port, or leave --port out to use 18991 or any \
                         free port",
                    )
                } else {
                    Error::failed(format!("cannot listen on 127.0.0.1:{port}: {e}"))
                        .with_hint("pick another port with --port, or leave --port out")
                }
            });
    }
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

/// Builds the authorize URL for a server listening on `listener`.
pub fn start(region: Region, listener: TcpListener) -> Result<Listening> {
    let port = listener
        .local_addr()
        .map_err(|e| Error::failed(format!("cannot read the loopback port: {e}")))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
    let redirect = RedirectUrl::new(redirect_uri.clone())
        .map_err(|e| Error::failed(format!("bad redirect URI: {e}")))?;
    let client_id = client_id()?;
    // Found out now, before the user signs in, if the token URL is unusable.
    let token_url = region.token_url()?;
    let client = BasicClient::new(ClientId::new(client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(authorize_endpoint(region)?))
        .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    crate::redact::register(verifier.secret());
    let (authorize_url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(SCOPE.split(' ').map(|s| Scope::new(s.to_string())))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Listening {
        authorize_url,
        redirect_uri,
        listener,
        state,
        verifier,
        client_id,
        token_url,
    })
}

impl Listening {
    /// Starts answering the browser; the server runs until the session is
    /// dropped (or the runtime ends).
    pub fn serve(self) -> Session {
        let (arrivals_tx, arrivals) = mpsc::channel(1);
        let (owed_tx, owed) = mpsc::channel(1);
        let (phase, _) = watch::channel(Phase::Waiting);
        let shared = Arc::new(Shared {
            state: self.state.secret().clone(),
            phase,
            arrivals: arrivals_tx,
            owed: Mutex::new(Some(owed_tx)),
        });
        let accept = tokio::spawn(accept_loop(self.listener, Arc::clone(&shared)));
        Session {
            redirect_uri: self.redirect_uri,
            verifier: self.verifier,
            client_id: self.client_id,
            token_url: self.token_url,
            shared,
            arrivals,
            owed,
            accept,
            first: None,
        }
    }
}

/// What came back from the provider with this login's state.
#[derive(Debug)]
pub enum Returned {
    Code(String),
    /// `error=` with this login's state: the provider's reason, cleaned.
    Denied(String),
}

/// How the sign-in ended, as the browser is told.
#[derive(Debug, Clone)]
pub enum Ending {
    SignedIn,
    Denied(String),
    Failed(String),
}

#[derive(Debug, Clone)]
enum Phase {
    /// Nothing with this login's state yet.
    Waiting,
    /// A callback (or a pasted address) arrived; its code is being traded.
    Completing,
    Done(Ending),
}

struct Shared {
    state: String,
    phase: watch::Sender<Phase>,
    arrivals: mpsc::Sender<Arrival>,
    /// Cloned by each connection that owes its browser the sign-in's
    /// outcome; the session waits for them all before it ends.
    owed: Mutex<Option<mpsc::Sender<()>>>,
}

impl Shared {
    /// Takes the login from Waiting to Completing; false when something
    /// else got there first.
    fn claim(&self) -> bool {
        self.phase.send_if_modified(|phase| {
            if matches!(phase, Phase::Waiting) {
                *phase = Phase::Completing;
                true
            } else {
                false
            }
        })
    }

    fn owe(&self) -> Option<mpsc::Sender<()>> {
        self.owed.lock().ok().and_then(|owed| owed.clone())
    }
}

struct Arrival {
    returned: Returned,
    answer: oneshot::Sender<Ending>,
}

/// The loopback server at work, and what the code exchange needs.
pub struct Session {
    pub redirect_uri: String,
    verifier: PkceCodeVerifier,
    client_id: String,
    token_url: Url,
    shared: Arc<Shared>,
    arrivals: mpsc::Receiver<Arrival>,
    owed: mpsc::Receiver<()>,
    accept: tokio::task::JoinHandle<()>,
    /// The browser tab whose callback is being completed.
    first: Option<oneshot::Sender<Ending>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Session {
    /// Waits for the callback that carries this login's state. Nothing
    /// else ends the wait; the caller bounds it.
    pub async fn next(&mut self) -> Option<Returned> {
        let arrival = self.arrivals.recv().await?;
        self.first = Some(arrival.answer);
        Some(arrival.returned)
    }

    /// Reads an address the user pasted from the browser's address bar. An
    /// error says, without quoting the text, why it was not taken.
    pub fn paste(&self, text: &str) -> std::result::Result<Returned, String> {
        let returned = read_pasted(text, self.redirect_uri.as_str(), &self.shared.state)?;
        if !self.shared.claim() {
            return Err("The browser has just come back by itself; finishing that.".to_string());
        }
        Ok(returned)
    }

    /// Trades the code for tokens at the token endpoint.
    pub async fn exchange(&self, http: &Http, code: &str) -> Result<LoginTokens> {
        let sent = http
            .post_form(
                &self.token_url,
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", &self.client_id),
                    ("code", code),
                    ("redirect_uri", &self.redirect_uri),
                    ("code_verifier", self.verifier.secret()),
                ],
            )
            .await;
        match answer::classify(sent, now_ms()) {
            TokenAnswer::Tokens(tokens) => answer::login_tokens(tokens),
            TokenAnswer::Transient { reason, .. } => Err(Error::transient(format!(
                "could not trade the code for tokens: {reason}"
            ))
            .with_hint("run login again in a few minutes")),
            TokenAnswer::SlowDown { .. } => Err(Error::transient(
                "the MiniMax portal asked to slow down while trading the code for tokens",
            )
            .with_hint("run login again in a few minutes")),
            TokenAnswer::Rejected(reason) | TokenAnswer::Failed(reason) => Err(Error::failed(
                format!("the MiniMax portal refused the code: {reason}"),
            )
            .with_hint("run login again; if it keeps failing, use --flow device")),
            TokenAnswer::Pending => Err(Error::failed(
                "the portal answered the code exchange without tokens",
            )),
        }
    }

    /// Tells the browser how the sign-in ended (the tab that brought the
    /// code, and any that came back after it), then waits a moment for
    /// those pages to go out.
    pub async fn finish(mut self, ending: Ending) {
        if let Some(first) = self.first.take() {
            let _ = first.send(ending.clone());
        }
        self.shared.phase.send_replace(Phase::Done(ending));
        if let Ok(mut owed) = self.shared.owed.lock() {
            owed.take();
        }
        let _ = tokio::time::timeout(DRAIN, self.owed.recv()).await;
    }
}

/// A browser sign-in driven from blocking code, on a runtime of its own
/// that lives as long as the sign-in: the loopback server answers browsers
/// while any call below runs. One Ctrl-C listener, set up at the start,
/// serves every call, so none is missed in between.
pub struct BrowserLogin {
    http: Http,
    authorize_url: Url,
    session: Session,
    /// None once Ctrl-C arrived: every later call is cancelled at once.
    ctrl_c: Option<CtrlC>,
    tick: tokio::time::Interval,
    /// Last, so the server and its timers go before the runtime does.
    runtime: Runtime,
}

type CtrlC = Pin<Box<dyn Future<Output = std::io::Result<()>>>>;

/// A loopback port bound for a browser sign-in, before it starts.
pub struct Bound {
    listener: TcpListener,
    runtime: Runtime,
}

/// What ended one wait of a browser sign-in.
pub enum Event<L> {
    /// The browser came back with this login's state.
    Returned(Returned),
    /// A line from the lines being read (a pasted address).
    Line(L),
    /// Those lines ended.
    LinesDone,
    /// The deadline passed.
    TimedOut,
    /// A second passed.
    Tick,
}

/// Ctrl-C (or SIGINT); at once when it came before.
async fn interrupted(ctrl_c: &mut Option<CtrlC>) {
    if let Some(signal) = ctrl_c {
        let _ = signal.as_mut().await;
    }
    *ctrl_c = None;
}

/// The next line; pending for ever once the lines end (or when none).
async fn next_line<L>(lines: Option<&mut mpsc::Receiver<L>>) -> Option<L> {
    match lines {
        Some(lines) => lines.recv().await,
        None => std::future::pending().await,
    }
}

impl BrowserLogin {
    /// Listens on 127.0.0.1 as `bind` does, blocking.
    pub fn bind(port: Option<u16>) -> Result<Bound> {
        let runtime = Runtime::new()?;
        let listener = runtime.block_on(bind(port))??;
        Ok(Bound { listener, runtime })
    }

    pub fn authorize_url(&self) -> &Url {
        &self.authorize_url
    }

    pub fn redirect_uri(&self) -> &str {
        &self.session.redirect_uri
    }

    /// Reads an address the user pasted (`Session::paste`).
    pub fn paste(&self, text: &str) -> std::result::Result<Returned, String> {
        self.session.paste(text)
    }

    /// Waits, blocking, for the browser's return, a line from `lines`, the
    /// deadline or the next second, whichever comes first; Ctrl-C cancels.
    pub fn next_event<L>(
        &mut self,
        deadline: std::time::Instant,
        lines: Option<&mut mpsc::Receiver<L>>,
    ) -> Result<Event<L>> {
        let deadline = tokio::time::Instant::from_std(deadline);
        let BrowserLogin {
            session,
            ctrl_c,
            tick,
            runtime,
            ..
        } = self;
        runtime.block_on(async {
            tokio::select! {
                _ = interrupted(ctrl_c) => Err(Error::cancelled()),
                returned = session.next() => returned
                    .map(Event::Returned)
                    .ok_or_else(|| Error::failed("the loopback server stopped")),
                line = next_line(lines) => Ok(line.map_or(Event::LinesDone, Event::Line)),
                _ = tokio::time::sleep_until(deadline) => Ok(Event::TimedOut),
                _ = tick.tick() => Ok(Event::Tick),
            }
        })?
    }

    /// Trades the code for tokens, blocking; Ctrl-C cancels.
    pub fn exchange(&mut self, code: &str) -> Result<LoginTokens> {
        let BrowserLogin {
            http,
            session,
            ctrl_c,
            runtime,
            ..
        } = self;
        runtime.block_on(async {
            tokio::select! {
                tokens = session.exchange(http, code) => tokens,
                _ = interrupted(ctrl_c) => Err(Error::cancelled()),
            }
        })?
    }

    /// Tells the browser how the sign-in ended (`Session::finish`),
    /// blocking.
    pub fn finish(self, ending: Ending) {
        let BrowserLogin {
            session, runtime, ..
        } = self;
        let _ = runtime.block_on(session.finish(ending));
    }
}

impl Bound {
    /// Builds the authorize URL and starts answering the browser, blocking.
    pub fn start(self, region: Region) -> Result<BrowserLogin> {
        let Bound { listener, runtime } = self;
        let http = Http::new()?;
        let listening = start(region, listener)?;
        let authorize_url = listening.authorize_url.clone();
        let (session, ctrl_c, tick) = runtime.block_on(async {
            let mut ctrl_c: CtrlC = Box::pin(tokio::signal::ctrl_c());
            // Polled once now, so that a Ctrl-C from here on is seen by the
            // next call.
            let now = tokio::select! {
                biased;
                _ = ctrl_c.as_mut() => None,
                _ = std::future::ready(()) => Some(ctrl_c),
            };
            (
                listening.serve(),
                now,
                tokio::time::interval(Duration::from_secs(1)),
            )
        })?;
        Ok(BrowserLogin {
            http,
            authorize_url,
            session,
            ctrl_c,
            tick,
            runtime,
        })
    }
}

/// Letters, digits and `-._~` only: what a code looks like, not an address.
/// The code (or the refusal) in an address pasted from the browser, for
/// the login whose redirect URI and state these are. An error says,
/// without quoting the text, why it was not taken.
pub(crate) fn read_pasted(
    text: &str,
    redirect_uri: &str,
    state: &str,
) -> std::result::Result<Returned, String> {
    let text = text.trim();
    let whole = format!(
        "paste the whole address from the browser's address bar (it starts with {redirect_uri}?)"
    );
    let url = match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        _ if looks_like_a_bare_code(text) => {
            return Err(format!(
                "That looks like a code alone, which is not enough: {whole}."
            ));
        }
        _ => return Err(format!("That is not an address: {whole}.")),
    };
    if url.path() != CALLBACK_PATH {
        return Err(format!(
            "That is not the address the browser comes back to after you approve: {whole}."
        ));
    }
    match read_callback(&url, state) {
        Callback::Returned(returned) => Ok(returned),
        Callback::ForeignState => Err(format!(
            "That address belongs to another sign-in (its state does not match this \
             login's), so it was ignored: {whole}, from the tab this login's link opened."
        )),
        Callback::NoCode | Callback::Malformed => {
            Err(format!("That address carries no usable code: {whole}."))
        }
    }
}

fn looks_like_a_bare_code(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
}

/// Equal without a timing difference that tells how much of a guess was
/// right.
fn same_secret(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

enum Callback {
    Returned(Returned),
    /// No state, or not this login's.
    ForeignState,
    /// This login's state, but neither a code nor an error.
    NoCode,
    /// A parameter given twice, or a code no provider sends.
    Malformed,
}

/// What a callback's query says, for this login's `state`.
fn read_callback(url: &Url, state: &str) -> Callback {
    let mut seen_state = None;
    let mut code = None;
    let mut error = None;
    let mut description = None;
    for (key, value) in url.query_pairs() {
        let slot = match key.as_ref() {
            "state" => &mut seen_state,
            "code" => &mut code,
            "error" => &mut error,
            "error_description" => &mut description,
            _ => continue,
        };
        // RFC 6749 §3.1: a parameter must not be sent more than once.
        if slot.replace(value.into_owned()).is_some() {
            return Callback::Malformed;
        }
    }
    // A code is a secret whatever else the address says.
    if let Some(code) = &code {
        crate::redact::register(code);
    }
    if !seen_state.is_some_and(|seen| same_secret(&seen, state)) {
        return Callback::ForeignState;
    }
    if let Some(error) = error {
        let text = format!("{error} {}", description.unwrap_or_default());
        return Callback::Returned(Returned::Denied(redact::clean(
            text.trim(),
            MAX_REASON_CHARS,
        )));
    }
    match code {
        None => Callback::NoCode,
        Some(code) if code.is_empty() || code.len() > MAX_CODE_LEN => Callback::Malformed,
        // RFC 6749 appendix A.11: a code is printable ASCII.
        Some(code) if !code.chars().all(|c| matches!(c, ' '..='~')) => Callback::Malformed,
        Some(code) => {
            crate::redact::register(&code);
            Callback::Returned(Returned::Code(code))
        }
    }
}

/// The connections that have not sent a whole request head yet, oldest
/// first: when all slots are taken, the oldest is closed to make room, so
/// that idle local connections cannot hold off the browser's callback.
#[derive(Default)]
struct Idle {
    next_id: std::sync::atomic::AtomicU64,
    waiting: Mutex<std::collections::VecDeque<(u64, oneshot::Sender<()>)>>,
}

impl Idle {
    /// Registers a new connection; the receiver fires when it is evicted.
    fn add(&self) -> (u64, oneshot::Receiver<()>) {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (evict, evicted) = oneshot::channel();
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.push_back((id, evict));
        }
        (id, evicted)
    }

    /// The connection has sent its head (or is gone): no longer idle.
    fn remove(&self, id: u64) {
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.retain(|(other, _)| *other != id);
        }
    }

    /// Closes the oldest idle connection; false when there is none.
    fn evict_oldest(&self) -> bool {
        let oldest = self.waiting.lock().ok().and_then(|mut w| w.pop_front());
        match oldest {
            Some((_, evict)) => {
                let _ = evict.send(());
                true
            }
            None => false,
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let idle = Arc::new(Idle::default());
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: pass, then go on.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            // Full: the oldest idle connection makes room (its task ends
            // at once and frees its slot); none idle, this one is dropped.
            Err(_) if idle.evict_oldest() => {
                match tokio::time::timeout(READ_TIMEOUT, Arc::clone(&slots).acquire_owned()).await {
                    Ok(Ok(slot)) => slot,
                    _ => continue,
                }
            }
            Err(_) => continue,
        };
        let shared = Arc::clone(&shared);
        let idle = Arc::clone(&idle);
        tokio::spawn(async move {
            serve_connection(stream, &shared, &idle).await;
            drop(slot);
        });
    }
}

/// A page for the browser.
pub(crate) struct Page {
    pub(crate) status: &'static str,
    title: &'static str,
    pub(crate) text: String,
}

impl Page {
    fn new(status: &'static str, title: &'static str, text: impl Into<String>) -> Page {
        Page {
            status,
            title,
            text: text.into(),
        }
    }
}

const GOES_ON: &str = "The sign-in in the terminal goes on: finish it in the tab that its link \
opened.";

async fn serve_connection(mut stream: TcpStream, shared: &Shared, idle: &Idle) {
    let (id, evicted) = idle.add();
    let read = tokio::select! {
        read = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)) => Some(read),
        _ = evicted => None,
    };
    idle.remove(id);
    let Some(read) = read else {
        return;
    };
    let head = match read {
        Ok(Ok(head)) => head,
        Ok(Err(Unread::TooLarge)) => {
            let page = Page::new(
                "431 Request Header Fields Too Large",
                "Request too large",
                "This is not a sign-in answer.",
            );
            return respond(&mut stream, &page).await;
        }
        // Silent, slow or gone: nothing to answer.
        Ok(Err(Unread::Closed)) | Err(_) => return,
    };
    let returned = match callback_in(&head, &shared.state) {
        Ok(returned) => returned,
        Err(page) => return respond(&mut stream, &page).await,
    };
    // This tab is owed the outcome: the session waits for its page.
    let owed = shared.owe();
    let Some((ending, first)) = complete(shared, returned).await else {
        return;
    };
    respond(&mut stream, &outcome_page(&ending, first)).await;
    drop(owed);
}

/// What a request head brings: this login's callback, or the page that
/// turns it away.
pub(crate) fn callback_in(head: &str, state: &str) -> std::result::Result<Returned, Page> {
    let mut words = head.lines().next().unwrap_or_default().split(' ');
    let (method, target) = (words.next().unwrap_or_default(), words.next());
    let url = target
        .filter(|t| t.starts_with('/'))
        .and_then(|t| Url::parse(&format!("http://127.0.0.1{t}")).ok());
    let Some(url) = url else {
        return Err(Page::new(
            "400 Bad Request",
            "Bad request",
            "This is not a sign-in answer.",
        ));
    };
    if method != "GET" {
        return Err(Page::new(
            "405 Method Not Allowed",
            "Not allowed",
            "This is not a sign-in answer.",
        ));
    }
    if url.path() != CALLBACK_PATH {
        return Err(Page::new(
            "404 Not Found",
            "Not found",
            "This is not the sign-in page.",
        ));
    }
    match read_callback(&url, state) {
        Callback::Returned(returned) => Ok(returned),
        Callback::ForeignState => Err(Page::new(
            "400 Bad Request",
            "Sign-in answer ignored",
            format!(
                "This answer does not belong to the sign-in that is waiting, so it was \
                 ignored. {GOES_ON}"
            ),
        )),
        Callback::NoCode | Callback::Malformed => Err(Page::new(
            "400 Bad Request",
            "Sign-in answer ignored",
            format!("This answer carries no usable code, so it was ignored. {GOES_ON}"),
        )),
    }
}

/// The first callback goes to the session, and its tab hears how the
/// sign-in ended (`true`); a later one hears how the first one's ended
/// (`false`). None when the session is gone.
async fn complete(shared: &Shared, returned: Returned) -> Option<(Ending, bool)> {
    if shared.claim() {
        let (answer, outcome) = oneshot::channel();
        let arrival = Arrival { returned, answer };
        shared.arrivals.send(arrival).await.ok()?;
        let ending = outcome
            .await
            .unwrap_or_else(|_| Ending::Failed("the sign-in was stopped".to_string()));
        return Some((ending, true));
    }
    // Another tab (or a pasted address) got here first: say how that ended.
    let mut phase = shared.phase.subscribe();
    let done = phase
        .wait_for(|p| matches!(p, Phase::Done(_)))
        .await
        .map(|p| p.clone());
    match done {
        Ok(Phase::Done(ending)) => Some((ending, false)),
        _ => Some((Ending::Failed("the sign-in was stopped".to_string()), false)),
    }
}

/// What the browser is told about the sign-in; `first` for the tab that
/// brought the code, otherwise for one that came back after it.
fn outcome_page(ending: &Ending, first: bool) -> Page {
    match (ending, first) {
        (Ending::SignedIn, true) => Page::new(
            "200 OK",
            "Signed in to MiniMax",
            "You are signed in. You can close this tab and go back to the terminal.",
        ),
        (Ending::SignedIn, false) => Page::new(
            "200 OK",
            "Already signed in",
            "This sign-in is already complete. You can close this tab.",
        ),
        (Ending::Denied(reason), _) => Page::new(
            "200 OK",
            "Sign-in not completed",
            format!("MiniMax did not approve the sign-in ({reason}). You can close this tab."),
        ),
        (Ending::Failed(why), _) => Page::new(
            "500 Internal Server Error",
            "Sign-in failed",
            format!(
                "The sign-in could not be completed: {why}. The terminal says what to do next."
            ),
        ),
    }
}

enum Unread {
    /// Closed, or broken, before a whole request head.
    Closed,
    TooLarge,
}

/// Reads a request head (up to the blank line).
async fn read_head(stream: &mut TcpStream) -> std::result::Result<String, Unread> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| Unread::Closed)?;
        if n == 0 {
            return Err(Unread::Closed);
        }
        if buf.len() + n > MAX_REQUEST_BYTES {
            return Err(Unread::TooLarge);
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Ok(String::from_utf8_lossy(&buf).into_owned());
        }
    }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

async fn respond(stream: &mut TcpStream, page: &Page) {
    let title = escape_html(page.title);
    let text = escape_html(&crate::redact::scrub(&page.text));
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{text}</p></body></html>"
    );
    // The callback's address holds the code: no referrer, no caching, and
    // nothing the page could load.
    let reply = format!(
        "HTTP/1.1 {}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n{body}",
        page.status,
        body.len()
    );
    let _ = tokio::time::timeout(WRITE_TIMEOUT, async {
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callback(query: &str) -> Callback {
        let url = Url::parse(&format!("http://127.0.0.1:1/callback?{query}")).unwrap();
        read_callback(&url, "state-0123456789")
    }

    #[test]
    fn only_this_logins_state_counts() {
        assert!(matches!(
            callback("code=c-1&state=state-0123456789"),
            Callback::Returned(Returned::Code(c)) if c == "c-1"
        ));
        for foreign in [
            "code=c-1",
            "code=c-1&state=",
            "code=c-1&state=state-012345678",
            "code=c-1&state=state-0123456789x",
            "code=c-1&state=STATE-0123456789",
            "error=access_denied&state=forged",
        ] {
            assert!(
                matches!(callback(foreign), Callback::ForeignState),
                "{foreign}"
            );
        }
        assert!(matches!(
            callback("state=state-0123456789"),
            Callback::NoCode
        ));
        assert!(matches!(
            callback("code=a&code=b&state=state-0123456789"),
            Callback::Malformed
        ));
        assert!(matches!(
            callback("code=a&state=state-0123456789&state=state-0123456789"),
            Callback::Malformed
        ));
        assert!(matches!(
            callback("code=a%0Ab&state=state-0123456789"),
            Callback::Malformed
        ));
    }

    #[test]
    fn the_providers_reason_is_cleaned() {
        let got = callback(
            "error=access_denied&error_description=no%0A%1B%5B31mthanks&state=state-0123456789",
        );
        match got {
            Callback::Returned(Returned::Denied(reason)) => {
                assert!(!reason.chars().any(char::is_control), "{reason:?}");
                assert!(reason.starts_with("access_denied no"), "{reason:?}");
            }
            _ => panic!("not a denial"),
        }
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }

    #[test]
    fn bare_codes_and_pages_are_told_apart() {
        assert!(looks_like_a_bare_code("Xy-12_3.4~"));
        assert!(!looks_like_a_bare_code(
            "http://127.0.0.1:1/callback?code=x"
        ));
        assert!(!looks_like_a_bare_code("code=x&state=y"));
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
