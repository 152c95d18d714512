//! The stored profile: the contract with the host. One JSON object,
//! schema-versioned, that a host can read straight from the store.

use crate::error::{Error, Result};
use crate::region::Region;
use oauth2::{AccessToken, RefreshToken};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use url::Url;

pub const PROVIDER: &str = "minimax-portal";
pub const SCHEMA: u32 = 1;
/// How long an access token is taken to live when the portal's expiry is
/// unusable: short, so the next refresh comes soon and may say better.
pub const FALLBACK_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// A successful token answer, as `portal/answer.rs` reads it (leniently):
/// at least one token is there; the rest is None when absent or unusable,
/// with a warning saying what was odd. Every token in it is registered for
/// scrubbing. It lives here, beside the merge that consumes it, so that the
/// profile needs nothing from the portal.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// None when the portal's is unusable (a number, empty, spaces): it is
    /// never handed out, and the profile is due at once.
    pub access: Option<AccessToken>,
    /// None when absent or unusable: keep the old one (a warning says so
    /// when the portal sent something unusable).
    pub refresh: Option<RefreshToken>,
    /// When the access token expires, epoch ms; None when the portal's
    /// expiry is unusable (the caller falls back to a short lifetime).
    pub expires_ms: Option<i64>,
    /// The model base URL the portal named, when usable.
    pub resource_url: Option<Url>,
    pub notification: Option<String>,
    /// What was odd about the answer, for the user.
    pub warnings: Vec<String>,
}

/// A login's tokens. Unlike a refresh's, they must carry a refresh token:
/// without one the session could not be kept fresh. Made where a login's
/// answer is read (`portal::answer::login_tokens`).
#[derive(Debug)]
pub struct LoginTokens {
    refresh: RefreshToken,
    /// The rest of the answer (its `refresh` taken out into the field above).
    rest: Tokens,
}

impl LoginTokens {
    /// None when the answer carries no usable refresh token.
    pub fn new(mut tokens: Tokens) -> Option<LoginTokens> {
        let refresh = tokens.refresh.take()?;
        Some(LoginTokens {
            refresh,
            rest: tokens,
        })
    }

    /// What MiniMax asked to be shown at sign-in.
    pub fn notification(&self) -> Option<&str> {
        self.rest.notification.as_deref()
    }
}

/// A validated profile name: letters, digits, `-` and `_`, 1 to 64 long,
/// not starting with `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProfileName(String);

