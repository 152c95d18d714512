//! MiniMax's two regions, their endpoints, and the environment overrides.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use url::Url;

pub const CLIENT_ID: &str = "78257093-7e40-4613-99e0-527b14b39113";
pub const SCOPE: &str = "group_id profile model.completion";

pub const OAUTH_BASE_ENV: &str = "MINIMAX_PORTAL_OAUTH_BASE_URL";
pub const API_BASE_ENV: &str = "MINIMAX_PORTAL_API_BASE_URL";
pub const CLIENT_ID_ENV: &str = "MINIMAX_PORTAL_CLIENT_ID";
/// Longer client ids are not anyone's.
const MAX_CLIENT_ID_LEN: usize = 256;

/// The OAuth client id a login uses: MiniMax's, unless
/// `MINIMAX_PORTAL_CLIENT_ID` names another (a standard OAuth server under
/// test). The profile records it, and refresh sends what the profile says.
pub fn client_id() -> Result<String> {
    match std::env::var(CLIENT_ID_ENV) {
        Ok(value) if !value.trim().is_empty() => parse_client_id(value.trim())
            .map_err(|why| Error::usage(format!("{CLIENT_ID_ENV} is not usable: {why}"))),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::usage(format!(
            "{CLIENT_ID_ENV} is not usable: it is not UTF-8"
        ))),
        _ => Ok(CLIENT_ID.to_string()),
    }
}

/// RFC 6749 appendix A.1: a client id is printable ASCII.
fn parse_client_id(text: &str) -> std::result::Result<String, String> {
    if text.len() > MAX_CLIENT_ID_LEN {
        return Err(format!("longer than {MAX_CLIENT_ID_LEN} characters"));
    }
    if !text.chars().all(|c| matches!(c, ' '..='~')) {
        return Err("use printable ASCII only".to_string());
    }
    Ok(text.to_string())
}

/// Which MiniMax a profile belongs to; tokens refresh only against the
/// region that issued them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// api.minimax.io, for international users
    Global,
    /// api.minimaxi.com, for users in China
    Cn,
}

impl Region {
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Global => "global",
            Region::Cn => "cn",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Region::Global => "Global",
            Region::Cn => "CN",
        }
    }

    fn default_oauth_base(self) -> &'static str {
        match self {
            Region::Global => "https://account.minimax.io",
            Region::Cn => "https://account.minimaxi.com",
        }
    }

    fn default_api_base(self) -> &'static str {
        match self {
            Region::Global => "https://api.minimax.io",
            Region::Cn => "https://api.minimaxi.com",
        }
    }

    /// The OAuth base (device code, token, refresh), honouring the override.
    pub fn oauth_base(self) -> Result<Url> {
        base_from_env(OAUTH_BASE_ENV, self.default_oauth_base())
    }

    /// The API base (usage), honouring the override.
    pub fn api_base(self) -> Result<Url> {
        base_from_env(API_BASE_ENV, self.default_api_base())
    }

    /// Where the host sends model requests unless the portal names another.
    pub fn default_model_base_url(self) -> Result<String> {
        Ok(join(&self.api_base()?, "anthropic")?.to_string())
    }

    pub fn device_code_url(self) -> Result<Url> {
        join(&self.oauth_base()?, "oauth2/device/code")
    }

    pub fn token_url(self) -> Result<Url> {
        join(&self.oauth_base()?, "oauth2/token")
    }
}

fn base_from_env(var: &str, default: &str) -> Result<Url> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => parse_base_url(value.trim())
            .map_err(|why| Error::usage(format!("{var} is not usable: {why}"))),
        _ => parse_base_url(default).map_err(Error::failed),
    }
}

/// Parses a base URL: https anywhere, http only for loopback hosts, no
/// credentials, query or fragment.
pub fn parse_base_url(text: &str) -> std::result::Result<Url, String> {
    let url = Url::parse(text).map_err(|e| not_a_url(text, e))?;
    check_base_url(text, &url)?;
    Ok(url)
}

/// Why `text` is not a URL.
pub fn not_a_url(text: &str, e: url::ParseError) -> String {
    format!("{text:?} is not a URL ({e})")
}

/// [`parse_base_url`]'s rules for a URL parsed already from `text`
/// (which the messages name).
pub fn check_base_url(text: &str, url: &Url) -> std::result::Result<(), String> {
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(url) => {}
        "http" => {
            return Err(format!(
                "{text:?} uses http:// for a host that is not loopback; use https://"
            ));
        }
        other => return Err(format!("{text:?} has scheme {other:?}; use https://")),
    }
    if url.host().is_none() {
        return Err(format!("{text:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{text:?} must not carry credentials"));
    }
    check_plain_url(url).map_err(|why| format!("{text:?} {why}"))
}

/// A base URL is a plain location: no query or fragment (where a hostile
/// portal would hide shell syntax), and no quote or backslash, so that it
/// reads the same wherever it is printed. The URL's text is ASCII.
pub fn check_plain_url(url: &Url) -> std::result::Result<(), String> {
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".to_string());
    }
    let odd = |b: u8| !(b.is_ascii_graphic()) || b"'\"`\\<>{}|^".contains(&b);
    if url.as_str().bytes().any(odd) {
        return Err("must not contain quotes, backslashes or spaces".to_string());
    }
    Ok(())
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Appends a path to a base, keeping any path prefix the base has
/// (a proxy may mount the portal under a folder).
pub fn join(base: &Url, path: &str) -> Result<Url> {
    let mut text = base.as_str().trim_end_matches('/').to_string();
    text.push('/');
    text.push_str(path);
    Url::parse(&text).map_err(|e| Error::failed(format!("cannot build endpoint URL: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_only_for_loopback() {
        assert!(parse_base_url("http://127.0.0.1:9").is_ok());
        assert!(parse_base_url("http://localhost:9/prefix").is_ok());
        assert!(parse_base_url("http://[::1]:9").is_ok());
        assert!(parse_base_url("http://example.com").is_err());
        assert!(parse_base_url("https://example.com").is_ok());
        assert!(parse_base_url("ftp://example.com").is_err());
        assert!(parse_base_url("https://u:p@example.com").is_err());
        for hostile in [
            "https://evil.example/anthropic#\\';id;#",
            "https://evil.example/a?x=1",
            "https://evil.example/a'b",
        ] {
            assert!(parse_base_url(hostile).is_err(), "{hostile}");
        }
        // The URL parser percent-encodes these; what is left is plain.
        let encoded = parse_base_url("https://x.example/a\"b`c").unwrap();
        assert_eq!(encoded.as_str(), "https://x.example/a%22b%60c");
    }

    #[test]
    fn client_ids_are_printable_ascii() {
        assert_eq!(parse_client_id("my-app.example").unwrap(), "my-app.example");
        assert!(parse_client_id("tab\there").is_err());
        assert!(parse_client_id("é").is_err());
        assert!(parse_client_id(&"x".repeat(257)).is_err());
    }

    #[test]
    fn join_keeps_prefix() {
        let base = Url::parse("http://127.0.0.1:1/proxy/").unwrap();
        assert_eq!(
            join(&base, "oauth2/token").unwrap().as_str(),
            "http://127.0.0.1:1/proxy/oauth2/token"
        );
    }
}
