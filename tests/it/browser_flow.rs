//! `login --flow browser`: the loopback redirect, with the test as the
//! browser (and as the web pages that try to break it) and a local portal
//! checking the code exchange and PKCE.

use crate::support::cli::{Plugin, Run};
use crate::support::http_server::{Portal, Reply};
use crate::support::lock;
use crate::support::minimax::{CLIENT_ID, SCOPE, TOKEN_PATH, pkce_challenge};
use crate::support::profile::stored;
use crate::support::tty::Tty;
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The code the portal accepts, and the tokens it gives for it.
const CODE: &str = "code-123-from-the-portal";
const ACCESS: &str = "acc-code-0123456789";

/// The portal's token endpoint for the authorization-code grant; it
/// accepts only [`CODE`] with the verifier of the recorded challenge, and
/// answers after `delay`.
fn code_portal(challenge: Arc<Mutex<Option<String>>>, delay: Duration) -> Portal {
    Portal::start(move |r| {
        let form = r.form();
        if r.path != TOKEN_PATH
            || form.get("grant_type").map(String::as_str) != Some("authorization_code")
        {
            return Reply::not_found();
        }
        let expected = lock(&challenge).clone();
        let verifier_ok = match (form.get("code_verifier"), expected) {
            (Some(verifier), Some(challenge)) => pkce_challenge(verifier) == Some(challenge),
            // No verifier, or no challenge recorded yet: nothing can match.
            _ => false,
        };
        if form.get("code").map(String::as_str) != Some(CODE)
            || !verifier_ok
            || form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        {
            return Reply::json(
                400,
                json!({"error": "invalid_grant", "error_description": "bad code or verifier"}),
            )
            .delayed(delay);
        }
        if !form
            .get("redirect_uri")
            .is_some_and(|u| u.starts_with("http://127.0.0.1:"))
        {
            return Reply::json(
                400,
                json!({"error": "invalid_request", "error_description": "redirect_uri"}),
            );
        }
        Reply::json(
            200,
            json!({"status": "success", "access_token": ACCESS, "refresh_token": "ref-code-0123456789", "expired_in": 3600}),
        )
        .delayed(delay)
    })
}

/// A login waiting for the browser (also used by `browser_interop`).
pub(crate) struct Login {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The stderr lines not read yet.
    lines: mpsc::Receiver<String>,
    /// The stderr lines read so far.
    seen: Vec<String>,
    pub(crate) authorize: url::Url,
    pub(crate) query: HashMap<String, String>,
}

/// A browser sign-in that opens no browser: the test plays the browser.
const BROWSER_LOGIN: [&str; 6] = [
    "login",
    "--region",
    "global",
    "--flow",
    "browser",
    "--no-browser",
];

/// [`BROWSER_LOGIN`] with `extra` after it.
fn browser_login_with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = BROWSER_LOGIN.to_vec();
    args.extend_from_slice(extra);
    args
}

impl Login {
    /// Starts [`BROWSER_LOGIN`] `--json EXTRA...` and reads the authorize
    /// URL it prints.
    pub(crate) fn start(plugin: &Plugin, extra: &[&str]) -> Login {
        let mut args = browser_login_with(&["--json"]);
        args.extend_from_slice(extra);
        Login::spawn(plugin, &args)
    }

