//! `refresh --watch`: keeps profiles fresh for a host that reads the token
//! once and keeps it (an OpenClaw Gateway resolves its secrets at start and
//! again only on `openclaw secrets reload`).
//!
//! Each profile is refreshed the margin before it expires, through the same
//! lock as every other process; whenever its access token changed (refreshed
//! here or by another process) the `--then` command runs, so the host picks
//! the new token up. Passing failures are ridden out with backoff; a profile
//! that needs a new login ends the watch (exit 3). SIGTERM or Ctrl-C end it
//! with exit 0 between refreshes, never inside one.

use crate::error::{Class, Error, Result};
use crate::json::{WatchDetail, WatchLine};
use crate::portal::refresh::HttpRefresher;
use crate::profile::{ProfileName, now_ms};
use crate::session::{self, Fresh, OnFailure, Want};
use crate::store::Stores;
use crate::ui;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Look at the store at least this often: another process may have
/// refreshed, and the host must then be told.
const MAX_SLEEP: Duration = Duration::from_secs(60);
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// The `--then` command may take this long before it is stopped.
const THEN_TIMEOUT: Duration = Duration::from_secs(120);

struct Watched {
    name: ProfileName,
    /// The access token the host was last given (or had at start).
    announced: Option<String>,
    failures: u32,
    /// Not before this instant (after a failure).
    not_before: Option<Instant>,
}

pub fn run(
    stores: &Stores,
    json: bool,
    names: Vec<ProfileName>,
    margin: Duration,
    then: &[String],
) -> Result<i32> {
    let stop = stop_signals();
    let watch = Watch {
        stores,
        json,
        want: Want {
            margin,
            force: false,
            on_failure: OnFailure::Fail,
        },
        then,
    };
    let mut watched = with_current_tokens(stores, names)?;
    if watched.is_empty() {
        say!("No MiniMax profiles are stored; nothing to watch.");
        return Ok(3);
    }
    let ids: Vec<String> = watched.iter().map(|w| w.name.profile_id()).collect();
    report(
        json,
        "started",
        None,
        &format!("watching {}", ids.join(", ")),
        WatchDetail::Started { profiles: ids },
    );

    loop {
        let mut wake = Instant::now() + MAX_SLEEP;
        for w in &mut watched {
            if w.not_before.is_some_and(|t| t > Instant::now()) {
                wake = wake.min(w.not_before.unwrap_or(wake));
                continue;
            }
            match watch.turn(w) {
                Ok(next) => wake = wake.min(next),
                Err(exit_code) => return Ok(exit_code),
            }
        }
        let sleep = wake.saturating_duration_since(Instant::now());
        match stop.recv_timeout(sleep) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                report(json, "stopped", None, "stopped", WatchDetail::Stopped {});
                return Ok(0);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

/// Each profile to watch, with the access token the host has now.
fn with_current_tokens(stores: &Stores, names: Vec<ProfileName>) -> Result<Vec<Watched>> {
    let mut watched: Vec<Watched> = Vec::new();
    for name in names {
        let current = stores
            .load(&name)?
            .map(|loaded| loaded.profile.access.secret().clone());
        watched.push(Watched {
            name,
            announced: current,
            failures: 0,
            not_before: None,
        });
    }
    Ok(watched)
}

/// What every turn of the watch needs.
struct Watch<'a> {
    stores: &'a Stores,
    json: bool,
    want: Want,
    /// The `--then` command (empty without one).
    then: &'a [String],
}

impl Watch<'_> {
    /// One profile's turn: refreshed when due, the host told when its
    /// token changed. When to look again, or the exit code that ends the
    /// watch (a new login is needed).
    fn turn(&self, w: &mut Watched) -> std::result::Result<Instant, i32> {
        match session::ensure_fresh(self.stores, &HttpRefresher, &w.name, &self.want) {
            Ok(fresh) => Ok(self.fresh(w, &fresh)),
            Err(e) if matches!(e.class, Class::NeedsLogin | Class::Usage) => {
                report(
                    self.json,
                    e.class.as_str(),
                    Some(&w.name),
                    &e.to_string(),
                    WatchDetail::Ended { fix: e.fix.clone() },
                );
                Err(e.class.exit_code())
            }
            Err(e) => Ok(self.back_off(w, &e)),
        }
    }

    /// A usable token: announced when it changed; look again when it falls
    /// due (at least a second from now).
    fn fresh(&self, w: &mut Watched, fresh: &Fresh) -> Instant {
        w.failures = 0;
        w.not_before = None;
        if w.announced.as_deref() != Some(fresh.profile.access.secret().as_str()) {
            self.announce(w, fresh);
        }
        let due = session::due_at(&fresh.profile, self.want.margin);
        let until_due =
            Duration::from_millis(u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0));
        Instant::now() + until_due.max(Duration::from_secs(1))
    }

    /// Runs `--then` for a changed token and says so; when `--then` failed
    /// the host has not got the token yet, so it is tried again soon.
    fn announce(&self, w: &mut Watched, fresh: &Fresh) {
        let left = ui::duration(fresh.profile.expires_in_ms(now_ms()));
        let ran = run_then(self.then);
        let note = match &ran {
            Some(Ok(())) => format!("; ran: {}", self.then.join(" ")),
            Some(Err(why)) => format!("; {why}"),
            None => String::new(),
        };
        report(
            self.json,
            fresh.outcome.as_str(),
            Some(&w.name),
            &format!(
                "{} (valid for {left}){note}",
                fresh.outcome.as_str().replace('_', " ")
            ),
            WatchDetail::Announced {
                expires: fresh.profile.expires,
                then_ok: ran.as_ref().map(|r| r.is_ok()),
            },
        );
        match ran {
            Some(Err(_)) => w.not_before = Some(Instant::now() + FIRST_BACKOFF),
            _ => w.announced = Some(fresh.profile.access.secret().clone()),
        }
    }

    /// A passing failure: wait longer after each one in a row (at least as
    /// long as the portal asked), and say when the next try is.
    fn back_off(&self, w: &mut Watched, e: &Error) -> Instant {
        w.failures += 1;
        let backoff = FIRST_BACKOFF
            .saturating_mul(1 << (w.failures - 1).min(6))
            .min(MAX_BACKOFF)
            .max(e.retry_after.unwrap_or_default());
        let next = Instant::now() + backoff;
        w.not_before = Some(next);
        report(
            self.json,
            e.class.as_str(),
            Some(&w.name),
            &format!(
                "{}; trying again in {}",
                e.message,
                ui::duration(backoff.as_millis() as i64)
            ),
            WatchDetail::Retrying {
                retry_in: backoff.as_secs(),
            },
        );
        next
    }
}

