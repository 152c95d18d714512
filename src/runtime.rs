//! The small async runtime each command runs its network calls on.

use crate::error::{Error, Result};

/// Runs a future on a single-threaded runtime. The runtime is shut down
/// without waiting for blocking work left behind (a prompt still reading the
/// terminal after Ctrl-C, a stalled DNS lookup), so cancelling never hangs.
pub fn run_async<T>(future: impl std::future::Future<Output = T>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(format!("cannot start the async runtime: {e}")))?;
    let out = runtime.block_on(future);
    runtime.shutdown_background();
    Ok(out)
}

/// Runs `future` on its own runtime until it ends, or until Ctrl-C (or
/// SIGINT) arrives, which cancels it (exit 130). What the portal's blocking
/// entry points run their conversations on.
pub fn cancellable<T>(future: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    run_async(async {
        tokio::select! {
            result = future => result,
            _ = tokio::signal::ctrl_c() => Err(Error::cancelled()),
        }
    })?
}
