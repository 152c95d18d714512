//! The integration tests, as one binary: one module per area, the shared
//! helpers in `support`. One binary links once instead of once per file.

mod support;

mod browser_flow;
mod browser_interop;
mod host_cycle;
mod host_side;
mod hostile;
mod keyring;
mod kill9;
mod latency;
mod login;
mod manifest;
mod openclaw;
mod portal_selftest;
mod proxy;
mod readme;
mod refresh;
mod screens;
mod shell_env;
mod tls;
mod ux;
mod watch;
