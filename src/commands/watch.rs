//! `refresh --watch`: keeps profiles fresh for a host that reads the token
//! once and keeps it (an OpenClaw Gateway resolves its secrets at start and
//! again only on `openclaw secrets reload`).
//!
//! Each profile is refreshed the margin before it expires, through the same
//! lock as every other process, and at most once per [`MIN_REFRESH_GAP`]
//! (a portal handing out tokens that live a second must not drive a refresh
//! and a reload every second); whenever its access token changed (refreshed
//! here or by another process) the `--then` command runs, so the host picks
//! the new token up. Passing failures, of a refresh or of `--then`, are
//! ridden out with growing backoff. A profile that needs a new login (or
//! can no longer be read, or was logged out) is dropped with a message and
//! the others are kept fresh; the watch ends with exit 3 only when none is
//! left. SIGTERM or Ctrl-C end it with exit 0 between refreshes, never
//! inside one; a running `--then` is stopped with its whole process group.

use crate::child;
use crate::clock::now_ms;
use crate::error::{Class, Error, Result};
use crate::json::{WatchDetail, WatchEvent, WatchLine};
use crate::portal::refresh::HttpRefresher;
use crate::profile::ProfileName;
use crate::session::{self, Fresh, OnFailure, Outcome, Want};
use crate::store::Stores;
use crate::ui;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Look at the store at least this often: another process may have
/// refreshed, and the host must then be told.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// This watcher refreshes a profile at most this often, however short the
/// tokens the portal hands out; in between it only looks.
const MIN_REFRESH_GAP: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// The `--then` command may take this long before it is stopped.
const THEN_TIMEOUT: Duration = Duration::from_secs(120);

struct Watched {
    name: ProfileName,
    /// The access token the host was last given (or had at start).
    announced: Option<String>,
    /// Failed refreshes in a row.
    failures: u32,
    /// Failed `--then` runs in a row, and when to run it again.
    then_failures: u32,
    then_not_before: Option<Instant>,
    /// When this watcher last refreshed the profile.
    refreshed_at: Option<Instant>,
    /// The profile's next turn is not before this.
    next_turn: Instant,
}

/// How a turn went.
enum Turn {
    /// Keep watching the profile.
    Next,
    /// Drop the profile; why (the exit code it would end a watch with).
    Drop(Class),
    /// SIGTERM or Ctrl-C arrived (while `--then` ran).
    Stopped,
}

pub fn run(
    stores: &Stores,
    json: bool,
    names: Vec<ProfileName>,
    margin: Duration,
    then: &[String],
) -> Result<i32> {
    let stop = Stop::listen();
    let watch = Watch {
        stores,
        json,
        want: Want {
            margin,
            force: false,
            on_failure: OnFailure::Fail,
        },
        then,
        stop: &stop,
    };
    let mut watched = with_current_tokens(stores, names);
    if watched.is_empty() {
        say!("No MiniMax profiles are stored; nothing to watch.");
        return Ok(3);
    }
    let ids: Vec<String> = watched.iter().map(|w| w.name.profile_id()).collect();
    report(
        json,
        WatchEvent::Started,
        None,
        &format!("watching {}", ids.join(", ")),
        WatchDetail::Started { profiles: ids },
    );

    let mut last_drop = Class::NeedsLogin;
    loop {
        let mut i = 0;
        while i < watched.len() {
            if stop.requested() {
                return Ok(stopped(json));
            }
            if watched[i].next_turn > Instant::now() {
                i += 1;
                continue;
            }
            match watch.turn(&mut watched[i]) {
                Turn::Next => i += 1,
                Turn::Drop(class) => {
                    watched.remove(i);
                    last_drop = class;
                }
                Turn::Stopped => return Ok(stopped(json)),
            }
        }
        let Some(wake) = watched.iter().map(|w| w.next_turn).min() else {
            report(
                json,
                WatchEvent::Ended,
                None,
                "no profile is left to watch",
                WatchDetail::Ended { fix: None },
            );
            return Ok(last_drop.exit_code());
        };
        let wake = wake.min(Instant::now() + MAX_SLEEP);
        if stop.wait(wake.saturating_duration_since(Instant::now())) {
            return Ok(stopped(json));
        }
    }
}

fn stopped(json: bool) -> i32 {
    report(
        json,
        WatchEvent::Stopped,
        None,
        "stopped",
        WatchDetail::Stopped {},
    );
    0
}

/// Each profile to watch, with the access token the host has now. A
/// profile that cannot be read now is reported by its first turn.
fn with_current_tokens(stores: &Stores, names: Vec<ProfileName>) -> Vec<Watched> {
    names
        .into_iter()
        .map(|name| Watched {
            announced: stores
                .load(&name)
                .ok()
                .flatten()
                .map(|loaded| loaded.profile.access.secret().clone()),
            name,
            failures: 0,
            then_failures: 0,
            then_not_before: None,
            refreshed_at: None,
            next_turn: Instant::now(),
        })
        .collect()
}