    pub(crate) fn spawn(plugin: &Plugin, args: &[&str]) -> Login {
        let mut child = plugin
            .command(args)
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn the plugin");
        let stdin = child.stdin.take();
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut seen = Vec::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            let Ok(line) = lines.recv_timeout(Duration::from_secs(1)) else {
                continue;
            };
            seen.push(line.clone());
            if let Some(pos) = line.find("http://127.0.0.1:")
                && line.contains("/oauth2/authorize")
            {
                let authorize =
                    url::Url::parse(line[pos..].trim()).expect("the authorize URL parses");
                let query = authorize
                    .query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                return Login {
                    child,
                    stdin,
                    lines,
                    seen,
                    authorize,
                    query,
                };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the plugin printed no authorize URL:\n{}", seen.join("\n"));
    }

    fn redirect_uri(&self) -> &str {
        &self.query["redirect_uri"]
    }

    fn state(&self) -> &str {
        &self.query["state"]
    }

    pub(crate) fn port(&self) -> u16 {
        url::Url::parse(self.redirect_uri())
            .expect("redirect_uri is a URL")
            .port()
            .expect("redirect_uri has a port")
    }

    /// The callback the portal would send the browser to with `code`.
    fn callback(&self, code: &str) -> String {
        format!("/callback?code={code}&state={}", self.state())
    }

    /// Lets the portal accept the verifier of this login's challenge.
    fn approve_at(&self, challenge: &Arc<Mutex<Option<String>>>) {
        *lock(challenge) = Some(self.query["code_challenge"].clone());
    }

    /// Types a line on the login's stdin, as a paste would.
    fn paste(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}").expect("write the plugin's stdin");
        stdin.flush().expect("flush the plugin's stdin");
    }

    /// Waits until stderr has a line containing `needle`.
    fn wait_for(&mut self, needle: &str) {
        let started = Instant::now();
        while !self.seen.iter().any(|l| l.contains(needle)) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "stderr never said {needle:?}:\n{}",
                self.seen.join("\n")
            );
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.seen.push(line);
            }
        }
    }

    /// Is the login still running?
    fn running(&mut self) -> bool {
        self.child
            .try_wait()
            .expect("wait for the plugin")
            .is_none()
    }

    /// Waits for the login to end.
    pub(crate) fn wait(mut self) -> Run {
        drop(self.stdin.take());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the plugin") {
                break status;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the plugin hung:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .expect("piped stdout")
            .read_to_string(&mut stdout)
            .expect("read the plugin's stdout");
        // The reader thread ends with the pipe; take every line it got.
        let mut stderr = std::mem::take(&mut self.seen);
        stderr.extend(self.lines.iter());
        Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr: stderr.join("\n"),
        }
    }
}

/// A test that fails half way does not leave its login waiting 10 minutes.
impl Drop for Login {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One HTTP answer as a browser gets it.
struct BrowserPage {
    status: u16,
    text: String,
}

impl std::fmt::Display for BrowserPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}\n{}", self.status, self.text)
    }
}

/// What a browser does when the portal redirects it back: one GET of
/// `path_and_query` at the redirect URI's port.
fn browser_get(port: u16, path_and_query: &str) -> BrowserPage {
    send_raw(
        port,
        format!(
            "GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: test-browser\r\n\r\n"
        )
        .as_bytes(),
    )
}

/// Sends `request` as is and reads the answer until the server closes.
/// The read is bounded generously, against a hang only.
fn send_raw(port: u16, request: &[u8]) -> BrowserPage {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the callback");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("set a read timeout");
    let _ = stream.write_all(request);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    BrowserPage { status, text }
}

/// A free port on 127.0.0.1 (free a moment ago).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

fn setup(delay: Duration) -> (Portal, Arc<Mutex<Option<String>>>, Plugin) {
    let challenge = Arc::new(Mutex::new(None));
    let portal = code_portal(Arc::clone(&challenge), delay);
    let plugin = Plugin::new(&portal.url());
    (portal, challenge, plugin)
}

