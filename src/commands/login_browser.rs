//! `login --flow browser` at the terminal: the link, the browser (or why
//! not), the countdown, the pasted address, Ctrl-C; then the code exchange
//! and the save, before the browser hears how it went.

use crate::error::{Class, Error, Result};
use crate::fix;
use crate::portal::browser::{Bound, BrowserLogin, Ending, Event, Returned, WAIT_FOR_BROWSER};
use crate::profile::{LoginTokens, ProfileName};
use crate::region::Region;
use crate::ui;
use std::io::{BufRead, IsTerminal, Read};
use std::time::Duration;
use std::time::Instant;
use tokio::sync::mpsc;

/// A pasted line longer than this is not an address the browser showed.
const MAX_PASTE_BYTES: usize = 8 * 1024;

/// How to sign in through the browser, as the flags say.
pub struct Options<'a> {
    pub region: Region,
    pub name: &'a ProfileName,
    pub no_browser: bool,
    pub port: Option<u16>,
}

/// Signs in through the browser. `save` keeps the tokens; the browser is
/// told "signed in" only once it returned Ok, and is shown the failure
/// otherwise (the command then fails with that error).
pub fn sign_in<T>(options: &Options, save: impl FnOnce(LoginTokens) -> Result<T>) -> Result<T> {
    let mut login = bind_loopback(options)?.start(options.region)?;
    say!(
        "\nTo sign in to MiniMax {}, open this link in a browser:\n\n  {}\n",
        options.region.label(),
        login.authorize_url()
    );
    let paste = offer_browser(login.authorize_url().as_str(), options.no_browser);
    let mut pasted = if paste {
        ui::tell(&format!(
            "If the browser runs on another machine, it cannot come back here by itself: after \
             you approve, it shows a page that does not load. Copy that page's whole address (it \
             starts with {}?) and paste it here, then press Enter.",
            login.redirect_uri()
        ));
        Some(read_pasted_lines())
    } else {
        None
    };
    let returned = wait(&mut login, &mut pasted, paste)?;
    let code = match returned {
        Returned::Code(code) => code,
        Returned::Denied(reason) => return Err(denied(login, reason)),
    };
    let spinner = ui::spinner("Signing in…".to_string());
    let exchanged = match login.exchange(&code) {
        // Ctrl-C ends the command at once; the browser is not told.
        Err(e) if e.class == Class::Cancelled => return Err(e),
        exchanged => exchanged,
    };
    drop(spinner);
    // The browser waits for this: it is told only what is true once saved.
    let saved = exchanged.and_then(save);
    let ending = match &saved {
        Ok(_) => Ending::SignedIn,
        Err(e) => Ending::Failed(e.message.clone()),
    };
    login.finish(ending);
    saved
}

/// The loopback listener; when --port was given and cannot be had, the fix
/// is the same login without it.
fn bind_loopback(options: &Options<'_>) -> Result<Bound> {
    BrowserLogin::bind(options.port).map_err(|e| {
        let without_port = format!(
            "{} --flow browser",
            fix::login(options.name, Some(options.region))
        );
        match options.port {
            Some(_) => e.with_fix(without_port),
            None => e,
        }
    })
}

/// Tells the browser MiniMax did not approve, and says so as the error.
fn denied(login: BrowserLogin, reason: String) -> Error {
    login.finish(Ending::Denied(reason.clone()));
    Error::failed(format!("MiniMax did not approve the sign-in: {reason}"))
        .with_hint("run login again and approve it, or use --flow device")
}

/// Waits for the browser (or a pasted address) until the deadline, with a
/// countdown; Ctrl-C cancels.
fn wait(
    login: &mut BrowserLogin,
    pasted: &mut Option<mpsc::Receiver<Pasted>>,
    paste: bool,
) -> Result<Returned> {
    let deadline = Instant::now() + WAIT_FOR_BROWSER;
    let redirect_uri = login.redirect_uri().to_string();
    let waiting = |left: Duration| waiting_for(paste, &redirect_uri, left);
    let mut shown = waiting(WAIT_FOR_BROWSER);
    if !std::io::stderr().is_terminal() {
        say!(
            "Waiting up to {} for the browser (Ctrl-C to cancel).",
            ui::duration(WAIT_FOR_BROWSER.as_millis() as i64)
        );
    }
    let spinner = ui::spinner(shown.clone());
    if paste {
        // A steady tick would wipe what the user is typing on the same line.
        spinner.disable_steady_tick();
    }
    loop {
        match login.next_event(deadline, pasted.as_mut())? {
            Event::Returned(returned) => return Ok(returned),
            Event::Line(line) => {
                if let Some(returned) = take_pasted(login, line, &spinner) {
                    return Ok(returned);
                }
            }
            Event::LinesDone => *pasted = None,
            Event::TimedOut => {
                return Err(Error::failed(format!(
                    "the browser did not come back within {}",
                    ui::duration(WAIT_FOR_BROWSER.as_millis() as i64)
                ))
                .with_hint("run login again, or use --flow device"));
            }
            Event::Tick => {
                let now = waiting(deadline.saturating_duration_since(Instant::now()));
                if now != shown {
                    spinner.set_message(now.clone());
                    shown = now;
                }
            }
        }
    }
}

