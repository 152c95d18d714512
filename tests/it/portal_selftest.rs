//! Self-tests of the test portal (tests/it/support), driven by a raw std
//! TcpStream client so they do not depend on the crate's own code.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::http_server::{MAX_BODY_BYTES, Portal, Reply};
use crate::support::minimax::{
    CLIENT_ID, DEVICE_CODE_PATH, MiniMax, REFRESH_GRANT, SCOPE, TOKEN_PATH, USER_CODE,
    USER_CODE_GRANT, VERIFICATION_URI, pkce_challenge,
};
use crate::support::{dead_url, now_ms};
use serde_json::{Value, json};

/// What the raw client saw.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Every byte received, head included.
    bytes: usize,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

fn host_port(url: &str) -> &str {
    url.strip_prefix("http://")
        .expect("portal url starts with http://")
}

/// Send `request` verbatim and read everything until the server closes.
fn exchange(url: &str, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(host_port(url)).expect("connect to the portal");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("set read timeout");
    stream.write_all(request).expect("send the request");
    let mut received = Vec::new();
    stream
        .read_to_end(&mut received)
        .expect("read the answer until the server closes");
    received
}

fn parse(raw: &[u8]) -> Raw {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..end]).expect("head is UTF-8");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let mut parts = status_line.split(' ');
    assert_eq!(
        parts.next(),
        Some("HTTP/1.1"),
        "status line {status_line:?}"
    );
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').expect("header line has a colon");
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    Raw {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
        bytes: raw.len(),
    }
}

fn request(url: &str, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Raw {
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
        host_port(url),
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    parse(&exchange(url, &bytes))
}

fn post_form(url: &str, path: &str, fields: &[(&str, &str)]) -> Raw {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    request(
        url,
        "POST",
        path,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
        ],
        body.as_bytes(),
    )
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn ask_code(url: &str, verifier: &str, state: &str) -> Raw {
    let challenge = pkce_challenge(verifier).expect("a verifier of 43 to 128 characters");
    post_form(
        url,
        DEVICE_CODE_PATH,
        &[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("scope", SCOPE),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", state),
        ],
    )
}

fn poll(url: &str, verifier: &str) -> Raw {
    post_form(
        url,
        TOKEN_PATH,
        &[
            ("grant_type", USER_CODE_GRANT),
            ("client_id", CLIENT_ID),
            ("user_code", USER_CODE),
            ("code_verifier", verifier),
        ],
    )
}

fn refresh(url: &str, token: &str) -> Raw {
    post_form(
        url,
        TOKEN_PATH,
        &[
            ("grant_type", REFRESH_GRANT),
            ("client_id", CLIENT_ID),
            ("refresh_token", token),
        ],
    )
}

#[test]
fn pkce_challenge_matches_the_rfc_7636_vector() {
    // RFC 7636 appendix B.
    assert_eq!(
        pkce_challenge(VERIFIER).as_deref(),
        Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    );
    // Outside 43..=128 characters no challenge is valid (RFC 7636 §4.1).
    assert_eq!(pkce_challenge(&VERIFIER[..42]), None);
    assert_eq!(pkce_challenge(&"a".repeat(129)), None);
    assert!(pkce_challenge(&"a".repeat(128)).is_some());
}

#[test]
fn device_code_echoes_state_and_gives_an_absolute_deadline() {
    let (portal, mm) = MiniMax::new().start();
    let before = now_ms();
    let raw = ask_code(&portal.url(), VERIFIER, "st-42_x");
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("connection"), Some("close"));
    assert_eq!(raw.header("content-type"), Some("application/json"));
    let v = raw.json();
    assert_eq!(v["user_code"], "TUE3-FXNG");
    assert_eq!(v["verification_uri"], VERIFICATION_URI);
    assert_eq!(v["interval"], 2000);
    assert_eq!(v["state"], "st-42_x");
    let deadline = v["expired_in"].as_u64().expect("expired_in is an integer");
    assert!(
        (before + 599_000..=now_ms() + 601_000).contains(&deadline),
        "expired_in {deadline} is not now + 600 s in epoch ms"
    );
    mm.assert_no_problems();
    let challenge = pkce_challenge(VERIFIER).expect("a verifier of 43 to 128 characters");
    assert_eq!(mm.code_challenge().as_deref(), Some(&*challenge));
    assert_eq!(mm.sent_state().as_deref(), Some("st-42_x"));
    assert_eq!(portal.count(DEVICE_CODE_PATH), 1);
    let seen = portal.last(DEVICE_CODE_PATH).expect("request recorded");
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.header("accept"), Some("application/json"));
    assert_eq!(seen.form()["scope"], "group_id profile model.completion");
}