#[test]
fn the_browser_comes_back_with_a_code_and_is_told_only_once_it_is_saved() {
    let (portal, challenge, plugin) = setup(Duration::ZERO);
    let login = Login::start(&plugin, &[]);

    // The authorize URL is the standard one, with PKCE S256 and our scope.
    assert_eq!(login.authorize.path(), "/oauth2/authorize");
    let q = &login.query;
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["scope"], SCOPE);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(
        login.redirect_uri().starts_with("http://127.0.0.1:"),
        "{q:?}"
    );
    assert!(login.redirect_uri().ends_with("/callback"), "{q:?}");
    login.approve_at(&challenge);

    // A stray request (a favicon) does not end the wait.
    assert_eq!(browser_get(login.port(), "/favicon.ico").status, 404);
    let page = browser_get(login.port(), &login.callback(CODE));
    // The page comes after the save: the profile is there already.
    let saved = plugin.profile_file("default").exists();
    assert_eq!(page.status, 200, "{page}");
    assert!(page.text.contains("You are signed in"), "{page}");
    assert!(saved, "the browser was told before the profile was saved");

    let run = login.wait();
    run.expect_code(0);
    assert_eq!(run.json()["profile_id"], "minimax-portal:default");
    assert!(!run.all_output().contains(ACCESS), "{run}");
    assert!(!run.all_output().contains(CODE), "the code leaked: {run}");
    assert_eq!(stored(&plugin, "default")["client_id"], CLIENT_ID);
    assert_eq!(portal.count(TOKEN_PATH), 1);
    let token = plugin.run(&["token"]);
    assert_eq!(token.stdout, format!("{ACCESS}\n"), "{token}");
}