/// A line on stderr for people, and with --json one JSON object per line
/// on stdout.
fn report(json: bool, event: &str, name: Option<&ProfileName>, text: &str, detail: WatchDetail) {
    let at = chrono::Local::now().format("%H:%M:%S");
    match name {
        Some(name) => say!("[{at}] {}: {text}", name.profile_id()),
        None => say!("[{at}] {text}"),
    }
    if json {
        let line = WatchLine {
            event: event.to_string(),
            profile_id: name.map(|n| n.profile_id()),
            at: now_ms(),
            detail,
        };
        let _ = print_json_line(&line);
    }
}

/// One JSON object on one line.
fn print_json_line(line: &WatchLine) -> Result<()> {
    let text = serde_json::to_string(line)
        .map_err(|e| crate::error::Error::failed(format!("cannot encode the JSON output: {e}")))?;
    crate::output::print_stdout(&format!("{text}\n"))
}

/// Runs the `--then` command (its output goes to stderr, so stdout stays
/// JSON); None when there is none.
fn run_then(then: &[String]) -> Option<std::result::Result<(), String>> {
    let (program, args) = then.split_first()?;
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return Some(Err(format!("could not run {program}: {e}"))),
    };
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Some(Ok(())),
            Ok(Some(status)) => {
                return Some(Err(format!("{} failed ({status})", then.join(" "))));
            }
            Ok(None) if started.elapsed() > THEN_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Some(Err(format!(
                    "{} ran over {} s and was stopped",
                    then.join(" "),
                    THEN_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Some(Err(format!("could not wait for {program}: {e}"))),
        }
    }
}

/// A channel that receives once SIGTERM or SIGINT arrives.
fn stop_signals() -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = crate::runtime::run_async(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                if let Ok(mut term) = signal(SignalKind::terminate()) {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                    return;
                }
            }
            let _ = tokio::signal::ctrl_c().await;
        });
        let _ = tx.send(());
    });
    rx
}
