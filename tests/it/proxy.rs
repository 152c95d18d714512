//! HTTPS_PROXY and NO_PROXY are honoured (DESIGN: "standard HTTPS_PROXY /
//! NO_PROXY work"). The local portal plays the proxy and refuses to tunnel.

use crate::support::cli::Plugin;
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

/// A plain-http loopback portal is reached directly: reqwest would send
/// it through HTTP_PROXY, http_proxy or ALL_PROXY, refresh token in clear
/// text. The proxy here is a real listener that records every request.
#[test]
fn a_loopback_portal_is_never_reached_through_a_proxy() {
    let proxy = Portal::start(|_| Reply::text(502, "text/plain", "no"));
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        let (portal, _mm) = crate::support::minimax::MiniMax::new()
            .refresh_token("ref-seed-0123456789")
            .start();
        let mut plugin = Plugin::new(&portal.url());
        plugin
            .set(var, &proxy.url())
            .set("NO_PROXY", "")
            .set("no_proxy", "");
        crate::support::profile::seed_default(
            &plugin,
            &portal.url(),
            "ref-seed-0123456789",
            -1_000,
        );
        plugin.run(&["refresh"]).expect_code(0);
        plugin.login(&[]).expect_code(0);
        assert_eq!(
            proxy.requests().len(),
            0,
            "{var}: the proxy was contacted for a loopback portal"
        );
    }
}
