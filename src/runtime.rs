//! The small async runtime each command runs its network calls on.

use crate::error::{Error, Result};

/// Runs a future on a single-threaded runtime. The runtime is shut down
/// without waiting for blocking work left behind (a prompt still reading the
/// terminal after Ctrl-C, a stalled DNS lookup), so cancelling never hangs.
pub fn run_async<T>(future: impl std::future::Future<Output = T>) -> Result<T> {
    let runtime = build()?;
    let out = runtime.block_on(future);
    runtime.shutdown_background();
    Ok(out)
}

fn build() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(format!("cannot start the async runtime: {e}")))
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

/// A runtime kept across calls (the browser sign-in's loopback server runs
/// on it), shut down like `run_async`'s, without waiting for blocking work
/// left behind, when dropped.
pub struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    pub fn new() -> Result<Runtime> {
        build().map(|runtime| Runtime(Some(runtime)))
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> Result<F::Output> {
        match &self.0 {
            Some(runtime) => Ok(runtime.block_on(future)),
            None => Err(Error::failed("the async runtime has stopped")),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
