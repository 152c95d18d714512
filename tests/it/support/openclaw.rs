//! The real OpenClaw (npm `openclaw`, pinned; docs/openclaw.md), offline in
//! a temporary home and state folder, and a local Anthropic-compatible
//! endpoint that records what OpenClaw sends to the model.
//!
//! `scripts/test.sh` installs OpenClaw and Node 24 into a cache outside the
//! repository and names its command in `MINIMAX_PORTAL_TEST_OPENCLAW`.
//! Without it a test is skipped with a note, except in CI, where it fails.

use super::cli::{Plugin, Run, finish};
use super::http_server::{Portal, Reply, Request};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

const ENV: &str = "MINIMAX_PORTAL_TEST_OPENCLAW";

/// OpenClaw processes take about 1 GB each; tests that run agents or a
/// Gateway take turns.
static HEAVY: Mutex<()> = Mutex::new(());

pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    super::lock(&HEAVY)
}

/// OpenClaw's command, or None (with a note) when it is not installed.
pub fn command() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    // Installed but not named: ask the script that knows the cache.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/openclaw-env.sh");
    let found = Command::new("bash")
        .arg(script)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("OPENCLAW_BIN=").map(PathBuf::from))
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the tests with OpenClaw installed (bash scripts/test.sh does it)"
        );
        eprintln!("skipped: OpenClaw is not installed (bash scripts/install-deps.sh openclaw)");
    }
    found
}

/// One OpenClaw in its own temporary home, state folder and config.
pub struct IsolatedOpenClaw {
    pub program: PathBuf,
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl IsolatedOpenClaw {
    pub fn new(program: &Path) -> IsolatedOpenClaw {
        let dir = tempfile::tempdir().expect("temp dir for OpenClaw");
        let mut oc = IsolatedOpenClaw {
            program: program.to_path_buf(),
            dir,
            vars: Vec::new(),
        };
        for sub in ["home", "state", "state/logs"] {
            std::fs::create_dir_all(oc.dir.path().join(sub)).expect("OpenClaw folders");
        }
        let config = json!({"logging": {"file": oc.dir.path().join("state/logs/openclaw.log")}});
        std::fs::write(oc.config_path(), config.to_string()).expect("OpenClaw config");
        let home = oc.dir.path().join("home").display().to_string();
        let state = oc.dir.path().join("state").display().to_string();
        let config_path = oc.config_path().display().to_string();
        oc.set("HOME", &home)
            .set("OPENCLAW_STATE_DIR", &state)
            .set("OPENCLAW_CONFIG_PATH", &config_path)
            .set("OPENCLAW_DISABLE_BONJOUR", "1")
            .set("OPENCLAW_SKIP_CHANNELS", "1")
            .set("OPENCLAW_NO_RESPAWN", "1");
        oc
    }

    /// Its environment (home, state folder, config).
    pub fn vars(&self) -> &[(String, String)] {
        &self.vars
    }

    /// The folder that holds its home, state and config.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Another OpenClaw with a copy of this one's folders (config, auth
    /// store), its paths rewritten: one OpenClaw at a time may own a state
    /// folder, so processes that run at once each get a copy.
    pub fn copy(&self) -> IsolatedOpenClaw {
        let dir = tempfile::tempdir().expect("temp dir for OpenClaw");
        let (from, to) = (self.dir.path(), dir.path());
        copy_tree(from, to);
        let (old, new) = (from.display().to_string(), to.display().to_string());
        let config = to.join("state/openclaw.json");
        let text = std::fs::read_to_string(&config).expect("OpenClaw's config");
        std::fs::write(&config, text.replace(&old, &new)).expect("the copied config");
        IsolatedOpenClaw {
            program: self.program.clone(),
            dir,
            vars: self
                .vars
                .iter()
                .map(|(n, v)| (n.clone(), v.replace(&old, &new)))
                .collect(),
        }
    }

    pub fn set(&mut self, name: &str, value: &str) -> &mut IsolatedOpenClaw {
        self.vars.retain(|(n, _)| n != name);
        self.vars.push((name.to_string(), value.to_string()));
        self
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("state/openclaw.json")
    }

    /// The config OpenClaw wrote (JSON once it has written it).
    pub fn config(&self) -> Value {
        let text = std::fs::read_to_string(self.config_path()).expect("OpenClaw's config");
        serde_json::from_str(&text).expect("OpenClaw's config is JSON")
    }

    /// Gives `cmd` this OpenClaw's environment (and the plugin's, so that
    /// the exec provider's passEnv finds the store).
    pub fn apply_env(&self, cmd: &mut Command, plugin: &Plugin) {
        plugin.apply_env(cmd);
        for (name, value) in &self.vars {
            cmd.env(name, value);
        }
    }

    pub fn command(&self, plugin: &Plugin, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.apply_env(&mut cmd, plugin);
        cmd
    }

    /// `openclaw ARGS` (bounded like every run of the tests).
    pub fn run(&self, plugin: &Plugin, args: &[&str]) -> Run {
        finish(self.command(plugin, args).spawn().expect("run openclaw"))
    }

    /// The plugin, with this OpenClaw's environment (for `openclaw setup`).
    pub fn plugin_run(&self, plugin: &Plugin, args: &[&str]) -> Run {
        let mut cmd = plugin.command(args);
        self.apply_env(&mut cmd, plugin);
        finish(cmd.spawn().expect("run the plugin"))
    }

    /// Starts `openclaw gateway run` on `port` in the background and waits
    /// until it is ready (its `/readyz` answers 200).
    pub fn start_gateway(&mut self, plugin: &Plugin, port: u16) -> Gateway {
        self.set("OPENCLAW_GATEWAY_TOKEN", "gateway-test-token");
        let patch = json!({
            "gateway": {"mode": "local", "port": port, "bind": "loopback", "auth": {"mode": "token"}},
            "discovery": {"mdns": {"mode": "off"}},
        });
        let file = self.dir.path().join("gateway-patch.json");
        std::fs::write(&file, patch.to_string()).expect("gateway patch");
        self.run(
            plugin,
            &[
                "config",
                "patch",
                "--file",
                file.to_str().expect("utf-8 path"),
            ],
        )
        .expect_code(0);
        let port_arg = port.to_string();
        let mut cmd = self.command(
            plugin,
            &[
                "gateway", "run", "--port", &port_arg, "--bind", "loopback", "--auth", "token",
            ],
        );
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().expect("start the Gateway");
        let gateway = Gateway { child };
        let started = Instant::now();
        while !ready(port) {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the Gateway was not ready within 120 s"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        gateway
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder of the copy");
    for entry in std::fs::read_dir(from).expect("a folder to copy").flatten() {
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            copy_tree(&source, &target);
        } else if kind.is_file() {
            std::fs::copy(&source, &target).expect("a file of the copy");
        }
    }
}

fn ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 16];
    let n = stream.read(&mut head).unwrap_or(0);
    head[..n].starts_with(b"HTTP/1.1 200")
}

