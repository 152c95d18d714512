//! HTTPS_PROXY and NO_PROXY are honoured (DESIGN: "standard HTTPS_PROXY /
//! NO_PROXY work"). The local portal plays the proxy and refuses to tunnel.

use crate::support::cli::Plugin;
use crate::support::dead_url;
use crate::support::http_server::{Portal, Reply};

fn plugin_behind(proxy: &Portal) -> Plugin {
    let mut plugin = Plugin::new("https://account.minimax.io");
    // The real endpoints: no OAuth override, so the request would go out.
    plugin
        .set("MINIMAX_PORTAL_OAUTH_BASE_URL", "")
        .set("HTTPS_PROXY", &proxy.url())
        .set("NO_PROXY", "")
        .set("MINIMAX_PORTAL_AUTH_HTTP_TIMEOUT_MS", "3000");
    plugin
}

#[test]
fn requests_go_through_https_proxy() {
    let proxy = Portal::start(|_| Reply::text(502, "text/plain", "no tunnels here"));
    let run = plugin_behind(&proxy).login(&[]);
    run.expect_code(4);
    let seen = proxy.requests();
    assert!(
        seen.iter().any(|r| r.method == "CONNECT"
            && format!("{}{}", r.path, r.query).contains("account.minimax.io:443")),
        "the proxy saw no CONNECT to the account host: {:?}",
        seen.iter()
            .map(|r| (&r.method, &r.path))
            .collect::<Vec<_>>()
    );
}

#[test]
fn no_proxy_bypasses_it() {
    // A loopback portal that is down, reached through HTTP_PROXY unless
    // NO_PROXY names it: the outcome never depends on the outside world.
    let proxy = Portal::start(|_| Reply::text(502, "text/plain", "no"));
    let down = dead_url();
    let mut plugin = Plugin::new(&down);
    plugin.set("HTTP_PROXY", &proxy.url()).set("NO_PROXY", "");
    plugin.login(&[]).expect_code(4);
    let proxied = proxy.requests().len();
    assert!(proxied > 0, "HTTP_PROXY was not used for a loopback portal");

    plugin.set("NO_PROXY", "127.0.0.1");
    let run = plugin.login(&[]);
    run.expect_code(4);
    run.stderr_has("Connection refused");
    assert_eq!(proxy.requests().len(), proxied, "NO_PROXY was ignored");
}