/// What every turn of the watch needs.
struct Watch<'a> {
    stores: &'a Stores,
    json: bool,
    want: Want,
    /// The `--then` command (empty without one).
    then: &'a [String],
    stop: &'a Stop,
}

impl Watch<'_> {
    /// One profile's turn: refreshed when due (and not refreshed here too
    /// recently), the host told when its token changed.
    fn turn(&self, w: &mut Watched) -> Turn {
        let recently = w
            .refreshed_at
            .is_some_and(|at| at.elapsed() < MIN_REFRESH_GAP);
        let current = if recently {
            self.look(&w.name)
        } else {
            session::ensure_fresh(self.stores, &HttpRefresher, &w.name, &self.want)
        };
        super::warnings::tell(self.stores);
        match current {
            Ok(fresh) => self.fresh(w, &fresh),
            Err(e) if matches!(e.class, Class::NeedsLogin | Class::Usage) => self.give_up(w, e),
            Err(e) => {
                self.back_off(w, &e);
                Turn::Next
            }
        }
    }

    /// The stored token as it is, without a refresh.
    fn look(&self, name: &ProfileName) -> Result<Fresh> {
        let Some(loaded) = self.stores.load(name)? else {
            return Err(session::no_profile(self.stores, name));
        };
        if loaded.profile.needs_login {
            return Err(
                Error::needs_login(format!("{} must sign in again", name.profile_id()))
                    .with_fix(crate::fix::login(name, Some(loaded.profile.region))),
            );
        }
        Ok(Fresh {
            profile: loaded.profile,
            store: loaded.stored.store,
            outcome: Outcome::StillValid,
            warnings: Vec::new(),
        })
    }

    /// A profile that cannot be kept fresh any more: said, and dropped.
    fn give_up(&self, w: &Watched, mut e: Error) -> Turn {
        e.message = format!("{}; no longer watched", e.message);
        report(
            self.json,
            WatchEvent::Failed(e.class),
            Some(&w.name),
            &e.to_string(),
            WatchDetail::Ended { fix: e.fix.clone() },
        );
        Turn::Drop(e.class)
    }

    /// A usable token: announced when it changed (unless `--then` waits
    /// out a failure); look again when it falls due, at least a second from
    /// now and at most [`MAX_SLEEP`], not refreshing again within
    /// [`MIN_REFRESH_GAP`].
    fn fresh(&self, w: &mut Watched, fresh: &Fresh) -> Turn {
        let now = Instant::now();
        w.failures = 0;
        if fresh.outcome == Outcome::Refreshed {
            w.refreshed_at = Some(now);
        }
        let due = session::due_at(&fresh.profile, self.want.margin);
        let until_due =
            Duration::from_millis(u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0));
        let mut next = now + until_due.clamp(Duration::from_secs(1), MAX_SLEEP);
        if let Some(at) = w.refreshed_at {
            next = next.max(at + MIN_REFRESH_GAP);
        }
        if w.announced.as_deref() != Some(fresh.profile.access.secret().as_str()) {
            match w.then_not_before.filter(|t| *t > now) {
                Some(later) => next = next.min(later),
                None => {
                    if !self.announce(w, fresh) {
                        return Turn::Stopped;
                    }
                    if let Some(later) = w.then_not_before {
                        next = next.min(later);
                    }
                }
            }
        }
        w.next_turn = next;
        Turn::Next
    }

    /// Runs `--then` for a changed token and says so; when `--then` failed
    /// the host has not got the token yet, so it is tried again after a
    /// backoff that grows with each failure in a row. False when the watch
    /// was stopped while `--then` ran.
    fn announce(&self, w: &mut Watched, fresh: &Fresh) -> bool {
        let left = ui::duration(fresh.profile.expires_in_ms(now_ms()));
        let ran = match run_then(self.then, self.stop) {
            ThenRun::Stopped => return false,
            ThenRun::None => None,
            ThenRun::Ok => Some(Ok(())),
            ThenRun::Failed(why) => Some(Err(why)),
        };
        let retry = match &ran {
            Some(Err(_)) => {
                w.then_failures += 1;
                let wait = backoff(w.then_failures, None);
                w.then_not_before = Some(Instant::now() + wait);
                Some(wait)
            }
            _ => {
                w.then_failures = 0;
                w.then_not_before = None;
                w.announced = Some(fresh.profile.access.secret().clone());
                None
            }
        };
        let note = match (&ran, retry) {
            (Some(Ok(())), _) => format!("; ran: {}", self.then.join(" ")),
            (Some(Err(why)), Some(wait)) => format!(
                "; {why}; trying it again in {}",
                ui::duration(wait.as_millis() as i64)
            ),
            _ => String::new(),
        };
        report(
            self.json,
            WatchEvent::Fresh(fresh.outcome),
            Some(&w.name),
            &format!(
                "{} (valid for {left}){note}",
                fresh.outcome.as_str().replace('_', " ")
            ),
            WatchDetail::Announced {
                expires: fresh.profile.expires,
                then_ok: ran.as_ref().map(|r| r.is_ok()),
                then_retry_in: retry.map(|d| d.as_secs()),
            },
        );
        true
    }

    /// A passing failure: wait longer after each one in a row (at least as
    /// long as the portal asked), and say when the next try is.
    fn back_off(&self, w: &mut Watched, e: &Error) {
        w.failures += 1;
        let wait = backoff(w.failures, e.retry_after);
        w.next_turn = Instant::now() + wait;
        report(
            self.json,
            WatchEvent::Failed(e.class),
            Some(&w.name),
            &format!(
                "{}; trying again in {}",
                e.message,
                ui::duration(wait.as_millis() as i64)
            ),
            WatchDetail::Retrying {
                retry_in: wait.as_secs(),
            },
        );
    }
}

