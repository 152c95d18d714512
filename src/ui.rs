//! Talking to the person at the terminal: the region prompt, the spinner,
//! opening the browser, and telling whether there is a local browser.

use crate::api_key::ApiKey;
pub use crate::clock::duration;
use crate::error::{Error, Result};
use crate::region::Region;
pub use crate::text::fit;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Read};
use std::time::Duration;

/// True when a person can answer a prompt: stdin and stderr are terminals.
pub fn is_interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Runs a terminal prompt so that Ctrl-C, or SIGINT from another process,
/// cancels it at once (exit 130) and leaves the terminal as it was: echo on,
/// cursor shown, not in raw mode.
pub fn prompt<T: Send + 'static>(ask: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    let saved = TerminalState::save();
    let asked = crate::runtime::run_async(async {
        let prompt = tokio::task::spawn_blocking(ask);
        tokio::select! {
            answer = prompt => answer.unwrap_or_else(|_| Err(Error::cancelled())),
            _ = tokio::signal::ctrl_c() => Err(Error::cancelled()),
        }
    })
    .and_then(|answer| answer);
    saved.restore();
    asked
}

/// The terminal's settings before a prompt changed them.
struct TerminalState {
    #[cfg(unix)]
    saved: Option<(std::fs::File, rustix::termios::Termios)>,
}

impl TerminalState {
    fn save() -> TerminalState {
        #[cfg(unix)]
        {
            let saved = std::fs::File::options()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .ok()
                .and_then(|tty| rustix::termios::tcgetattr(&tty).ok().map(|t| (tty, t)));
            TerminalState { saved }
        }
        #[cfg(not(unix))]
        TerminalState {}
    }

    fn restore(self) {
        #[cfg(unix)]
        if let Some((tty, termios)) = &self.saved {
            let _ = rustix::termios::tcsetattr(tty, rustix::termios::OptionalActions::Now, termios);
        }
        let _ = console::Term::stderr().show_cursor();
    }
}

/// Asks which region the account is on, starting on `start`.
pub fn choose_region(start: Region) -> Result<Region> {
    prompt(move || ask_region(start))
}

const REGION_QUESTION: &str = "Which MiniMax region is your account on?";

/// The region prompt: ↑/↓ or g/c to choose, Enter to confirm, Esc or
/// Ctrl-C to cancel. Drawn on stderr; leaves one line with the answer.
fn ask_region(start: Region) -> Result<Region> {
    use console::Key;
    let term = console::Term::stderr();
    let choices = [
        (
            Region::Global,
            "Global  api.minimax.io    international users",
        ),
        (Region::Cn, "CN      api.minimaxi.com  users in China"),
    ];
    let mut at = choices.iter().position(|(r, _)| *r == start).unwrap_or(0);
    let io = |e: std::io::Error| {
        Error::usage(format!("cannot ask for the region: {e}"))
            .with_fix("minimax-portal-auth login --region global")
    };
    term.write_line(&format!("{REGION_QUESTION}  (↑/↓ or g/c, Enter)"))
        .map_err(io)?;
    term.hide_cursor().map_err(io)?;
    let picked = loop {
        for (i, (_, label)) in choices.iter().enumerate() {
            let mark = if i == at { ">" } else { " " };
            term.write_line(&format!("{mark} {label}")).map_err(io)?;
        }
        let key = term.read_key();
        term.clear_last_lines(choices.len()).map_err(io)?;
        match key {
            Ok(Key::ArrowUp | Key::ArrowLeft) => at = at.saturating_sub(1),
            Ok(Key::ArrowDown | Key::ArrowRight | Key::Tab) => at = (at + 1).min(choices.len() - 1),
            Ok(Key::Char('g' | 'G')) => at = 0,
            Ok(Key::Char('c' | 'C')) => at = 1,
            Ok(Key::Enter | Key::Char(' ')) => break Ok(choices[at].0),
            Ok(Key::Escape | Key::CtrlC) => break Err(Error::cancelled()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                break Err(Error::cancelled());
            }
            Err(e) => break Err(io(e)),
        }
    };
    let _ = term.show_cursor();
    let region = picked?;
    let _ = term.clear_last_lines(1);
    let _ = term.write_line(&format!(
        "{REGION_QUESTION} {}  (next time: --region {})",
        region.label(),
        region.as_str()
    ));
    Ok(region)
}

