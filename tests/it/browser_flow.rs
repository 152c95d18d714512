//! `login --flow browser`: the loopback redirect, with the test as the
//! browser and a local portal checking the code exchange and PKCE.

use crate::support::cli::{Plugin, Run};
use crate::support::http_server::{Portal, Reply};
use crate::support::lock;
use crate::support::minimax::{CLIENT_ID, SCOPE, TOKEN_PATH, pkce_challenge};
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The portal's token endpoint for the authorization-code grant; it
/// accepts only `code-123` with the verifier of the recorded challenge.
fn code_portal(challenge: Arc<Mutex<Option<String>>>) -> Portal {
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
        if form.get("code").map(String::as_str) != Some("code-123")
            || !verifier_ok
            || form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        {
            return Reply::json(
                400,
                json!({"error": "invalid_grant", "error_description": "bad code or verifier"}),
            );
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
            json!({"status": "success", "access_token": "acc-code", "refresh_token": "ref-code", "expired_in": 3600}),
        )
    })
}

/// Starts the login and returns the authorize URL it prints.
fn start_login(plugin: &Plugin) -> (Child, url::Url, mpsc::Receiver<String>) {
    let mut child = plugin.spawn(&[
        "login",
        "--region",
        "global",
        "--flow",
        "browser",
        "--no-browser",
        "--json",
    ]);
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(1)) else {
            continue;
        };
        if let Some(pos) = line.find("http://127.0.0.1:")
            && line.contains("/oauth2/authorize")
        {
            let authorize = url::Url::parse(line[pos..].trim()).expect("the authorize URL parses");
            return (child, authorize, rx);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the plugin printed no authorize URL");
}

fn query(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// What a browser does when the portal redirects it back.
fn browser_get(redirect_uri: &str, path_and_query: &str) -> String {
    let base = url::Url::parse(redirect_uri).expect("redirect_uri is a URL");
    let host = base.host_str().expect("redirect_uri has a host");
    let port = base.port().expect("redirect_uri has a port");
    let mut stream = TcpStream::connect((host, port)).expect("connect to the redirect_uri");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    write!(
        stream,
        "GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test-browser\r\n\r\n"
    )
    .expect("send the browser's request");
    let mut page = String::new();
    let _ = stream.read_to_string(&mut page);
    page
}

/// Waits for the login to end; its stderr comes from `rx`, the lines that
/// `start_login` has not read yet.
fn wait(mut child: Child, rx: mpsc::Receiver<String>) -> Run {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the plugin") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the plugin hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut stdout)
        .expect("read the plugin's stdout");
    std::thread::sleep(Duration::from_millis(50));
    let stderr: Vec<String> = rx.try_iter().collect();
    Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr: stderr.join("\n"),
    }
}

#[test]
fn the_browser_comes_back_with_a_code_and_the_profile_is_saved() {
    let challenge = Arc::new(Mutex::new(None));
    let portal = code_portal(challenge.clone());
    let plugin = Plugin::new(&portal.url());
    let (child, authorize, rx) = start_login(&plugin);

    // The authorize URL is the standard one, with PKCE S256 and our scope.
    assert_eq!(authorize.path(), "/oauth2/authorize");
    let q = query(&authorize);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["scope"], SCOPE);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["redirect_uri"].starts_with("http://127.0.0.1:"), "{q:?}");
    *challenge.lock().unwrap() = Some(q["code_challenge"].clone());

    // A stray request (a favicon) does not end the wait.
    assert!(browser_get(&q["redirect_uri"], "/favicon.ico").starts_with("HTTP/1.1 404"));
    let page = browser_get(
        &q["redirect_uri"],
        &format!("/callback?code=code-123&state={}", q["state"]),
    );
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("You are signed in"), "{page}");

    let run = wait(child, rx);
    run.expect_code(0);
    assert_eq!(run.json()["profile_id"], "minimax-portal:default");
    assert!(!run.stdout.contains("acc-code") && !run.stderr.contains("acc-code"));
    assert!(!run.stderr.contains("code-123"), "the code leaked: {run}");
    let token = plugin.run(&["token"]);
    assert_eq!(token.stdout, "acc-code\n", "{token:?}");
}

#[test]
fn a_foreign_state_stops_the_login_without_a_token_request() {
    let portal = code_portal(Arc::new(Mutex::new(None)));
    let plugin = Plugin::new(&portal.url());
    let (child, authorize, rx) = start_login(&plugin);
    let q = query(&authorize);
    let page = browser_get(&q["redirect_uri"], "/callback?code=code-123&state=forged");
    assert!(page.starts_with("HTTP/1.1 400"), "{page}");
    let run = wait(child, rx);
    run.expect_code(1);
    run.stderr_has("CSRF");
    assert_eq!(portal.count(TOKEN_PATH), 0);
    assert!(!plugin.profile_file("default").exists());
}

#[test]
fn a_denied_sign_in_is_reported_with_the_reason() {
    let portal = code_portal(Arc::new(Mutex::new(None)));
    let plugin = Plugin::new(&portal.url());
    let (child, authorize, rx) = start_login(&plugin);
    let q = query(&authorize);
    let page = browser_get(
        &q["redirect_uri"],
        &format!(
            "/callback?error=access_denied&error_description=user+said+no&state={}",
            q["state"]
        ),
    );
    assert!(page.contains("did not approve"), "{page}");
    let run = wait(child, rx);
    run.expect_code(1);
    run.stderr_has("access_denied user said no");
    assert!(!plugin.profile_file("default").exists());
}

#[test]
fn a_busy_preferred_port_falls_back_to_a_free_one() {
    // Hold the preferred port (or find it already held by a parallel test).
    let _held = std::net::TcpListener::bind("127.0.0.1:18991");
    let challenge = Arc::new(Mutex::new(None));
    let portal = code_portal(challenge.clone());
    let plugin = Plugin::new(&portal.url());
    let (child, authorize, rx) = start_login(&plugin);
    let q = query(&authorize);
    let port = url::Url::parse(&q["redirect_uri"]).unwrap().port().unwrap();
    assert_ne!(port, 18991);
    *challenge.lock().unwrap() = Some(q["code_challenge"].clone());
    browser_get(
        &q["redirect_uri"],
        &format!("/callback?code=code-123&state={}", q["state"]),
    );
    wait(child, rx).expect_code(0);
}