#[test]
fn device_code_knobs_change_the_answer() {
    let (portal, _mm) = MiniMax::new()
        .verification_uri("https://www.minimax.io/oauth-authorize?user_code=TUE3-FXNG")
        .interval_ms(5000)
        .code_expires_in(Duration::from_secs(5))
        .state_echo("forged")
        .start();
    let before = now_ms();
    let v = ask_code(&portal.url(), VERIFIER, "mine").json();
    assert_eq!(
        v["verification_uri"],
        "https://www.minimax.io/oauth-authorize?user_code=TUE3-FXNG"
    );
    assert_eq!(v["interval"], 5000);
    let deadline = v["expired_in"].as_u64().expect("expired_in is an integer");
    assert!(
        (before + 4_000..=now_ms() + 6_000).contains(&deadline),
        "expired_in {deadline} is not now + 5 s in epoch ms"
    );
    assert_eq!(v["state"], "forged");
}

#[test]
fn device_code_rejects_a_bad_form() {
    let (portal, mm) = MiniMax::new().start();
    let raw = post_form(
        &portal.url(),
        DEVICE_CODE_PATH,
        &[("response_type", "code"), ("scope", SCOPE)],
    );
    assert_eq!(raw.status, 400);
    let problems = mm.problems();
    assert!(
        problems.iter().any(|p| p.contains("client_id")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("code_challenge")),
        "{problems:?}"
    );
    assert!(raw.json()["error"].as_str().is_some());
}

#[test]
fn poll_is_pending_then_succeeds() {
    let (portal, mm) = MiniMax::new()
        .pending(2)
        .resource_url("https://api.minimax.io/anthropic")
        .notification_message("welcome")
        .start();
    let url = portal.url();
    assert_eq!(ask_code(&url, VERIFIER, "s").status, 200);
    for _ in 0..2 {
        let raw = poll(&url, VERIFIER);
        assert_eq!(raw.status, 200);
        assert_eq!(raw.json(), json!({"status": "pending"}));
    }
    let v = poll(&url, VERIFIER).json();
    assert_eq!(v["status"], "success");
    assert_eq!(v["access_token"], "acc-1");
    assert_eq!(v["refresh_token"], "ref-1");
    assert_eq!(v["expired_in"], 3600);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["resource_url"], "https://api.minimax.io/anthropic");
    assert_eq!(v["notification_message"], "welcome");
    assert_eq!(mm.poll_count(), 3);
    assert!(mm.is_live("ref-1"));
    mm.assert_no_problems();
}

#[test]
fn poll_with_a_wrong_verifier_is_an_error() {
    let (portal, mm) = MiniMax::new().start();
    let url = portal.url();
    ask_code(&url, VERIFIER, "s");
    let v = poll(&url, "not-the-verifier-not-the-verifier-not-the-v").json();
    assert_eq!(v["status"], "error");
    assert_eq!(v["base_resp"]["status_code"], 1004);
    assert_eq!(v["base_resp"]["status_msg"], "invalid code_verifier");
    assert!(mm.issued().is_empty());
    assert_eq!(mm.problems().len(), 1, "{:?}", mm.problems());
}

