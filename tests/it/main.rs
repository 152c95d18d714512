//! The integration tests, as one binary: one module per area, the shared
//! helpers in `support`. One binary links once instead of once per file.
//!
//! They run on Linux: they drive the binary with Unix tools (ptys, signals,
//! modes, the Secret Service). On Windows this binary is empty; the
//! Windows build is run under Wine by `windows.rs`, from Linux.
#![cfg(unix)]

mod support;

mod browser_flow;
mod browser_interop;
mod completion;
mod host_cycle;
mod host_side;
mod hostile;
mod hostile_host;
mod kcache;
mod keyring;
mod kill9;
mod latency;
mod layers;
mod login;
mod manifest;
mod newcomer;
mod openclaw;
mod openclaw_plugin;
mod portal_selftest;
mod proxy;
mod readme;
mod refresh;
mod screens;
mod shell_env;
mod tls;
mod ux;
mod watch;
mod windows;
