//! `login --flow browser` against an OAuth server someone else wrote and
//! had certified (oidc-provider, `tests/fixtures/oauth-interop/server.mjs`),
//! through a real browser (Debian's Chromium, headless, driven by
//! playwright-core: `drive.mjs`) that signs in and consents on the
//! provider's own pages and lands on our callback. Then `token` and
//! `refresh --force` at the same server, which rotates refresh tokens and
//! revokes the grant when a spent one comes back. docs/oauth-interop.md
//! describes the harness.
//!
//! `scripts/test.sh` installs it (`scripts/install-deps.sh browser`) and
//! names Node in `MINIMAX_PORTAL_TEST_NODE` and the npm packages' folder in
//! `MINIMAX_PORTAL_TEST_OAUTH_INTEROP`. Without the harness a test is
//! skipped with a note, except in CI, where it fails.

use crate::browser_flow::Login;
use crate::support::cli::{Plugin, Run, finish};
use crate::support::lock;
use crate::support::profile::{stored, stored_bytes, write_profile};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NODE_ENV: &str = "MINIMAX_PORTAL_TEST_NODE";
const DEPS_ENV: &str = "MINIMAX_PORTAL_TEST_OAUTH_INTEROP";
/// A client id other than MiniMax's: the server knows only this one, so a
/// refresh sent as any other client fails.
const CLIENT: &str = "minimax-portal-auth-interop";

/// A Chromium takes a core of the two; the interop tests take turns.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

/// Node.js, and where the harness's npm packages are.
struct Harness {
    node: PathBuf,
    deps: Option<PathBuf>,
    fixtures: PathBuf,
}

impl Harness {
    /// The harness, or None (with a note) when it is not installed.
    fn find() -> Option<Harness> {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oauth-interop");
        let Some(node) = find_node() else {
            return skip("no Node.js 20.19 or later");
        };
        let chromium = std::env::var_os("CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
        if !chromium.exists() {
            return skip(&format!("no Chromium at {}", chromium.display()));
        }
        let deps = std::env::var_os(DEPS_ENV)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        let harness = Harness {
            node,
            deps,
            fixtures,
        };
        // deps.mjs knows where the packages go; ask it whether they are there.
        let check = "const { depsDir } = await import(process.argv[1]); \
            const { existsSync } = await import('node:fs'); \
            const dir = depsDir(); \
            const ok = ['oidc-provider', 'playwright-core'] \
              .every((p) => existsSync(`${dir}/node_modules/${p}/package.json`)); \
            process.stdout.write(dir); process.exit(ok ? 0 : 1);";
        let deps_mjs = harness.fixtures.join("deps.mjs");
        let mut cmd = harness.node_command(&["--input-type=module", "-e", check]);
        cmd.arg(
            url::Url::from_file_path(&deps_mjs)
                .map_or_else(|()| deps_mjs.display().to_string(), |u| u.to_string()),
        );
        let out = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return skip(&format!(
                "the OAuth interop packages are not installed in {:?}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        Some(harness)
    }

    fn node_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.node);
        cmd.args(args);
        if let Some(deps) = &self.deps {
            cmd.env("OAUTH_INTEROP_DEPS", deps);
        }
        cmd
    }

    /// Starts oidc-provider on a free port of 127.0.0.1 with our client.
    fn server(&self) -> OidcProvider {
        let script = self.fixtures.join("server.mjs");
        let mut child = self
            .node_command(&[
                script.to_str().expect("a UTF-8 path"),
                "--client-id",
                CLIENT,
                // It ends by itself, and when this test dies (stdin closes).
                "--lifetime",
                "300",
                "--exit-on-stdin-eof",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start server.mjs");
        let stdin = child.stdin.take();
        let events = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&events);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lock(&sink).push(line);
            }
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
        });
        let mut server = OidcProvider {
            child,
            _stdin: stdin,
            events,
            issuer: String::new(),
        };
        let ready = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!(
                    "server.mjs did not start:\n{}",
                    lock(&server.events).join("\n")
                )
            });
        let ready: Value = serde_json::from_str(&ready).expect("the ready line is JSON");
        server.issuer = ready["issuer"]
            .as_str()
            .expect("the ready line names the issuer")
            .to_string();
        server
    }

    /// Runs the browser to `authorize` (with `extra` flags) and returns its
    /// events.
    fn drive(&self, authorize: &str, extra: &[&str]) -> (Run, Vec<Value>) {
        let script = self.fixtures.join("drive.mjs");
        let mut args = vec![
            script.to_str().expect("a UTF-8 path"),
            authorize,
            "--timeout",
            "45",
        ];
        args.extend_from_slice(extra);
        let mut cmd = self.node_command(&args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let run = finish(cmd.spawn().expect("start drive.mjs"));
        let events = run
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (run, events)
    }
}