#[test]
fn scripted_token_replies_repeat_the_last() {
    let (portal, _mm) = MiniMax::new()
        .token_replies(vec![
            Reply::json(429, json!({"status": "pending"})),
            Reply::json(200, json!({"status": "success", "expired_in": "3600s"})),
        ])
        .start();
    let url = portal.url();
    ask_code(&url, VERIFIER, "s");
    assert_eq!(poll(&url, VERIFIER).status, 429);
    for _ in 0..2 {
        let raw = poll(&url, VERIFIER);
        assert_eq!(raw.status, 200);
        assert_eq!(raw.json()["expired_in"], "3600s");
    }
}

#[test]
fn refresh_tokens_rotate_and_die_on_first_use() {
    let (portal, mm) = MiniMax::new()
        .token_expired_in(now_ms() + 7_200_000)
        .start();
    let url = portal.url();
    mm.add_refresh_token("ref-seed");

    let first = refresh(&url, "ref-seed");
    assert_eq!(first.status, 200);
    let v = first.json();
    assert_eq!(v["access_token"], "acc-1");
    assert_eq!(v["refresh_token"], "ref-1");
    assert!(v["expired_in"].as_u64().expect("integer") > now_ms());

    let again = refresh(&url, "ref-seed");
    assert_eq!(again.status, 400);
    let v = again.json();
    assert_eq!(v["status"], "error");
    assert_eq!(v["base_resp"]["status_code"], 1004);
    assert_eq!(v["base_resp"]["status_msg"], "refresh token already used");

    let next = refresh(&url, "ref-1").json();
    assert_eq!(next["access_token"], "acc-2");
    assert_eq!(next["refresh_token"], "ref-2");
    assert_eq!(refresh(&url, "never-issued").status, 400);

    assert_eq!(mm.refresh_count(), 4);
    assert_eq!(mm.live_refresh_tokens(), vec!["ref-2".to_owned()]);
    mm.assert_no_problems();
}

#[test]
fn refresh_without_rotation_keeps_the_token() {
    let (portal, mm) = MiniMax::new().no_rotation().refresh_token("keep").start();
    let url = portal.url();
    for n in 1..=2 {
        let v = refresh(&url, "keep").json();
        assert_eq!(v["access_token"], format!("acc-{n}"));
        assert!(v.get("refresh_token").is_none(), "{v}");
    }
    assert!(mm.is_live("keep"));
}

#[test]
fn concurrent_refreshes_with_one_token_let_only_one_through() {
    let (portal, mm) = MiniMax::new()
        .refresh_delay(Duration::from_millis(300))
        .refresh_token("shared")
        .start();
    let url = Arc::new(portal.url());
    let started = Instant::now();
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let url = Arc::clone(&url);
            thread::spawn(move || refresh(&url, "shared").status)
        })
        .collect();
    let mut statuses: Vec<u16> = racers
        .into_iter()
        .map(|r| r.join().expect("racer thread"))
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 400]);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(mm.refresh_count(), 2);
}

#[test]
fn unknown_paths_are_404_and_requests_are_recorded_in_order() {
    let (portal, _mm) = MiniMax::new().start();
    let url = portal.url();
    let raw = request(&url, "GET", "/oauth/code?a=1&b=x+y", &[], b"");
    assert_eq!(raw.status, 404);
    request(&url, "GET", "/second", &[("X-Request-Id", "abc")], b"");
    let seen = portal.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, "/oauth/code");
    assert_eq!(seen[0].query, "a=1&b=x+y");
    assert_eq!(seen[0].query_map()["b"], "x y");
    assert_eq!(seen[1].path, "/second");
    assert_eq!(seen[1].header("x-request-id"), Some("abc"));
    assert_eq!(portal.count("/oauth/code"), 1);
}

#[test]
fn form_decoding_handles_plus_and_percent() {
    let portal = Portal::start(|r| Reply::json(200, json!(r.form())));
    let raw = request(
        &portal.url(),
        "POST",
        "/f",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"scope=group_id+profile%20model.completion&x=%2B%26",
    );
    let v = raw.json();
    assert_eq!(v["scope"], "group_id profile model.completion");
    assert_eq!(v["x"], "+&");
}