/// Waits until the person presses Enter (Ctrl-C cancels, as does the end
/// of input).
pub fn wait_for_enter(message: &str) -> Result<()> {
    say!("{message}");
    prompt(|| {
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            Ok(n) if n > 0 => Ok(()),
            _ => Err(Error::cancelled()),
        }
    })
}

/// Light modules around a QR code. The standard asks for 4; 2 scan well
/// off a screen and save two lines, which decides whether the code fits a
/// 24-line terminal.
const QR_MARGIN: usize = 2;

/// The link as a QR code for a phone, in half blocks (two rows of modules
/// a line: ▀ ▄ █ and space), light modules drawn in the text colour for a
/// dark terminal; None when the link does not fit a QR code.
pub fn qr_code(link: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::L).ok()?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = modules + 2 * QR_MARGIN;
    // The margin is light; past the bottom edge is the terminal itself.
    let light = |x: usize, y: usize| -> bool {
        if y >= side {
            return false;
        }
        let inside = |v: usize| (QR_MARGIN..QR_MARGIN + modules).contains(&v);
        if !inside(x) || !inside(y) {
            return true;
        }
        colors[(y - QR_MARGIN) * modules + (x - QR_MARGIN)] == qrcode::Color::Light
    };
    let mut out = String::new();
    for y in (0..side).step_by(2) {
        for x in 0..side {
            out.push(match (light(x, y), light(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Some(out)
}

/// The terminal's lines and columns, when stderr is one.
pub fn terminal_size() -> Option<(usize, usize)> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    console::Term::stderr()
        .size_checked()
        .map(|(rows, cols)| (usize::from(rows), usize::from(cols)))
}

/// Why there is probably no local browser, if there is a reason to think so.
pub fn remote_session() -> Option<&'static str> {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    for var in ["SSH_CLIENT", "SSH_TTY", "SSH_CONNECTION"] {
        if set(var) {
            return Some("this is an SSH session");
        }
    }
    if set("REMOTE_CONTAINERS") || set("CODESPACES") {
        return Some("this is a remote container");
    }
    if cfg!(target_os = "linux") && !set("DISPLAY") && !set("WAYLAND_DISPLAY") && !is_wsl() {
        return Some("there is no graphical display");
    }
    None
}

fn is_wsl() -> bool {
    std::env::var_os("WSL_DISTRO_NAME").is_some()
        || std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .is_ok_and(|r| r.to_ascii_lowercase().contains("microsoft"))
}

/// Opens the link without waiting for the browser (a launcher that blocks
/// must not stall the login).
pub fn open_browser(url: &str) -> std::result::Result<(), &'static str> {
    open::that_detached(url).map_err(|e| launch_failure(&e))
}

/// Why the browser could not be launched, in words (the launcher's own
/// error is a debug dump with an exit status).
fn launch_failure(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            "Could not open a browser: no program that opens one (such as xdg-open) was found"
        }
        std::io::ErrorKind::PermissionDenied => {
            "Could not open a browser: the program that opens one may not be run"
        }
        _ => {
            "Could not open a browser: the program that opens one (such as xdg-open) \
             reported a failure"
        }
    }
}

/// A spinner on stderr (hidden when stderr is not a terminal).
pub fn spinner(message: String) -> Spinner {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    Spinner(bar)
}

/// A spinner that clears itself however the wait ends (approval, error,
/// Ctrl-C); it is the progress bar otherwise.
pub struct Spinner(ProgressBar);