fn skip(why: &str) -> Option<Harness> {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the OAuth interop tests ({why}): bash scripts/test.sh installs the harness"
    );
    eprintln!("skipped: {why} (bash scripts/install-deps.sh browser)");
    None
}

/// `MINIMAX_PORTAL_TEST_NODE`, else the openclaw set's Node, else `node`.
fn find_node() -> Option<PathBuf> {
    let named = std::env::var_os(NODE_ENV)
        .filter(|n| !n.is_empty())
        .map(PathBuf::from);
    let pinned = || {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/openclaw-env.sh");
        let out = Command::new("bash")
            .arg(script)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("OPENCLAW_NODE=").map(PathBuf::from))
    };
    let node = named
        .or_else(pinned)
        .unwrap_or_else(|| PathBuf::from("node"));
    // oidc-provider 9 needs 20.19 or later.
    let out = Command::new(&node)
        .args(["-p", "process.versions.node"])
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let version = String::from_utf8_lossy(&out.stdout);
    let mut parts = version
        .trim()
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next()?, parts.next()?);
    (major > 20 || (major == 20 && minor >= 19)).then_some(node)
}

/// oidc-provider, running; killed when dropped.
struct OidcProvider {
    child: Child,
    _stdin: Option<ChildStdin>,
    /// Its stderr: one JSON event per line.
    events: Arc<Mutex<Vec<String>>>,
    issuer: String,
}

impl OidcProvider {
    /// Its `token` events (one per token request), in order.
    fn token_requests(&self) -> Vec<Value> {
        lock(&self.events)
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["event"] == "token")
            .collect()
    }

    fn log(&self) -> String {
        lock(&self.events).join("\n")
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plugin pointed at the server as the portal, as its client.
fn plugin_for(server: &OidcProvider) -> Plugin {
    let mut plugin = Plugin::new(&server.issuer);
    plugin.set("MINIMAX_PORTAL_CLIENT_ID", CLIENT);
    plugin
}

fn event<'a>(events: &'a [Value], name: &str) -> Option<&'a Value> {
    events.iter().find(|e| e["event"] == name)
}

#[test]
fn a_real_oauth_server_and_browser_sign_in_then_refresh_rotates() {
    let Some(harness) = Harness::find() else {
        return;
    };
    let _turn = lock(&ONE_BROWSER);
    let started = Instant::now();
    let server = harness.server();
    let plugin = plugin_for(&server);
    let login = Login::start(&plugin, &[]);
    assert!(
        login
            .authorize
            .as_str()
            .starts_with(&format!("{}/oauth2/authorize?", server.issuer)),
        "{}",
        login.authorize
    );
    let (drive, events) = harness.drive(login.authorize.as_str(), &[]);
    let run = login.wait();
    let context = format!(
        "{run}\n--- browser ---\n{drive}\n--- server ---\n{}",
        server.log()
    );
    assert_eq!(run.code, 0, "{context}");
    let last = event(&events, "final").unwrap_or_else(|| panic!("no final page:\n{context}"));
    assert_eq!(last["status"], 200, "{context}");
    assert_eq!(last["title"], "Signed in to MiniMax", "{context}");
    assert_eq!(drive.code, 0, "{context}");

    // The server saw a standard code exchange, with PKCE and the loopback
    // redirect URI, as our client.
    let tokens = server.token_requests();
    let exchange = &tokens[0];
    assert_eq!(exchange["grant_type"], "authorization_code", "{context}");
    assert_eq!(exchange["status"], 200, "{context}");
    assert_eq!(exchange["client_id"], CLIENT);
    assert_eq!(exchange["has_code_verifier"], true);
    assert!(
        exchange["redirect_uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:") && u.ends_with("/callback")),
        "{exchange}"
    );

    // The profile records where and as whom to refresh.
    let first = stored(&plugin, "default");
    let first_bytes = stored_bytes(&plugin, "default");
    assert_eq!(first["client_id"], CLIENT);
    assert_eq!(
        first["token_endpoint"],
        format!("{}/oauth2/token", server.issuer)
    );
    let token = plugin.run(&["token"]);
    token.expect_code(0);
    assert_eq!(
        token.stdout.trim_end(),
        first["access"].as_str().expect("an access token")
    );

    // Two forced refreshes: each sends the newest refresh token and gets a
    // new one, which is what is stored.
    for round in 1..=2 {
        plugin.run(&["refresh", "--force"]).expect_code(0);
        let tokens = server.token_requests();
        let (before, now) = (&tokens[round - 1], &tokens[round]);
        assert_eq!(now["grant_type"], "refresh_token", "{now}");
        assert_eq!(now["status"], 200, "{now}");
        assert_eq!(now["client_id"], CLIENT, "{now}");
        assert_eq!(
            now["refresh_token_in"], before["refresh_token_out"],
            "refresh {round} did not send the newest refresh token"
        );
        assert_ne!(now["refresh_token_out"], now["refresh_token_in"], "{now}");
    }
    let last = stored(&plugin, "default");
    assert_ne!(last["refresh"], first["refresh"]);
    assert_ne!(last["access"], first["access"]);
    let token = plugin.run(&["token"]);
    assert_eq!(
        token.stdout.trim_end(),
        last["access"].as_str().unwrap_or("")
    );

    // The first refresh token, spent long ago, comes back: the server
    // revokes the grant and the profile must sign in again.
    write_profile(&plugin, "default", &first_bytes);
    let replay = plugin.run(&["refresh", "--force"]);
    replay.expect_code(3);
    eprintln!(
        "interop: sign-in, token, two refreshes and a replay took {:.1} s",
        started.elapsed().as_secs_f32()
    );
}