/// A running Gateway; stopped with SIGTERM when dropped.
pub struct Gateway {
    child: Child,
}

impl Gateway {
    /// SIGTERM, then the exit code.
    pub fn stop(mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            std::thread::sleep(Duration::from_secs(2));
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The answer of a local Anthropic Messages endpoint, for a request to
/// `…/v1/messages` ("pong", as a stream when asked); None for any other
/// path. Composed with the fake portal, one local server is both the
/// MiniMax portal and the model base URL (`{portal}/anthropic`).
pub fn model_reply(request: &Request) -> Option<Reply> {
    if !request.path.ends_with("/v1/messages") {
        return None;
    }
    let streaming = serde_json::from_slice::<Value>(&request.body)
        .ok()
        .is_some_and(|body| body["stream"] == true);
    if !streaming {
        return Some(Reply::json(
            200,
            json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "MiniMax-M3",
                "content": [{"type": "text", "text": "pong"}], "stop_reason": "end_turn",
                "stop_sequence": null, "usage": {"input_tokens": 1, "output_tokens": 1}}),
        ));
    }
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
            "role": "assistant", "model": "MiniMax-M3", "content": [], "stop_reason": null,
            "stop_sequence": null, "usage": {"input_tokens": 1, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "pong"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 1}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let body: String = events
        .iter()
        .map(|(event, data)| format!("event: {event}\ndata: {data}\n\n"))
        .collect();
    Some(Reply::text(200, "text/event-stream", body))
}

/// The credentials of the last model request: (`Authorization`, `x-api-key`).
pub fn last_credentials(endpoint: &Portal) -> Option<(String, String)> {
    let request = endpoint
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with("/v1/messages"))?;
    Some((
        request.header("authorization").unwrap_or("").to_string(),
        request.header("x-api-key").unwrap_or("").to_string(),
    ))
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