/// The countdown line, with `left` to go.
fn waiting_for(paste: bool, redirect_uri: &str, left: Duration) -> String {
    let left = ui::duration(i64::try_from(left.as_millis()).unwrap_or(i64::MAX));
    let choices = if paste {
        vec![
            format!("Waiting for the browser or a pasted address ({left} left; Ctrl-C to cancel)"),
            format!("Waiting for the browser or a pasted address ({left} left)"),
        ]
    } else {
        vec![
            format!(
                "Waiting for the browser to come back to {redirect_uri} ({left} left; Ctrl-C to \
                 cancel)"
            ),
            format!("Waiting for the browser ({left} left; Ctrl-C to cancel)"),
            format!("Waiting for the browser ({left} left)"),
        ]
    };
    ui::one_line(choices, ui::spinner_width())
}

/// A pasted line: what it brought back, or None after saying (above the
/// spinner) why it was not taken. Blank lines are passed over.
fn take_pasted(login: &BrowserLogin, line: Pasted, spinner: &ui::Spinner) -> Option<Returned> {
    match line {
        Pasted::Line(text) if text.trim().is_empty() => None,
        Pasted::Line(text) => match login.paste(&text) {
            Ok(returned) => Some(returned),
            Err(why) => {
                spinner.suspend(|| say!("{why}"));
                None
            }
        },
        Pasted::TooLong => {
            spinner.suspend(|| {
                say!("That line is too long to be the address the browser shows; paste it again.")
            });
            None
        }
    }
}

enum Pasted {
    Line(String),
    TooLong,
}

/// Reads stdin line by line on a thread of its own (a blocking read that
/// the runtime leaves behind when the login ends).
fn read_pasted_lines() -> mpsc::Receiver<Pasted> {
    let (tx, rx) = mpsc::channel(4);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut line = Vec::new();
            let read = (&mut stdin)
                .take(MAX_PASTE_BYTES as u64)
                .read_until(b'\n', &mut line);
            let pasted = match read {
                Ok(0) => return,
                Ok(_) if line.ends_with(b"\n") || line.len() < MAX_PASTE_BYTES => {
                    Pasted::Line(String::from_utf8_lossy(&line).into_owned())
                }
                Ok(_) => {
                    // Drop the rest of the line, whatever its length.
                    let mut rest = Vec::new();
                    loop {
                        rest.clear();
                        match (&mut stdin)
                            .take(MAX_PASTE_BYTES as u64)
                            .read_until(b'\n', &mut rest)
                        {
                            Ok(0) => break,
                            Ok(_) if rest.ends_with(b"\n") => break,
                            Ok(_) => {}
                            Err(_) => return,
                        }
                    }
                    Pasted::TooLong
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            if tx.blocking_send(pasted).is_err() {
                return;
            }
        }
    });
    rx
}

/// Opens the link unless told not to, or unless no local browser is
/// likely. True when the address should be accepted pasted back.
fn offer_browser(link: &str, no_browser: bool) -> bool {
    if no_browser {
        ui::tell("Open the link in a browser.");
        return true;
    }
    if let Some(why) = ui::remote_session() {
        ui::tell(&format!(
            "Not opening a browser here ({why}): open the link in a browser yourself."
        ));
        return true;
    }
    match ui::open_browser(link) {
        Ok(()) => {
            ui::tell("Opened your browser. If nothing appeared, open the link yourself.");
            false
        }
        Err(why) => {
            ui::tell(&format!("{why}: open the link in a browser yourself."));
            true
        }
    }
}
