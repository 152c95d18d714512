//! The plugin on a real pseudo-terminal (util-linux `script`), for what
//! concerns the terminal: prompts, keys, Ctrl-C, the terminal's state after.
//!
//! The plugin runs under `sh -c` inside the terminal; after it exits the
//! shell prints `EXIT=<code>` and `stty -a`, so a test can check that echo
//! and canonical mode came back.

use super::cli::{BIN, Plugin};
use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Tty {
    child: Child,
    stdin: Option<ChildStdin>,
    output: mpsc::Receiver<Vec<u8>>,
    screen: Vec<u8>,
    /// How far `shows_next` has read.
    seen: usize,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Tty {
    /// Starts `minimax-portal-auth ARGS` on a terminal `cols` wide.
    pub fn spawn(plugin: &Plugin, args: &[&str], cols: u16) -> Tty {
        Tty::spawn_after(plugin, args, cols, "true")
    }

    /// As `spawn`, with a shell command run first (e.g. `stty -echo`, so
    /// keys typed before a prompt takes the terminal are not echoed).
    pub fn spawn_after(plugin: &Plugin, args: &[&str], cols: u16, first: &str) -> Tty {
        Tty::spawn_sized(plugin, args, (cols, 40), first)
    }

    /// As `spawn_after`, on a terminal of (columns, lines).
    pub fn spawn_sized(plugin: &Plugin, args: &[&str], size: (u16, u16), first: &str) -> Tty {
        Tty::spawn_program(plugin, BIN, args, size, first, &[])
    }

    /// Another program (with the plugin's environment and `env`), such as
    /// OpenClaw running the plugin.
    pub fn spawn_program(
        plugin: &Plugin,
        program: &str,
        args: &[&str],
        size: (u16, u16),
        first: &str,
        env: &[(String, String)],
    ) -> Tty {
        let (cols, rows) = size;
        let command: Vec<String> = std::iter::once(program)
            .chain(args.iter().copied())
            .map(quote)
            .collect();
        // A trapped SIGINT lets the shell report after Ctrl-C; the plugin
        // itself gets the default disposition back on exec.
        let line = format!(
            "trap true INT; stty cols {cols} rows {rows}; {first}; echo SHELL=$$; {}; code=$?; echo; \
             echo EXIT=$code; stty -a; exit $code",
            command.join(" ")
        );
        let mut script = Command::new("script");
        script
            .args(["-qfec", &format!("sh -c {}", quote(&line)), "/dev/null"])
            .env("TERM", "xterm");
        plugin.apply_env(&mut script);
        script.envs(env.iter().map(|(n, v)| (n, v)));
        let mut child = script
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run script (util-linux)");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Tty {
            stdin: child.stdin.take(),
            child,
            output: rx,
            screen: Vec::new(),
            seen: 0,
        }
    }

    /// Everything the terminal showed so far.
    pub fn screen(&mut self) -> String {
        while let Ok(chunk) = self.output.try_recv() {
            self.screen.extend_from_slice(&chunk);
        }
        String::from_utf8_lossy(&self.screen).into_owned()
    }

    /// Waits until the screen shows `text`; panics with the screen if not.
    pub fn wait_for(&mut self, text: &str, within: Duration) {
        let started = Instant::now();
        while !self.screen().contains(text) {
            if started.elapsed() > within {
                let _ = self.child.kill();
                panic!("the terminal never showed {text:?}:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether output not yet read this way shows `text` (and if so, reads
    /// past its last showing): prompts that repeat words are told apart.
    pub fn shows_next(&mut self, text: &str) -> bool {
        let screen = self.screen();
        match screen.get(self.seen..).and_then(|rest| rest.rfind(text)) {
            Some(at) => {
                self.seen += at + text.len();
                true
            }
            None => false,
        }
    }

    /// Whether the program still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Types keys (after a moment for the prompt to set up the terminal).
    pub fn type_keys(&mut self, keys: &[u8]) {
        std::thread::sleep(Duration::from_millis(300));
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(keys);
            let _ = stdin.flush();
        }
    }

    /// The plugin's process id: the shell's only child.
    pub fn plugin_pid(&mut self) -> u32 {
        self.wait_for("SHELL=", Duration::from_secs(10));
        let screen = self.screen();
        let shell = screen
            .split("SHELL=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("the shell's pid");
        let started = Instant::now();
        loop {
            let out = Command::new("pgrep")
                .args(["-P", shell])
                .output()
                .expect("pgrep");
            if let Some(pid) = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
            {
                return pid;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no plugin process"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal to the plugin (as `kill -SIG` from another terminal).
    pub fn signal(&mut self, signal: &str) {
        let pid = self.plugin_pid();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
    }

    /// Waits for the end (at most `within`); returns the plugin's exit code
    /// and the screen. Panics if it does not end in time: a hang.
    pub fn finish(mut self, within: Duration) -> (i32, String) {
        let started = Instant::now();
        loop {
            if self.child.try_wait().expect("wait for script").is_some() {
                break;
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("still running after {within:?}:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(self.stdin.take());
        std::thread::sleep(Duration::from_millis(50));
        let screen = self.screen();
        let code = screen
            .split("EXIT=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|c| c.parse().ok())
            .unwrap_or(-1);
        (code, screen)
    }
}

/// What the plugin wrote in a session: after the shell's first line
/// (`SHELL=`), before its report (`EXIT=`).
pub fn session(raw: &str) -> &str {
    let start = raw
        .find("SHELL=")
        .and_then(|at| raw[at..].find('\n').map(|n| at + n + 1))
        .unwrap_or(0);
    let end = raw.rfind("\nEXIT=").unwrap_or(raw.len());
    &raw[start..end]
}

/// The terminal modes `stty -a` printed after the plugin exited.
pub fn modes_after(screen: &str) -> String {
    screen.split("EXIT=").nth(1).unwrap_or("").to_string()
}