#[test]
fn truncated_delivery_sends_less_than_content_length() {
    let portal = Portal::start(|_| Reply::text(200, "text/plain", "0123456789").truncated());
    let raw = request(&portal.url(), "GET", "/", &[], b"");
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("content-length"), Some("10"));
    assert_eq!(raw.body, b"01234");
}

#[test]
fn normal_delivery_sends_exactly_content_length() {
    let body = vec![b'x'; 3 * 1024 * 1024];
    let portal = Portal::start(move |_| Reply::text(200, "text/plain", body.clone()));
    let raw = request(&portal.url(), "GET", "/big", &[], b"");
    assert_eq!(raw.header("content-length"), Some("3145728"));
    assert_eq!(raw.body.len(), 3 * 1024 * 1024);
    assert!(raw.bytes > raw.body.len());
}

#[test]
fn close_delivery_sends_nothing() {
    let portal = Portal::start(|_| Reply::close());
    let received = exchange(&portal.url(), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(received.is_empty(), "{received:?}");
    assert_eq!(portal.count("/"), 1);
}

#[test]
fn hang_lasts_until_the_portal_is_dropped() {
    let portal = Portal::start(|_| Reply::hang());
    let mut stream = TcpStream::connect(host_port(&portal.url())).expect("connect");
    stream
        .write_all(b"GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut buf = [0u8; 16];
    let err = stream
        .read(&mut buf)
        .expect_err("a hung portal answers nothing");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    let dropped = Instant::now();
    drop(portal);
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let n = stream.read(&mut buf).expect("the connection ends cleanly");
    assert_eq!(n, 0, "no bytes, just the close");
    assert!(dropped.elapsed() < Duration::from_secs(2));
}

#[test]
fn delayed_reply_waits() {
    let portal = Portal::start(|_| Reply::empty(204).delayed(Duration::from_millis(250)));
    let started = Instant::now();
    let raw = request(&portal.url(), "GET", "/", &[], b"");
    assert_eq!(raw.status, 204);
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[test]
fn redirect_carries_location() {
    let portal = Portal::start(|_| Reply::redirect(307, "https://account.minimax.io/oauth2/token"));
    let raw = request(&portal.url(), "POST", "/oauth/token", &[], b"a=b");
    assert_eq!(raw.status, 307);
    assert_eq!(
        raw.header("location"),
        Some("https://account.minimax.io/oauth2/token")
    );
    assert!(raw.body.is_empty());
}

#[test]
fn oversized_request_body_is_refused() {
    let portal = Portal::start(|_| Reply::empty(200));
    let raw = parse(&exchange(
        &portal.url(),
        format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        )
        .as_bytes(),
    ));
    assert_eq!(raw.status, 413);
    assert!(portal.requests().is_empty());
}

#[test]
fn raw_delivery_sends_exactly_the_given_bytes() {
    let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nshort";
    let portal = Portal::start(|_| Reply::raw(&bytes[..]));
    let received = exchange(&portal.url(), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(received, bytes);
}

#[test]
fn handler_panic_becomes_500() {
    let portal = Portal::start(|_| panic!("boom in handler"));
    let raw = request(&portal.url(), "GET", "/", &[], b"");
    assert_eq!(raw.status, 500);
    assert!(String::from_utf8_lossy(&raw.body).contains("boom in handler"));
}

#[test]
fn dead_url_refuses_connections() {
    let url = dead_url();
    let err = TcpStream::connect(host_port(&url)).expect_err("nothing listens there");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn stalled_delivery_sends_half_then_goes_silent() {
    let portal = Portal::start(|_| Reply::text(200, "text/plain", "abcdefgh").stalled());
    let mut stream = TcpStream::connect(host_port(&portal.url())).expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    let err = loop {
        match stream.read(&mut buf) {
            Ok(0) => panic!("the stalled portal closed the connection"),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    let raw = parse(&received);
    assert_eq!(raw.header("content-length"), Some("8"));
    assert_eq!(raw.body, b"abcd");
}