#[test]
fn forged_callbacks_get_an_error_page_and_the_login_keeps_waiting() {
    let (portal, challenge, plugin) = setup(Duration::ZERO);
    let login = Login::start(&plugin, &[]);
    login.approve_at(&challenge);
    let port = login.port();
    let state = login.state().to_string();
    let almost = format!("{}x", &state[..state.len() - 1]);
    // What any web page the user has open can make the browser send.
    let forged = [
        format!("/callback?code={CODE}&state=forged-state"),
        format!("/callback?code={CODE}&state={almost}"),
        format!("/callback?code={CODE}"),
        format!("/callback?code={CODE}&state="),
        format!("/callback?state={state}"),
        format!("/callback?code=&state={state}"),
        format!("/callback?code={CODE}&state={state}&state={state}"),
        "/callback?error=access_denied&state=forged-state".to_string(),
        "/callback?error=access_denied".to_string(),
        format!("/elsewhere?code={CODE}&state={state}"),
        "/".to_string(),
    ];
    for target in &forged {
        let page = browser_get(port, target);
        assert!((400..500).contains(&page.status), "{target} got {page}");
    }
    let post = send_raw(
        port,
        format!("POST /callback?code={CODE}&state={state} HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(post.status, 405, "{post}");
    assert_eq!(portal.count(TOKEN_PATH), 0, "a forged code was traded");

    // The real callback still completes the sign-in.
    let page = browser_get(port, &login.callback(CODE));
    assert_eq!(page.status, 200, "{page}");
    let run = login.wait();
    run.expect_code(0);
    run.stderr_lacks("CSRF");
    assert_eq!(portal.count(TOKEN_PATH), 1);
    assert!(plugin.profile_file("default").exists());
}

/// `count` connections that say nothing, or (`half`) stop half way through
/// a request, held open until the end; then the browser's callback.
fn idle_connections_then_the_callback(count: usize, half: bool) {
    let (_portal, challenge, plugin) = setup(Duration::ZERO);
    let login = Login::start(&plugin, &[]);
    login.approve_at(&challenge);
    let port = login.port();
    let idle: Vec<TcpStream> = (0..count)
        .map(|i| {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            if half && i % 2 == 1 {
                let _ = stream.write_all(b"GET /callback?state=");
            }
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let page = browser_get(port, &login.callback(CODE));
    assert_eq!(page.status, 200, "{page}");
    login.wait().expect_code(0);
    drop(idle);
}

/// Served one at a time, each idle connection would hold up the callback
/// for the whole read timeout, and the callback's read would give up first.
#[test]
fn ten_idle_connections_do_not_hold_up_the_callback() {
    idle_connections_then_the_callback(10, true);
}

/// More idle local connections than the server keeps (64): the oldest
/// idle one is closed to make room, so the callback still gets through.
#[test]
fn a_hundred_idle_connections_do_not_hold_off_the_callback() {
    idle_connections_then_the_callback(100, false);
}

#[test]
fn a_slow_sender_is_cut_off_and_an_oversized_request_refused() {
    let (_portal, challenge, plugin) = setup(Duration::ZERO);
    let login = Login::start(&plugin, &[]);
    login.approve_at(&challenge);
    let port = login.port();

    // One byte every 200 ms: each read is quick, the request never ends.
    // The server must close it by its bound on the whole request.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    slow.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    let started = Instant::now();
    let closed = loop {
        if started.elapsed() > Duration::from_secs(30) {
            break false;
        }
        if slow.write_all(b"X").is_err() {
            break true;
        }
        let mut byte = [0u8; 1];
        match slow.read(&mut byte) {
            Ok(0) => break true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            _ => break true,
        }
    };
    assert!(closed, "a trickling connection was kept for 30 s");

    let huge = format!(
        "GET {} HTTP/1.1\r\nX-Padding: {}\r\n\r\n",
        login.callback(CODE),
        "a".repeat(100_000)
    );
    let page = send_raw(port, huge.as_bytes());
    assert!(page.status == 431 || page.status == 0, "{page}");

    let page = browser_get(port, &login.callback(CODE));
    assert_eq!(page.status, 200, "{page}");
    login.wait().expect_code(0);
}

#[test]
fn an_error_with_this_logins_state_ends_it_with_the_reason_cleaned() {
    let (portal, _challenge, plugin) = setup(Duration::ZERO);
    let login = Login::start(&plugin, &[]);
    let page = browser_get(
        login.port(),
        &format!(
            "/callback?error=access_denied&error_description=user+said+no%0A%1B%5B31mred&state={}",
            login.state()
        ),
    );
    assert_eq!(page.status, 200, "{page}");
    assert!(page.text.contains("did not approve"), "{page}");
    let run = login.wait();
    run.expect_code(1);
    run.stderr_has("did not approve the sign-in: access_denied user said no");
    assert!(!run.stderr.contains('\u{1b}'), "a control character: {run}");
    assert_eq!(portal.count(TOKEN_PATH), 0);
    assert!(!plugin.profile_file("default").exists());
}

#[test]
fn a_second_callback_is_told_the_sign_in_is_already_complete() {
    // The exchange takes a moment, so that a second callback arrives while
    // the first is being completed (a reload, a double submit).
    let (portal, challenge, plugin) = setup(Duration::from_millis(1500));
    let login = Login::start(&plugin, &[]);
    login.approve_at(&challenge);
    let port = login.port();
    let callback = login.callback(CODE);
    let first = std::thread::spawn(move || browser_get(port, &callback));
    let started = Instant::now();
    while portal.count(TOKEN_PATH) == 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "no exchange");
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = browser_get(port, &login.callback("another-code-0123456789"));
    let first = first.join().expect("the first browser tab");
    assert_eq!(first.status, 200, "{first}");
    assert!(first.text.contains("You are signed in"), "{first}");
    assert_eq!(second.status, 200, "{second}");
    assert!(
        second.text.contains("This sign-in is already complete"),
        "{second}"
    );
    login.wait().expect_code(0);
    assert_eq!(portal.count(TOKEN_PATH), 1, "the second code was traded");
}

#[test]
fn a_save_that_fails_is_what_the_browser_is_told() {
    let (_portal, challenge, mut plugin) = setup(Duration::ZERO);
    plugin.set("MINIMAX_PORTAL_AUTH_LOCK_TIMEOUT_MS", "300");
    let login = Login::start(&plugin, &[]);
    login.approve_at(&challenge);
    // Another process holds the profile's lock past the timeout: the save
    // fails after the code was traded.
    let locks = plugin.home().join("locks");
    std::fs::create_dir_all(&locks).expect("the locks folder");
    let lock_file = locks.join("minimax-portal.default.lock");
    let held = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_file)
        .expect("open the profile's lock file");
    held.lock().expect("hold the profile's lock");
    let page = browser_get(login.port(), &login.callback(CODE));
    assert_eq!(page.status, 500, "{page}");
    assert!(page.text.contains("Sign-in failed"), "{page}");
    assert!(!page.text.contains("You are signed in"), "{page}");
    let run = login.wait();
    run.expect_code(4);
    run.stderr_has("another minimax-portal-auth process");
    assert!(!plugin.profile_file("default").exists());
    drop(held);
}

#[test]
fn a_refused_code_is_what_the_browser_is_told() {
    let (_portal, _challenge, plugin) = setup(Duration::ZERO);
    let login = Login::start(&plugin, &[]);
    // No challenge recorded: the portal refuses the code (invalid_grant).
    let page = browser_get(login.port(), &login.callback(CODE));
    assert_eq!(page.status, 500, "{page}");
    assert!(page.text.contains("refused the code"), "{page}");
    let run = login.wait();
    run.expect_code(1);
    run.stderr_has("refused the code");
}

#[test]
fn a_busy_preferred_port_falls_back_to_a_free_one() {
    // Hold the preferred port (or find it already held by a parallel test).
    let _held = TcpListener::bind("127.0.0.1:18991");
    let (_portal, challenge, plugin) = setup(Duration::ZERO);
    let login = Login::start(&plugin, &[]);
    assert_ne!(login.port(), 18991);
    login.approve_at(&challenge);
    browser_get(login.port(), &login.callback(CODE));
    login.wait().expect_code(0);
}

#[test]
fn port_picks_the_port_and_a_taken_one_is_named() {
    let (_portal, challenge, plugin) = setup(Duration::ZERO);
    let port = free_port();
    let login = Login::start(&plugin, &["--port", &port.to_string()]);
    assert_eq!(
        login.redirect_uri(),
        format!("http://127.0.0.1:{port}/callback")
    );
    login.approve_at(&challenge);
    browser_get(port, &login.callback(CODE));
    login.wait().expect_code(0);

    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken_port = taken.local_addr().expect("address").port().to_string();
    let run = plugin.run(&browser_login_with(&["--port", &taken_port]));
    run.expect_code(1);
    run.stderr_has(&format!("port {taken_port} on 127.0.0.1 is taken"));
    run.stderr_has("fix: minimax-portal-auth login --region global --flow browser");

    let run = plugin.run(&["login", "--region", "global", "--port", &taken_port]);
    run.expect_code(2);
    run.stderr_has("--port is for --flow browser only");
}

#[test]
fn the_address_pasted_from_the_browser_signs_in() {
    let (portal, challenge, plugin) = setup(Duration::ZERO);
    let mut login = Login::start(&plugin, &[]);
    login.approve_at(&challenge);
    // The prompt says what to paste.
    login.wait_for(&format!("(it starts with {}?)", login.redirect_uri()));
    let address = format!("http://127.0.0.1:{}{}", login.port(), login.callback(CODE));
    login.paste(&address);
    let run = login.wait();
    run.expect_code(0);
    assert!(!run.all_output().contains(CODE), "the code leaked: {run}");
    assert_eq!(portal.count(TOKEN_PATH), 1);
    assert!(plugin.profile_file("default").exists());
}

#[test]
fn a_pasted_address_of_another_sign_in_or_a_bare_code_is_refused() {
    let (portal, challenge, plugin) = setup(Duration::ZERO);
    let mut login = Login::start(&plugin, &[]);
    login.approve_at(&challenge);
    let base = format!("http://127.0.0.1:{}", login.port());

    login.paste(&format!("{base}/callback?code={CODE}&state=another-login"));
    login.wait_for("belongs to another sign-in");
    login.paste("bare-code-abcdef0123456789");
    login.wait_for("looks like a code alone");
    login.paste(&format!("code={CODE}&state={}", login.state()));
    login.wait_for("That is not an address");
    let authorize = login.authorize.to_string();
    login.paste(&authorize);
    login.wait_for("not the address the browser comes back to");
    assert!(login.running(), "a refused paste ended the login");
    assert_eq!(portal.count(TOKEN_PATH), 0);

    login.paste(&format!("{base}{}", login.callback(CODE)));
    let run = login.wait();
    run.expect_code(0);
    assert!(!run.stderr.contains("bare-code-abcdef0123456789"), "{run}");
    assert_eq!(portal.count(TOKEN_PATH), 1);
}

#[test]
fn ctrl_c_while_waiting_exits_130_and_frees_the_port() {
    let (_portal, _challenge, plugin) = setup(Duration::ZERO);
    let port = free_port();
    let port_arg = port.to_string();
    let mut tty = Tty::spawn(&plugin, &browser_login_with(&["--port", &port_arg]), 200);
    // The countdown to the deadline.
    tty.wait_for("min left", Duration::from_secs(20));
    assert!(
        TcpListener::bind(("127.0.0.1", port)).is_err(),
        "the login does not hold its port"
    );
    tty.signal("INT");
    let (code, screen) = tty.finish(Duration::from_secs(10));
    assert_eq!(code, 130, "{screen}");
    assert!(screen.contains("10 min left"), "{screen}");
    TcpListener::bind(("127.0.0.1", port)).expect("the port is free again");
}

#[test]
fn a_browser_that_cannot_be_launched_is_said_in_words() {
    let (_portal, challenge, mut plugin) = setup(Duration::ZERO);
    // A desktop session whose launcher fails, as xdg-open does without a
    // browser (exit status 2 in its manual: "command line syntax error",
    // 3: "a required tool could not be found").
    let bin = tempfile::tempdir().expect("temp dir");
    let marker = bin.path().join("launched");
    let launcher = bin.path().join("xdg-open");
    std::fs::write(
        &launcher,
        format!("#!/bin/sh\n: > '{}'\nexit 3\n", marker.display()),
    )
    .expect("write the launcher");
    std::fs::set_permissions(&launcher, std::fs::Permissions::from_mode(0o755))
        .expect("chmod the launcher");
    plugin
        .set("PATH", &bin.path().display().to_string())
        .set("DISPLAY", ":0")
        .set("SSH_CLIENT", "")
        .set("SSH_TTY", "")
        .set("SSH_CONNECTION", "")
        .set("REMOTE_CONTAINERS", "")
        .set("CODESPACES", "");
    let mut login = Login::spawn(
        &plugin,
        &["login", "--region", "global", "--flow", "browser", "--json"],
    );
    login.wait_for("Could not open a browser");
    assert!(marker.exists(), "the launcher was not run");
    login.approve_at(&challenge);
    browser_get(login.port(), &login.callback(CODE));
    let run = login.wait();
    run.expect_code(0);
    run.stderr_lacks("ExitStatus");
    run.stderr_lacks("Launcher");
    run.stderr_has("open the link in a browser yourself");
}

#[test]
fn the_client_id_comes_from_the_environment_and_is_recorded() {
    let challenge = Arc::new(Mutex::new(None));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let portal = {
        let seen = Arc::clone(&seen);
        let challenge = Arc::clone(&challenge);
        Portal::start(move |r| {
            let form = r.form();
            lock(&seen).push(form.get("client_id").cloned().unwrap_or_default());
            let verifier_ok = match (form.get("code_verifier"), lock(&challenge).clone()) {
                (Some(v), Some(c)) => pkce_challenge(v) == Some(c),
                _ => form.get("grant_type").map(String::as_str) == Some("refresh_token"),
            };
            if !verifier_ok {
                return Reply::json(400, json!({"error": "invalid_grant"}));
            }
            Reply::json(
                200,
                json!({"access_token": "acc-other-0123456789", "refresh_token": "ref-other-0123456789", "expires_in": 3600, "token_type": "Bearer"}),
            )
        })
    };
    let mut plugin = Plugin::new(&portal.url());
    plugin.set("MINIMAX_PORTAL_CLIENT_ID", "another-client");
    let login = Login::start(&plugin, &[]);
    assert_eq!(login.query["client_id"], "another-client");
    login.approve_at(&challenge);
    browser_get(login.port(), &login.callback(CODE));
    login.wait().expect_code(0);
    assert_eq!(stored(&plugin, "default")["client_id"], "another-client");

    // Refresh sends the profile's client id, whatever the environment says.
    plugin.set("MINIMAX_PORTAL_CLIENT_ID", "");
    plugin.run(&["refresh", "--force"]).expect_code(0);
    assert_eq!(*lock(&seen), ["another-client", "another-client"]);
}
