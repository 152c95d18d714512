//! SSL_CERT_FILE is honoured (DESIGN: "SSL_CERT_FILE works"): a TLS portal
//! whose certificate comes from a private CA is refused until the CA is
//! named in SSL_CERT_FILE. The portal is `openssl s_server`.

use crate::support::cli::Plugin;
use crate::support::dead_url;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl (installed by scripts/test.sh)");
    assert!(status.success(), "openssl {args:?} failed");
}

/// A CA and a leaf certificate for 127.0.0.1 signed by it.
fn make_certs(dir: &std::path::Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=test-ca",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write ext.cnf");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

struct TlsServer(Child);

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(dir: &std::path::Path) -> (TlsServer, u16) {
    let port = url::Url::parse(&dead_url())
        .expect("dead_url is a URL")
        .port()
        .expect("dead_url has a port");
    let child = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-www",
            "-accept",
            &port.to_string(),
            "-cert",
            "leaf.pem",
            "-key",
            "leaf.key",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server");
    let server = TlsServer(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "s_server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, port)
}

#[test]
fn a_private_ca_is_trusted_only_through_ssl_cert_file() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let (_server, port) = start_server(dir.path());
    let mut plugin = Plugin::new(&format!("https://127.0.0.1:{port}"));
    plugin.set("MINIMAX_PORTAL_AUTH_HTTP_TIMEOUT_MS", "1500");

    // Not a passing problem: exit 1 with the fix, not 4.
    let refused = plugin.login(&[]);
    // Not a passing problem: exit 1 with the fix, not 4.
    refused.expect_code(1);
    refused
        .stderr_has("UnknownIssuer")
        .stderr_has("SSL_CERT_FILE");

    plugin.set("SSL_CERT_FILE", dir.path().join("ca.pem").to_str().unwrap());
    let trusted = plugin.login(&[]);
    // The handshake now passes; s_server then does not answer a POST.
    trusted.stderr_lacks("certificate");
    trusted.stderr_has("no complete answer");
}