/// The wait after `failures` failures in a row: doubling from
/// [`FIRST_BACKOFF`] up to [`MAX_BACKOFF`], and at least `asked`.
fn backoff(failures: u32, asked: Option<Duration>) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << failures.saturating_sub(1).min(10))
        .min(MAX_BACKOFF)
        .max(asked.unwrap_or_default())
}

/// A line on stderr for people, and with --json one JSON object per line
/// on stdout.
fn report(
    json: bool,
    event: WatchEvent,
    name: Option<&ProfileName>,
    text: &str,
    detail: WatchDetail,
) {
    let at = chrono::Local::now().format("%H:%M:%S");
    match name {
        Some(name) => say!("[{at}] {}: {text}", name.profile_id()),
        None => say!("[{at}] {text}"),
    }
    if json {
        let line = WatchLine {
            event,
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

/// How a `--then` run went.
enum ThenRun {
    /// There is no `--then`.
    None,
    Ok,
    Failed(String),
    /// SIGTERM or Ctrl-C arrived while it ran; it was stopped.
    Stopped,
}

/// Runs the `--then` command (its output goes to stderr, so stdout stays
/// JSON) in a process group of its own: when it runs too long, or the
/// watch is stopped meanwhile, the whole group is stopped.
fn run_then(then: &[String], stop: &Stop) -> ThenRun {
    let Some((program, args)) = then.split_first() else {
        return ThenRun::None;
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()));
    let mut running = match child::in_own_group(&mut command).spawn() {
        Ok(running) => running,
        Err(e) => return ThenRun::Failed(format!("could not run {program}: {e}")),
    };
    let started = Instant::now();
    loop {
        if stop.requested() {
            child::stop_group(&mut running, child::STOP_GRACE);
            return ThenRun::Stopped;
        }
        match running.try_wait() {
            Ok(Some(status)) if status.success() => return ThenRun::Ok,
            Ok(Some(status)) => {
                return ThenRun::Failed(format!("{} failed ({status})", then.join(" ")));
            }
            Ok(None) if started.elapsed() > THEN_TIMEOUT => {
                child::stop_group(&mut running, child::STOP_GRACE);
                return ThenRun::Failed(format!(
                    "{} ran over {} s and was stopped",
                    then.join(" "),
                    THEN_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                child::stop_group(&mut running, Duration::ZERO);
                return ThenRun::Failed(format!("could not wait for {program}: {e}"));
            }
        }
    }
}

/// SIGTERM or SIGINT, once either arrived: asked between turns and while
/// `--then` runs.
struct Stop {
    arrived: Arc<AtomicBool>,
    signal: mpsc::Receiver<()>,
}

impl Stop {
    fn listen() -> Stop {
        let arrived = Arc::new(AtomicBool::new(false));
        let set = Arc::clone(&arrived);
        let (tx, signal) = mpsc::channel();
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
            set.store(true, Ordering::SeqCst);
            let _ = tx.send(());
        });
        Stop { arrived, signal }
    }

    fn requested(&self) -> bool {
        self.arrived.load(Ordering::SeqCst)
    }

    /// Waits up to `timeout`; true when the stop arrived.
    fn wait(&self, timeout: Duration) -> bool {
        match self.signal.recv_timeout(timeout) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => true,
            Err(mpsc::RecvTimeoutError::Timeout) => self.requested(),
        }
    }
}