impl std::ops::Deref for Spinner {
    type Target = ProgressBar;
    fn deref(&self) -> &ProgressBar {
        &self.0
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// The terminal's width for what goes to stdout (80 when it is not one).
pub fn width() -> usize {
    console::Term::stdout()
        .size_checked()
        .map(|(_, cols)| usize::from(cols))
        .filter(|cols| *cols >= 20)
        .unwrap_or(80)
}

/// The first of `choices` (from most to fewest words) that fits one line
/// of `width` columns after a spinner's two; else the last, cut to fit. A
/// spinner line that wraps is drawn again on every tick.
pub fn one_line(choices: Vec<String>, width: usize) -> String {
    let room = width.saturating_sub(2).max(10);
    let last = choices.last().cloned().unwrap_or_default();
    choices
        .into_iter()
        .find(|line| line.chars().count() <= room)
        .unwrap_or_else(|| last.chars().take(room).collect())
}

/// The terminal's width for a spinner on stderr (unbounded when it is not
/// a terminal: a log keeps the whole line).
pub fn spinner_width() -> usize {
    terminal_size().map_or(usize::MAX, |(_, cols)| cols)
}

/// A token as `status` shows it by default: its first four characters.
pub fn mask(token: &str) -> String {
    let head: String = token.chars().take(4).collect();
    format!("{head}{}", "*".repeat(20))
}

/// How many pastes of an API key a person gets before the command gives up.
const API_KEY_TRIES: u32 = 3;
/// Longer input than this on stdin is not an API key.
const MAX_API_KEY_BYTES: u64 = 8 * 1024;

/// Reads an API key: a hidden prompt on a terminal (asking again after a bad
/// paste, saying why), else stdin (never argv).
pub fn read_api_key(interactive: bool) -> Result<ApiKey> {
    if interactive {
        let mut tries = 0;
        loop {
            let typed = prompt(|| {
                dialoguer::Password::new()
                    .with_prompt("MiniMax API key (input hidden)")
                    .allow_empty_password(true)
                    .interact_on(&console::Term::stderr())
                    .map_err(|e| match e {
                        dialoguer::Error::IO(io)
                            if io.kind() == std::io::ErrorKind::Interrupted =>
                        {
                            Error::cancelled()
                        }
                        other => Error::usage(format!("cannot read the API key: {other}")),
                    })
            })?;
            match ApiKey::parse(&typed) {
                Ok(key) => return Ok(key),
                Err(e) if tries + 1 < API_KEY_TRIES => {
                    tries += 1;
                    say!("{}. Try again (Ctrl-C to stop).", e.message);
                }
                Err(e) => return Err(e),
            }
        }
    }
    let mut input = Vec::new();
    std::io::stdin()
        .take(MAX_API_KEY_BYTES + 1)
        .read_to_end(&mut input)
        .map_err(|e| Error::usage(format!("cannot read the API key from stdin: {e}")))?;
    if input.len() as u64 > MAX_API_KEY_BYTES {
        return Err(Error::usage("stdin holds more than an API key"));
    }
    let text =
        String::from_utf8(input).map_err(|_| Error::usage("the API key on stdin is not text"))?;
    ApiKey::parse(text.lines().next().unwrap_or(""))
}

/// Says `text` on stderr, fitted to the terminal's width when stderr is one
/// (a log keeps its lines whole).
pub fn tell(text: &str) {
    let term = console::Term::stderr();
    let text = match term.size_checked() {
        Some((_, cols)) if std::io::stderr().is_terminal() => fit(text, usize::from(cols).max(20)),
        _ => text.to_string(),
    };
    crate::say!("{}", text.trim_end_matches('\n'));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_failures_are_told_in_words() {
        let raw = std::io::Error::other(
            "Launcher Command { program: \"xdg-open\" } failed with ExitStatus(unix_wait_status(512))",
        );
        let said = launch_failure(&raw);
        assert!(!said.contains("ExitStatus"), "{said}");
        assert!(said.contains("xdg-open"), "{said}");
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert!(launch_failure(&missing).contains("no program"));
    }

    #[test]
    fn lines_fit_the_terminal() {
        let text = "  - Store: file /a/very/long/path/that/goes/on/and/on/default.json\nshort\n";
        let out = fit(text, 30);
        assert!(out.lines().all(|l| l.chars().count() <= 30), "{out}");
        assert!(out.ends_with("short\n"));
        assert_eq!(fit("ok\n", 30), "ok\n");
        assert_eq!(mask("eyJhbGciOi"), format!("eyJh{}", "*".repeat(20)));
    }
}
