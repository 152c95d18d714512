//! Programs this tool starts and must be able to stop (OpenClaw's CLI, the
//! watcher's `--then`): each runs in a process group of its own, so that
//! stopping it also stops whatever it started, and its output is read only
//! as long as it runs (a grandchild may keep the pipes open for ever).

use std::io::Read;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a stopped group has between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// Makes `cmd` start in a new process group (led by the child).
pub fn in_own_group(cmd: &mut Command) -> &mut Command {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    cmd
}

/// Stops a child started with [`in_own_group`] and everything in its group:
/// SIGTERM, up to `grace` for the child to end, then SIGKILL for whatever
/// is left. The child is reaped.
pub fn stop_group(child: &mut Child, grace: Duration) {
    // Elsewhere there is no group to signal: the child alone is killed.
    #[cfg(not(unix))]
    let _ = grace;
    #[cfg(unix)]
    {
        use rustix::process::{Pid, Signal, kill_process_group};
        let group = i32::try_from(child.id()).ok().and_then(Pid::from_raw);
        if let Some(group) = group {
            let _ = kill_process_group(group, Signal::TERM);
            let started = Instant::now();
            while started.elapsed() < grace && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = kill_process_group(group, Signal::KILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Output read from a pipe on a thread of its own, at most `max` bytes.
/// What was read can be taken at any time, whether or not the pipe closed.
pub struct Collected {
    text: Arc<Mutex<Vec<u8>>>,
    reader: JoinHandle<()>,
}

impl Collected {
    pub fn start(stream: Option<impl Read + Send + 'static>, max: u64) -> Collected {
        let text = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&text);
        let reader = std::thread::spawn(move || {
            let Some(stream) = stream else { return };
            let mut stream = stream.take(max);
            let mut buf = [0u8; 8192];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut text) = into.lock() {
                    text.extend_from_slice(&buf[..n]);
                }
            }
        });
        Collected { text, reader }
    }

    /// What was read by the time the pipe closes or `deadline` passes,
    /// whichever is first. A reader still waiting is left behind: it ends
    /// when the pipe closes, and holds nothing but its buffer.
    pub fn finish(self, deadline: Instant) -> String {
        while !self.reader.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let text = self.text.lock().map(|t| t.clone()).unwrap_or_default();
        String::from_utf8_lossy(&text).into_owned()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::process::Stdio;

    #[test]
    fn output_is_kept_when_a_grandchild_holds_the_pipe_open() {
        let mut child =
            in_own_group(Command::new("sh").args(["-c", "sleep 30 & echo said; exit 0"]))
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
        let out = Collected::start(child.stdout.take(), 1024);
        child.wait().unwrap();
        let text = out.finish(Instant::now() + Duration::from_secs(3));
        assert_eq!(text, "said\n");
        stop_group(&mut child, Duration::ZERO);
    }
}
