//! Saying the library's warnings on stderr. The stores and the session
//! only collect them (`store::Warning`); each command says the new ones
//! at the moments that fit its output, and `run` says any left at its end.

use crate::store::{Stores, Warning};
use std::sync::atomic::{AtomicBool, Ordering};

/// No keyring notice on stderr in this process (`token`, `env`,
/// `openclaw credentials`: their caller is a program).
static QUIET: AtomicBool = AtomicBool::new(false);
/// This process gave the keyring notice.
static ANNOUNCED: AtomicBool = AtomicBool::new(false);

/// Never give the keyring notice in this process.
pub fn quiet() {
    QUIET.store(true, Ordering::Relaxed);
}

/// Whether this process gave the keyring notice (so `status` need not
/// note it again).
pub fn fallback_announced() -> bool {
    ANNOUNCED.load(Ordering::Relaxed)
}

/// Says the warnings `stores` gave since the last call, one line each.
/// A keyring that did not answer is said once per state folder, as the
/// notice below; after that `status` and `doctor` show it.
pub fn tell(stores: &Stores) {
    for warning in stores.new_warnings() {
        match warning {
            Warning::KeyringDown { .. } => announce_fallback(stores),
            // Repeated within the must-sign-in line or the error.
            Warning::RefreshRejected { .. } => {}
            other => say!("warning: {other}"),
        }
    }
}

/// The first time ever (per state folder) `auto` falls back to the file,
/// two lines say so, and config.toml remembers that they were said.
fn announce_fallback(stores: &Stores) {
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    let home = stores.home();
    let mut settings = super::config::load(home);
    if settings.file_store_announced {
        return;
    }
    crate::ui::tell(&format!(
        "warning: no OS keyring answered; profiles are kept in 0600 files in {}.\n  \
         `minimax-portal-auth doctor` says why. This is said once; to choose the files \
         for good, put store = \"file\" in {}.",
        home.display(),
        home.join("config.toml").display()
    ));
    ANNOUNCED.store(true, Ordering::Relaxed);
    settings.file_store_announced = true;
    let _ = settings.save(home);
}