#[test]
fn a_forged_callback_from_a_page_in_the_same_browser_does_not_end_the_login() {
    let Some(harness) = Harness::find() else {
        return;
    };
    let _turn = lock(&ONE_BROWSER);
    let server = harness.server();
    let plugin = plugin_for(&server);
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("address").port()
    };
    let login = Login::start(&plugin, &["--port", &port.to_string()]);
    assert_eq!(login.port(), port);
    // A page served from another loopback port fires
    // <img src="http://127.0.0.1:PORT/callback?code=forged-code&state=forged-state">
    // before the user signs in.
    let (drive, events) = harness.drive(login.authorize.as_str(), &["--forge"]);
    let run = login.wait();
    let context = format!(
        "{run}\n--- browser ---\n{drive}\n--- server ---\n{}",
        server.log()
    );
    let forged = event(&events, "forged").unwrap_or_else(|| panic!("no forgery:\n{context}"));
    assert_eq!(
        forged["reached"], true,
        "the forgery never reached us:\n{context}"
    );
    let last = event(&events, "final").unwrap_or_else(|| panic!("no final page:\n{context}"));
    assert_eq!(last["status"], 200, "{context}");
    assert_eq!(last["title"], "Signed in to MiniMax", "{context}");
    assert_eq!(run.code, 0, "{context}");
    let exchanges: Vec<Value> = server
        .token_requests()
        .into_iter()
        .filter(|t| t["grant_type"] == "authorization_code")
        .collect();
    assert_eq!(exchanges.len(), 1, "{context}");
    assert_eq!(exchanges[0]["status"], 200, "{context}");
    assert!(plugin.profile_file("default").exists());
}

#[test]
fn a_sign_in_denied_on_the_providers_page_ends_the_login() {
    let Some(harness) = Harness::find() else {
        return;
    };
    let _turn = lock(&ONE_BROWSER);
    let server = harness.server();
    let plugin = plugin_for(&server);
    let login = Login::start(&plugin, &[]);
    let (drive, events) = harness.drive(login.authorize.as_str(), &["--deny"]);
    let run = login.wait();
    let context = format!(
        "{run}\n--- browser ---\n{drive}\n--- server ---\n{}",
        server.log()
    );
    assert_eq!(run.code, 1, "{context}");
    run.stderr_has("did not approve the sign-in: access_denied");
    let last = event(&events, "final").unwrap_or_else(|| panic!("no final page:\n{context}"));
    assert_eq!(last["title"], "Sign-in not completed", "{context}");
    assert!(server.token_requests().is_empty(), "{context}");
    assert!(!plugin.profile_file("default").exists());
}