impl ProfileName {
    pub fn parse(text: &str) -> Result<ProfileName> {
        // A leading '-' would read as a flag wherever the name is passed on
        // (OpenClaw's exec args, every printed fix).
        if text.starts_with('-') {
            return Err(Error::usage(format!(
                "invalid profile name {text:?}: it must not start with '-'"
            )));
        }
        let ok = !text.is_empty()
            && text.len() <= 64
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(ProfileName(text.to_string()))
        } else {
            Err(Error::usage(format!(
                "invalid profile name {text:?}: use 1 to 64 letters, digits, '-' or '_'"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host's id for this name under `provider` (`PROVIDER:NAME`), also
    /// the keyring account name: the one place such an id is written.
    pub fn id_for(&self, provider: &str) -> String {
        format!("{provider}:{}", self.0)
    }

    /// The id of the OAuth profile of this name, `minimax-portal:NAME`.
    pub fn profile_id(&self) -> String {
        self.id_for(PROVIDER)
    }

    /// The id of the API-key profile of this name, `minimax:NAME`.
    pub fn api_key_id(&self) -> String {
        self.id_for(crate::api_key::PROVIDER)
    }
}

impl Default for ProfileName {
    fn default() -> Self {
        ProfileName("default".to_string())
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is stored for one signed-in profile. Field names are the host's
/// (`access`, `refresh`, `expires` in epoch ms); the rest lets any process
/// refresh it against the region that issued it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Profile {
    pub schema: u32,
    #[serde(rename = "type")]
    pub kind: String,
    pub provider: String,
    pub profile_id: String,
    pub region: Region,
    pub access: AccessToken,
    pub refresh: RefreshToken,
    /// When the access token expires, epoch milliseconds.
    pub expires: i64,
    /// The token endpoint of the region that issued the tokens; refresh goes here.
    pub token_endpoint: ProfileUrl,
    pub client_id: String,
    /// Where the host sends model requests (`resource_url` or the region default).
    pub base_url: ProfileUrl,
    /// When this profile was last written, epoch milliseconds.
    pub updated_at: i64,
    /// Set when the portal rejected the refresh token: only a new login helps.
    #[serde(default, skip_serializing_if = "is_false")]
    pub needs_login: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A URL the profile keeps (`token_endpoint`, `base_url`): parsed once,
/// when the profile is read, and written back and printed as the very text
/// it was stored as (a `Url` alone would normalise it: a bare host gains a
/// `/`, a host is lowercased). Text that is no URL still loads, as it
/// always has: only what uses the URL fails, with the same message as
/// before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileUrl {
    text: String,
    parsed: std::result::Result<Url, url::ParseError>,
}

impl ProfileUrl {
    pub fn parse(text: impl Into<String>) -> ProfileUrl {
        let text = text.into();
        let parsed = Url::parse(&text);
        ProfileUrl { text, parsed }
    }

    /// The text as stored.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The URL, when it may be used as a base URL or endpoint: the rules
    /// of `region::parse_base_url`, without parsing again.
    pub fn usable(&self) -> std::result::Result<&Url, String> {
        let url = self
            .parsed
            .as_ref()
            .map_err(|e| crate::region::not_a_url(&self.text, *e))?;
        crate::region::check_base_url(&self.text, url)?;
        Ok(url)
    }
}

/// A URL the tool built: kept as its text.
impl From<Url> for ProfileUrl {
    fn from(url: Url) -> ProfileUrl {
        ProfileUrl {
            text: url.as_str().to_string(),
            parsed: Ok(url),
        }
    }
}

impl From<&str> for ProfileUrl {
    fn from(text: &str) -> ProfileUrl {
        ProfileUrl::parse(text)
    }
}

impl From<String> for ProfileUrl {
    fn from(text: String) -> ProfileUrl {
        ProfileUrl::parse(text)
    }
}

impl fmt::Display for ProfileUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq<&str> for ProfileUrl {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl Serialize for ProfileUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ProfileUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(deserializer).map(ProfileUrl::parse)
    }
}

impl Profile {
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self)
            .map_err(|e| Error::failed(format!("cannot encode the profile: {e}")))
    }

    /// Parses stored bytes, refusing what a host could not use.
    pub fn from_json(bytes: &[u8]) -> std::result::Result<Profile, String> {
        let mut reader = serde_json::Deserializer::from_slice(bytes);
        let profile: Profile =
            serde_path_to_error::deserialize(&mut reader).map_err(|e| not_a_profile(&e))?;
        if profile.schema == 0 || profile.schema > SCHEMA {
            return Err(format!(
                "schema {} is not supported by this version (up to {SCHEMA})",
                profile.schema
            ));
        }
        // The values are not quoted: a damaged profile may hold a token
        // in any field.
        if profile.kind != "oauth" || profile.provider != PROVIDER {
            return Err(format!(
                "its type or provider is not \"oauth\" / {PROVIDER:?}: not an OAuth MiniMax \
                 portal profile"
            ));
        }
        if profile.access.secret().is_empty() || profile.refresh.secret().is_empty() {
            return Err("a token is empty".to_string());
        }
        crate::redact::register(profile.access.secret());
        crate::redact::register(profile.refresh.secret());
        Ok(profile)
    }

    pub fn expires_in_ms(&self, now_ms: i64) -> i64 {
        self.expires.saturating_sub(now_ms)
    }

    /// How long the access token was issued for, when that is known.
    pub fn lifetime_ms(&self) -> Option<i64> {
        Some(self.expires.saturating_sub(self.updated_at)).filter(|ms| *ms > 0)
    }

    /// A new profile from a login's tokens. The login needs a refresh token:
    /// without one the session could not be kept fresh.
    pub(crate) fn signed_in(
        name: &ProfileName,
        region: Region,
        login: LoginTokens,
        now_ms: i64,
    ) -> Result<(Profile, Vec<String>)> {
        let LoginTokens {
            refresh,
            rest: tokens,
        } = login;
        let access = tokens.access.clone().ok_or_else(|| {
            Error::transient("the portal's answer has no usable access token; log in again")
        })?;
        let blank = Profile {
            schema: SCHEMA,
            kind: "oauth".to_string(),
            provider: PROVIDER.to_string(),
            profile_id: name.profile_id(),
            region,
            access,
            refresh,
            expires: now_ms,
            token_endpoint: region.token_url()?.into(),
            client_id: crate::region::client_id()?,
            base_url: region.default_model_base_url()?.into(),
            updated_at: now_ms,
            needs_login: false,
        };
        Ok(blank.with_tokens(tokens, now_ms))
    }

    /// The one merge from a token answer to a profile (login and refresh).
    /// The tokens are always kept; odd side fields fall back, with a
    /// warning: an unusable expiry to a short lifetime, an unusable
    /// `resource_url` to the current base URL, no refresh token to the
    /// current one. An unusable access token is never stored: the current
    /// one is kept, marked expired, so that the next call refreshes.
    pub(crate) fn with_tokens(&self, tokens: Tokens, now_ms: i64) -> (Profile, Vec<String>) {
        let mut warnings = tokens.warnings;
        let mut next = self.clone();
        let access_usable = tokens.access.is_some();
        if let Some(access) = tokens.access {
            next.access = access;
        }
        if let Some(rotated) = tokens.refresh {
            next.refresh = rotated;
        }
        next.expires = match tokens.expires_ms {
            _ if !access_usable => now_ms.min(self.expires),
            Some(ms) => ms,
            None => {
                warnings.push(format!(
                    "the access token is taken to expire in {} min",
                    FALLBACK_LIFETIME_MS / 60_000
                ));
                now_ms.saturating_add(FALLBACK_LIFETIME_MS)
            }
        };
        if let Some(url) = tokens.resource_url {
            next.base_url = ProfileUrl::parse(url.as_str().trim_end_matches('/'));
        }
        next.updated_at = now_ms;
        next.needs_login = false;
        (next, warnings)
    }

    /// The profile once the portal rejected its refresh token: kept, so its
    /// access token still serves until it expires, but marked.
    pub fn marked_needs_login(&self, now_ms: i64) -> Profile {
        let mut marked = self.clone();
        marked.needs_login = true;
        marked.updated_at = now_ms;
        marked
    }
}

/// The stored profile's fields, as serialised.
const FIELDS: [&str; 13] = [
    "schema",
    "type",
    "provider",
    "profile_id",
    "region",
    "access",
    "refresh",
    "expires",
    "token_endpoint",
    "client_id",
    "base_url",
    "updated_at",
    "needs_login",
];

/// Why bytes are not a profile, naming the field and the place but never a
/// value: serde quotes the value it refused, and a damaged profile may
/// hold a token in any field.
fn not_a_profile(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let inner = e.inner();
    let what = match inner.classify() {
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Eof => "cut short",
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Data if e.path().to_string() == "." => {
            "a field is missing or the document is not an object"
        }
        serde_json::error::Category::Data => "a field of the wrong type or value",
    };
    // Only a field of the profile is named: an unknown key is outside
    // text too, and may be a token.
    let path = e.path().to_string();
    let first = path.split(['.', '[']).next().unwrap_or_default();
    let field = if FIELDS.contains(&first) {
        format!(" at {first}")
    } else {
        String::new()
    };
    format!(
        "not a profile ({what}{field}, line {} column {})",
        inner.line(),
        inner.column()
    )
}

#[cfg(test)]
pub fn sample(name: &str, access_len: usize, refresh_len: usize) -> Profile {
    let name = ProfileName::parse(name).unwrap();
    Profile {
        schema: SCHEMA,
        kind: "oauth".into(),
        provider: PROVIDER.into(),
        profile_id: name.profile_id(),
        region: Region::Global,
        access: AccessToken::new("a".repeat(access_len)),
        refresh: RefreshToken::new("r".repeat(refresh_len)),
        expires: 1_900_000_000_000,
        token_endpoint: "https://account.minimax.io/oauth2/token".into(),
        client_id: crate::region::CLIENT_ID.into(),
        base_url: "https://api.minimax.io/anthropic".into(),
        updated_at: 1_800_000_000_000,
        needs_login: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(ProfileName::parse("default").is_ok());
        assert!(ProfileName::parse("work_2-b").is_ok());
        assert!(ProfileName::parse("-rf").is_err());
        assert!(ProfileName::parse("--").is_err());
        for bad in ["", "a b", "../x", "a:b", "é", &"x".repeat(65)] {
            assert!(ProfileName::parse(bad).is_err(), "{bad:?} accepted");
        }
        let work = ProfileName::parse("work").unwrap();
        assert_eq!(work.profile_id(), "minimax-portal:work");
        assert_eq!(work.api_key_id(), "minimax:work");
        assert_eq!(work.id_for("other"), "other:work");
    }

    #[test]
    fn round_trip_and_debug_hides_tokens() {
        let p = sample("default", 10, 10);
        let back = Profile::from_json(&p.to_json().unwrap()).unwrap();
        assert_eq!(back.access.secret(), p.access.secret());
        let debug = format!("{p:?}");
        assert!(!debug.contains("aaaaaaaaaa"), "{debug}");
        assert!(!debug.contains("rrrrrrrrrr"), "{debug}");
        assert!(debug.contains("redacted"));
    }

    #[test]
    fn refuses_foreign_or_future_profiles() {
        let mut p = sample("default", 3, 3);
        p.schema = 99;
        assert!(Profile::from_json(&p.to_json().unwrap()).is_err());
        let mut p = sample("default", 3, 3);
        p.provider = "other".into();
        assert!(Profile::from_json(&p.to_json().unwrap()).is_err());
        assert!(Profile::from_json(b"{").is_err());
    }

    /// serde quotes the value it refuses; a token in a wrongly typed field
    /// (`"region":"<token>"`) must not reach the message.
    #[test]
    fn a_wrongly_typed_field_is_named_not_quoted() {
        let mut v = serde_json::to_value(sample("default", 10, 10)).unwrap();
        v["region"] = serde_json::json!("tok-in-region-0123456789");
        let e = Profile::from_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(!e.contains("tok-in-region"), "{e}");
        assert!(e.contains("region"), "{e}");
        v["region"] = serde_json::json!("global");
        v["tok-as-a-key-0123456789"] = serde_json::json!(1);
        let mut v = serde_json::to_value(sample("default", 10, 10)).unwrap();
        v["provider"] = serde_json::json!("tok-in-provider-0123456789");
        let e = Profile::from_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(!e.contains("tok-"), "{e}");
        // Broken inside an unknown key's value: the path is that key.
        let e = Profile::from_json(br#"{"tok-as-a-key-0123456789": x}"#).unwrap_err();
        assert!(!e.contains("tok-"), "{e}");
        v["expires"] = serde_json::json!("tok-in-expires-0123456789");
        let e = Profile::from_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(!e.contains("tok-"), "{e}");
    }

    /// The two URLs are written back and shown as stored, whatever `Url`
    /// would make of them (a bare host gains a `/`, a host is lowercased);
    /// text that is no URL (or no usable one) loads, and fails where it is
    /// used with the message `region::parse_base_url` gives.
    #[test]
    fn urls_keep_their_stored_text() {
        for text in [
            "https://API.Example.com",
            "https://x.example",
            "https://x.example/a/",
            "http://evil.example/a?x='1'",
            "not a url",
        ] {
            let mut v = serde_json::to_value(sample("default", 10, 10)).unwrap();
            v["base_url"] = serde_json::json!(text);
            v["token_endpoint"] = serde_json::json!(text);
            let p = Profile::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
            assert_eq!(serde_json::to_value(&p).unwrap(), v, "{text}");
            let written = String::from_utf8(p.to_json().unwrap()).unwrap();
            assert!(
                written.contains(&format!("\"base_url\":{}", serde_json::json!(text))),
                "{written}"
            );
            assert_eq!(p.base_url.to_string(), text);
            assert_eq!(p.token_endpoint.as_str(), text);
            match crate::region::parse_base_url(text) {
                Ok(url) => assert_eq!(p.base_url.usable(), Ok(&url)),
                Err(why) => assert_eq!(p.base_url.usable(), Err(why)),
            }
        }
        assert!(ProfileUrl::parse("not a url").usable().is_err());
        assert!(ProfileUrl::parse("http://evil.example/a").usable().is_err());
        let url = Url::parse("https://x.example/oauth2/token").unwrap();
        assert_eq!(ProfileUrl::from(url.clone()).usable(), Ok(&url));
    }
}
