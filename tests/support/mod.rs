#![allow(dead_code)]

//! Test support shared by the integration tests: `mod support; use support::portal::*;`.

pub mod cli;
pub mod portal;

use std::net::TcpListener;

/// The URL of a port on 127.0.0.1 where nothing listens: a portal that cannot
/// be reached. The port was free a moment ago and is released again, so a
/// connection to it is refused (unless another process grabs the port in the
/// meantime, which the ephemeral range makes unlikely).
pub fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0 to find a free port");
    let port = listener
        .local_addr()
        .expect("local address of the probe listener")
        .port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}
