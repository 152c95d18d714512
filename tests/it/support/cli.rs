//! Runs the real binary in a throwaway state folder, with a deadline so a
//! hung plugin fails the test instead of hanging it, and checks what it did.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_minimax-portal-auth");
/// No single run of the plugin (or of OpenClaw, which takes far longer on
/// a busy two-core machine) in these tests may take longer.
const RUN_DEADLINE: Duration = Duration::from_secs(180);

pub struct Plugin {
    home: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The whole run, for failure messages: the exit code, then stdout and
/// stderr as printed (Debug would escape every newline).
impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

// The checks panic at the caller's line and print the whole run; each
// returns the run so that checks can be chained.
impl Run {
    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// stdout's JSON, checked against its struct in
    /// `minimax_portal_auth::json` (see `support::fits`).
    #[track_caller]
    pub fn json_as<T: serde::Serialize + serde::de::DeserializeOwned>(&self) -> Value {
        let value = self.json();
        if let Err(why) = super::fits::<T>(&value) {
            panic!(
                "stdout does not fit {}: {why}\n{self}",
                std::any::type_name::<T>()
            );
        }
        value
    }

    /// The value at `pointer` (RFC 6901, e.g. `/profiles/0/state`) in
    /// stdout's JSON; null when there is none, as `json()[..][..]` gives.
    #[track_caller]
    pub fn json_field(&self, pointer: &str) -> Value {
        self.json().pointer(pointer).cloned().unwrap_or(Value::Null)
    }

    /// Everything the run printed, to check that no secret leaked.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert!(self.code == code, "expected exit code {code}:\n{self}");
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{self}"
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: &str) -> &Run {
        assert!(
            !self.stderr.contains(needle),
            "stderr has {needle:?}:\n{self}"
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Run {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{self}"
        );
        self
    }
}

impl Plugin {
    /// A plugin pointed at `portal_url`, using the file store.
    pub fn new(portal_url: &str) -> Plugin {
        Plugin::in_home(portal_url, tempfile::tempdir().expect("temp dir"))
    }

    /// A plugin whose state folder is `home` (a test that shows paths picks
    /// one of a given length).
    pub fn in_home(portal_url: &str, home: tempfile::TempDir) -> Plugin {
        let mut plugin = Plugin {
            home,
            vars: Vec::new(),
        };
        plugin
            .set("MINIMAX_PORTAL_OAUTH_BASE_URL", portal_url)
            .set("MINIMAX_PORTAL_API_BASE_URL", portal_url)
            .set("MINIMAX_PORTAL_AUTH_STORE", "file")
            .set("MINIMAX_PORTAL_AUTH_HTTP_TIMEOUT_MS", "5000");
        plugin
    }

    pub fn set(&mut self, name: &str, value: &str) -> &mut Plugin {
        self.vars.retain(|(n, _)| n != name);
        self.vars.push((name.to_string(), value.to_string()));
        self
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn profile_file(&self, name: &str) -> PathBuf {
        self.home().join("profiles").join(format!("{name}.json"))
    }

    /// Gives `cmd` this plugin's environment: its state folder and variables.
    pub fn apply_env(&self, cmd: &mut Command) {
        cmd.env("MINIMAX_PORTAL_AUTH_HOME", self.home())
            // Never open a real browser from a test.
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("MINIMAX_PORTAL_AUTH_MARGIN_SECS");
        for (name, value) in &self.vars {
            cmd.env(name, value);
        }
    }

    /// `program ARGS...` in this plugin's environment, stdin empty, output
    /// piped: for a program that runs the plugin, like the reference host.
    pub fn command_for(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.apply_env(&mut cmd);
        cmd
    }

    /// The plugin binary with `args`.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_for(Path::new(BIN), args)
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().expect("spawn the plugin")
    }

    pub fn run(&self, args: &[&str]) -> Run {
        finish(self.spawn(args))
    }

    /// Like [`Plugin::run`], with `input` on stdin (then closed).
    pub fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn the plugin");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input)
            .expect("write the plugin's stdin");
        finish(child)
    }

    /// `login --region global --no-browser` plus `extra`.
    pub fn login(&self, extra: &[&str]) -> Run {
        let mut args = vec!["login", "--region", "global", "--no-browser"];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

/// Waits for a child with a deadline; kills it and fails the test past it.
pub fn finish(mut child: Child) -> Run {
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the plugin") {
            break status;
        }
        if started.elapsed() > RUN_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the plugin ran for over {RUN_DEADLINE:?}: it hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}
