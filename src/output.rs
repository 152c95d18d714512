//! Writing to the terminal and to programs. Nothing here panics when a
//! stream is closed: stderr is best effort, and a failed write of what the
//! caller asked for on stdout is an error (exit 1), never a silent success.

use crate::error::{Error, Result};
use std::io::Write;

/// `eprintln!` that never panics (a closed or broken stderr is ignored).
macro_rules! say {
    ($($arg:tt)*) => {{
        #[cfg(not(test))]
        {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), $($arg)*);
        }
        // In unit tests libtest captures eprintln!, so a passing test is quiet.
        #[cfg(test)]
        eprintln!($($arg)*);
    }};
}
// `crate::say!` for the modules that name it by path; not exported.
pub(crate) use say;

/// Prints one JSON value on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::failed(format!("cannot encode the JSON output: {e}")))?;
    text.push('\n');
    print_stdout(&text)
}

/// Writes text on stdout and flushes it, or says why it could not.
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::failed(format!("cannot write to standard output: {e}")))
}
