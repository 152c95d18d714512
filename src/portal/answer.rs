//! The one reading of a token-endpoint answer, shared by the login poll, the
//! browser flow's code exchange and refresh (docs/protocol.md, "Token
//! answers"). The rules that keep sessions alive:
//! - only a definite rejection of the grant is `Rejected`; error pages,
//!   empty bodies, rate limits and server trouble are `Transient`;
//! - once an access token and a refresh token can be read, they are kept,
//!   whatever else is odd about the answer (a warning says what);
//! - every token-like string in a body is registered for scrubbing before any
//!   message is built, and no message quotes a successful answer's body.

use super::http::{Answer, Failure, StatusClass};
use super::wire::{self, normalize_expiry, reason_in};
use crate::profile::{LoginTokens, Tokens};
use crate::redact::{self, clean};
use oauth2::{AccessToken, RefreshToken};
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// Tokens and codes longer than this are not MiniMax's.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What a token endpoint said, in the terms the callers act on. Only a
/// definite refusal of the grant is `Rejected`; anything that may pass is
/// `Transient` or `SlowDown`.
#[derive(Debug)]
pub enum TokenAnswer {
    Tokens(Tokens),
    /// The user has not approved yet (login poll).
    Pending,
    /// Ask less often; `retry_after` when the portal said how long.
    SlowDown {
        retry_after: Option<Duration>,
    },
    /// The grant is dead (refresh token used, revoked or expired; code
    /// refused): only a new login helps.
    Rejected(String),
    /// Try later; nothing is known to have changed at the portal.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// A setup problem or a refusal that is not about the grant.
    Failed(String),
}

/// A login's tokens (login poll, code exchange), which must include a
/// refresh token: the one place that is checked.
pub fn login_tokens(tokens: Tokens) -> crate::error::Result<LoginTokens> {
    LoginTokens::new(tokens).ok_or_else(|| {
        crate::error::Error::failed(
            "the portal approved the login but sent no usable refresh_token, so the session \
             could not be kept fresh",
        )
    })
}

/// Classifies the outcome of one request to a token endpoint.
pub fn classify(outcome: Result<Answer, Failure>, now_ms: i64) -> TokenAnswer {
    match outcome {
        Ok(answer) => classify_answer(&answer, now_ms),
        Err(failure) => classify_failure(failure, now_ms),
    }
}

fn classify_failure(failure: Failure, now_ms: i64) -> TokenAnswer {
    match failure {
        Failure::NotSent(why) => TokenAnswer::Transient {
            reason: format!("cannot reach the MiniMax portal: {why}"),
            retry_after: None,
        },
        Failure::NoAnswer {
            why,
            status,
            partial,
        } => {
            redact::register_token_like(&partial);
            // A success cut short may still carry the whole token pair: the
            // portal has already rotated, so keep what can be read.
            if status.is_some_and(|s| StatusClass::of(s, None) == StatusClass::Ok)
                && let Some(mut tokens) = salvage(&partial, now_ms)
            {
                tokens
                    .warnings
                    .push(format!("the portal's answer was cut short ({why})"));
                return TokenAnswer::Tokens(tokens);
            }
            TokenAnswer::Transient {
                reason: format!("no complete answer from the MiniMax portal: {why}"),
                retry_after: None,
            }
        }
        Failure::TooLarge => TokenAnswer::Failed(format!(
            "the portal's answer is larger than {} KiB: not a MiniMax token answer",
            super::http::MAX_BODY_BYTES / 1024
        )),
        Failure::Certificate(why) => TokenAnswer::Failed(format!(
            "the portal's certificate is not trusted ({why}); {}",
            super::http::CERTIFICATE_HINT
        )),
    }
}

fn classify_answer(answer: &Answer, now_ms: i64) -> TokenAnswer {
    redact::register_token_like(&answer.body);
    if let Some(said) = classify_status(answer) {
        return said;
    }
    let status = answer.status;
    let retry_after = answer.retry_after;
    let success = answer.class() == StatusClass::Ok;
    let Some(v) = json_object(&answer.body) else {
        return classify_not_json(answer, now_ms);
    };
    if let Some(code) = field(&v, "error") {
        return classify_oauth_error(code, &v, retry_after);
    }
    let state = field(&v, "status").map(str::to_ascii_lowercase);
    match state.as_deref() {
        Some("error") | Some("fail") | Some("failed") => classify_portal_error(&v, retry_after),
        Some("success") | Some("ok") if success => read_tokens(&v, now_ms),
        None if success && v.get("access_token").is_some() => read_tokens(&v, now_ms),
        _ if success => TokenAnswer::Pending,
        _ => match reason_in(&v) {
            // A gateway's `{"message":"rate limited, try later"}`.
            Some(reason) if sounds_transient(&reason) => TokenAnswer::Transient {
                reason: format!("HTTP {status}: {reason}"),
                retry_after,
            },
            Some(reason) => TokenAnswer::Failed(format!("HTTP {status}: {reason}")),
            // JSON with no reason at all, e.g. a gateway's {"message":""}.
            None => TokenAnswer::Transient {
                reason: format!("the MiniMax portal answered HTTP {status} without a reason"),
                retry_after,
            },
        },
    }
}

/// What the status code alone settles, whatever the body: a redirect, a
/// rate limit, server trouble. None when the body must be read.
fn classify_status(answer: &Answer) -> Option<TokenAnswer> {
    let status = answer.status;
    match answer.class() {
        StatusClass::Redirect => Some(TokenAnswer::Failed(format!(
            "the token endpoint answered with a redirect (HTTP {status}{}); OAuth requests \
             are never sent on after a redirect because the form would be lost",
            answer.redirect_target()
        ))),
        StatusClass::RateLimited { retry_after } => Some(TokenAnswer::SlowDown { retry_after }),
        StatusClass::Unavailable { retry_after } => Some(TokenAnswer::Transient {
            reason: format!(
                "the MiniMax portal is unavailable (HTTP {status}): {}",
                answer.reason()
            ),
            retry_after,
        }),
        StatusClass::Ok | StatusClass::ClientError(_) => None,
    }
}

/// A body that is not a JSON object: the tokens when a success still
/// carries them, else passing trouble (a proxy's error page, an empty 401,
/// a body cut short: nothing the portal said about the grant).
fn classify_not_json(answer: &Answer, now_ms: i64) -> TokenAnswer {
    let status = answer.status;
    let success = answer.class() == StatusClass::Ok;
    if success && let Some(tokens) = salvage(&answer.body, now_ms) {
        return TokenAnswer::Tokens(tokens);
    }
    TokenAnswer::Transient {
        reason: if success {
            "the portal's answer is not complete JSON".to_string()
        } else {
            format!(
                "the MiniMax portal answered HTTP {status} with {}",
                answer.reason()
            )
        },
        retry_after: answer.retry_after,
    }
}

/// RFC 6749 / RFC 8628 `error` codes.
fn classify_oauth_error(code: &str, v: &Value, retry_after: Option<Duration>) -> TokenAnswer {
    let reason = reason_in(v).unwrap_or_else(|| clean(code, 100));
    match code {
        "authorization_pending" => TokenAnswer::Pending,
        "slow_down" => TokenAnswer::SlowDown { retry_after },
        "invalid_grant" | "expired_token" => TokenAnswer::Rejected(reason),
        "temporarily_unavailable" | "server_error" => TokenAnswer::Transient {
            reason: format!("the MiniMax portal is unavailable: {reason}"),
            retry_after,
        },
        // Transient wording wins over the word heuristic below.
        _ if sounds_transient(&reason) => TokenAnswer::Transient {
            reason,
            retry_after,
        },
        // The user said no (RFC 8628); a proxy's "blocked by egress policy"
        // is not about the grant.
        "access_denied" if is_a_denial(code, &reason) => TokenAnswer::Rejected(reason),
        _ if code != "access_denied" && says_grant_is_dead(&reason) => {
            TokenAnswer::Rejected(reason)
        }
        _ => TokenAnswer::Failed(reason),
    }
}

/// MiniMax's own `{"status":"error","base_resp":{status_code,status_msg}}`.
fn classify_portal_error(v: &Value, retry_after: Option<Duration>) -> TokenAnswer {
    let reason = reason_in(v).unwrap_or_else(|| "the portal gave no reason".to_string());
    let code = v
        .get("base_resp")
        .and_then(|b| b.get("status_code"))
        .and_then(Value::as_i64);
    // MiniMax's transient codes and wording win over the word heuristic:
    // "refresh failed: invalid upstream response, try again later" (1013)
    // is not a dead grant.
    if sounds_transient(&reason) || code.is_some_and(is_transient_code) {
        TokenAnswer::Transient {
            reason,
            retry_after,
        }
    } else if says_grant_is_dead(&reason) {
        TokenAnswer::Rejected(reason)
    } else {
        TokenAnswer::Failed(reason)
    }
}

/// MiniMax's API status codes that mean "try later": unknown error, time
/// out, rate limits, internal error (docs/protocol.md).
fn is_transient_code(code: i64) -> bool {
    matches!(code, 1000 | 1001 | 1002 | 1013 | 1039)
}

/// `access_denied` that is the user's (or the portal's) refusal of the
/// grant: no reason beyond the code, or one that says so.
fn is_a_denial(code: &str, reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r == code
        || says_grant_is_dead(reason)
        || ["denied", "declined", "rejected", "refused", "cancel"]
            .iter()
            .any(|w| r.contains(w))
            && ![
                "policy", "proxy", "firewall", "egress", "blocked", "gateway",
            ]
            .iter()
            .any(|w| r.contains(w))
}

/// Words the portal uses when a refresh token (or the grant) is dead.
fn says_grant_is_dead(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    if r.contains("invalid_grant") {
        return true;
    }
    let about_refresh = r.contains("refresh") || r.contains("grant");
    let dead = [
        "invalid",
        "already used",
        "been used",
        "reused",
        "expired",
        "revoked",
        "not found",
        "not exist",
    ]
    .iter()
    .any(|w| r.contains(w));
    about_refresh && dead
}

fn sounds_transient(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    [
        "rate limit",
        "too many",
        "retry",
        "try again",
        "busy",
        "temporar",
        "timeout",
        "timed out",
        "unavailable",
        "overload",
    ]
    .iter()
    .any(|w| r.contains(w))
}

fn json_object(body: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
}

fn field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A token string as the portal sent it: non-empty, bounded, printable.
fn token_text(value: &str) -> Option<String> {
    let text = value.trim();
    (!text.is_empty()
        && text.len() <= MAX_TOKEN_LEN
        && !text.chars().any(|c| c.is_whitespace() || c.is_control()))
    .then(|| text.to_string())
}

/// An access token as a bearer token must be (RFC 6750 `b64token`): it is
/// sent in a header and printed to shells by `env`.
fn access_text(value: &Value) -> Option<String> {
    value
        .as_str()
        .and_then(token_text)
        .filter(|t| crate::shell_quote::is_b64token(t))
}

fn read_tokens(v: &Value, now_ms: i64) -> TokenAnswer {
    let mut warnings = Vec::new();
    let refresh = match v.get("refresh_token") {
        None | Some(Value::Null) => None,
        Some(raw) => {
            let read = raw.as_str().and_then(token_text);
            if read.is_none() {
                warnings.push(
                    "the portal sent an empty or malformed refresh_token; the previous one \
                     is kept, but it may no longer work"
                        .to_string(),
                );
            }
            read
        }
    };
    let access = v.get("access_token").and_then(access_text);
    if access.is_none() {
        if refresh.is_none() {
            return TokenAnswer::Failed(
                "the portal's success answer has no usable access_token".to_string(),
            );
        }
        // The portal may have rotated: its new refresh token is the session.
        warnings.push(
            "the portal's access token is unusable (not a bearer token); the new refresh \
             token is kept and the next call refreshes again"
                .to_string(),
        );
    }
    let expires_ms = match v.get("expired_in").or_else(|| v.get("expires_in")) {
        None | Some(Value::Null) => {
            warnings.push("the portal did not say when the access token expires".to_string());
            None
        }
        Some(raw) => match normalize_expiry(raw, now_ms) {
            Ok(ms) => {
                let (ms, warning) = wire::believable_expiry(ms, now_ms);
                warnings.extend(warning);
                Some(ms)
            }
            Err(why) => {
                warnings.push(format!("the access token's {why}"));
                None
            }
        },
    };
    let resource_url = match field(v, "resource_url") {
        None => None,
        Some(text) => match resource_url(text) {
            Ok(url) => Some(url),
            Err(why) => {
                warnings.push(format!("{why}; the previous model base URL is kept"));
                None
            }
        },
    };
    let notification = field(v, "notification_message").map(|m| clean(m, 500));
    finish(
        access,
        refresh,
        expires_ms,
        resource_url,
        notification,
        warnings,
    )
}

fn finish(
    access: Option<String>,
    refresh: Option<String>,
    expires_ms: Option<i64>,
    resource_url: Option<Url>,
    notification: Option<String>,
    warnings: Vec<String>,
) -> TokenAnswer {
    for token in access.iter().chain(&refresh) {
        redact::register(token);
    }
    TokenAnswer::Tokens(Tokens {
        access: access.map(AccessToken::new),
        refresh: refresh.map(RefreshToken::new),
        expires_ms,
        resource_url,
        notification,
        warnings,
    })
}

/// Reads the token pair out of a success body that is not valid JSON (a
/// `NaN`, a body cut short): both strings must be there, complete.
fn salvage(body: &[u8], now_ms: i64) -> Option<Tokens> {
    let text = String::from_utf8_lossy(body);
    let access = redact::string_value_of(&text, "access_token")
        .and_then(|t| token_text(&t))
        .filter(|t| crate::shell_quote::is_b64token(t))?;
    let refresh = redact::string_value_of(&text, "refresh_token").and_then(|t| token_text(&t))?;
    let _ = now_ms;
    match finish(
        Some(access),
        Some(refresh),
        None,
        None,
        None,
        vec!["the portal's answer was not valid JSON; only its tokens were used".to_string()],
    ) {
        TokenAnswer::Tokens(tokens) => Some(tokens),
        _ => None,
    }
}

/// The model base URL the portal names; a bare host gets `https://`.
fn resource_url(text: &str) -> Result<Url, String> {
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("https://{text}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|_| "the portal's resource_url is not a URL".to_string())?;
    if url.scheme() != "https" && !crate::region::is_loopback(&url) {
        return Err("the portal's resource_url is not an https URL".to_string());
    }
    if !url.username().is_empty() || url.password().is_some() || url.host().is_none() {
        return Err("the portal's resource_url is not a plain https URL".to_string());
    }
    crate::region::check_plain_url(&url)
        .map_err(|why| format!("the portal's resource_url {why}"))?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::SecretBytes;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000_000;

    fn answer(status: u16, body: &str) -> TokenAnswer {
        classify(
            Ok(Answer {
                status,
                date: None,
                body: SecretBytes(body.as_bytes().to_vec()),
                retry_after: None,
                location: None,
            }),
            NOW,
        )
    }

    fn kind(a: &TokenAnswer) -> &'static str {
        match a {
            TokenAnswer::Tokens(_) => "tokens",
            TokenAnswer::Pending => "pending",
            TokenAnswer::SlowDown { .. } => "slow_down",
            TokenAnswer::Rejected(_) => "rejected",
            TokenAnswer::Transient { .. } => "transient",
            TokenAnswer::Failed(_) => "failed",
        }
    }

    /// Every row of the classifier: what the portal may say, and its class.
    #[test]
    fn the_classifier_table() {
        let rows: &[(u16, &str, &str)] = &[
            (
                200,
                r#"{"status":"success","access_token":"a1234567","refresh_token":"r1234567","expired_in":3600}"#,
                "tokens",
            ),
            (
                200,
                r#"{"status":"Success","access_token":"a1234567","refresh_token":"r1234567","expired_in":3600}"#,
                "tokens",
            ),
            (
                200,
                r#"{"access_token":"a1234567","refresh_token":"r1234567","expires_in":3600,"token_type":"Bearer"}"#,
                "tokens",
            ),
            (200, r#"{"status":"pending"}"#, "pending"),
            (200, r#"{}"#, "pending"),
            (400, r#"{"error":"authorization_pending"}"#, "pending"),
            (400, r#"{"error":"slow_down"}"#, "slow_down"),
            (429, r#"{}"#, "slow_down"),
            (
                400,
                r#"{"error":"invalid_grant","error_description":"refresh token expired"}"#,
                "rejected",
            ),
            (
                400,
                r#"{"status":"error","base_resp":{"status_code":1004,"status_msg":"refresh token already used"}}"#,
                "rejected",
            ),
            // MiniMax's transient codes and wording win over the words.
            (
                400,
                r#"{"status":"error","base_resp":{"status_code":1001,"status_msg":"refresh token already used"}}"#,
                "transient",
            ),
            (
                200,
                r#"{"status":"error","base_resp":{"status_code":1013,"status_msg":"refresh failed: invalid upstream response, try again later"}}"#,
                "transient",
            ),
            (
                200,
                r#"{"status":"error","base_resp":{"status_code":2000,"status_msg":"refresh token invalid? temporarily unavailable"}}"#,
                "transient",
            ),
            (
                400,
                r#"{"error":"invalid_request","error_description":"refresh token invalid, try again later"}"#,
                "transient",
            ),
            (
                403,
                r#"{"error":"access_denied","error_description":"blocked by egress policy"}"#,
                "failed",
            ),
            (400, r#"{"error":"access_denied"}"#, "rejected"),
            (
                400,
                r#"{"error":"access_denied","error_description":"The user denied the request"}"#,
                "rejected",
            ),
            (403, r#"{"message":"rate limited, try later"}"#, "transient"),
            (
                200,
                r#"{"status":"error","base_resp":{"status_code":1004,"status_msg":"invalid refresh_token"}}"#,
                "rejected",
            ),
            (401, r#"{"error":"invalid_grant"}"#, "rejected"),
            (
                200,
                r#"{"status":"error","base_resp":{"status_code":1002,"status_msg":"rate limit exceeded, retry later"}}"#,
                "transient",
            ),
            (400, r#"{"error":"temporarily_unavailable"}"#, "transient"),
            (400, r#"{"error":"server_error"}"#, "transient"),
            (
                403,
                "<html><body>Access denied by CDN</body></html>",
                "transient",
            ),
            (401, "", "transient"),
            (408, "", "transient"),
            (500, "oops", "transient"),
            (503, r#"{"error":"invalid_grant"}"#, "transient"),
            (200, "<html>maintenance</html>", "transient"),
            (
                200,
                r#"{"status":"success","access_token":"a1"#,
                "transient",
            ),
            (401, r#"{"error":"invalid_client"}"#, "failed"),
            (400, r#"{"error":"unsupported_grant_type"}"#, "failed"),
            (
                200,
                r#"{"status":"error","base_resp":{"status_code":2013,"status_msg":"invalid params"}}"#,
                "failed",
            ),
            (307, "", "failed"),
        ];
        for (status, body, want) in rows {
            let got = answer(*status, body);
            assert_eq!(kind(&got), *want, "HTTP {status} {body}: {got:?}");
        }
    }

    #[test]
    fn a_login_needs_a_refresh_token() {
        let TokenAnswer::Tokens(tokens) = answer(
            200,
            r#"{"status":"success","access_token":"acc-12345678","expired_in":60}"#,
        ) else {
            panic!("not tokens")
        };
        let err = login_tokens(tokens.clone()).unwrap_err();
        assert!(
            err.message.contains("no usable refresh_token"),
            "{}",
            err.message
        );
        let with_refresh = Tokens {
            refresh: Some(RefreshToken::new("ref-12345678".into())),
            ..tokens
        };
        assert!(login_tokens(with_refresh).is_ok());
    }

    #[test]
    fn token_answers() {
        let TokenAnswer::Failed(reason) = answer(
            200,
            r#"{"status":"error","base_resp":{"status_msg":"denied"}}"#,
        ) else {
            panic!("not failed")
        };
        assert_eq!(reason, "denied");
        let TokenAnswer::Tokens(tokens) = answer(
            200,
            r#"{"status":"success","access_token":"a","refresh_token":"r","expired_in":60,"resource_url":"api.minimax.io/anthropic"}"#,
        ) else {
            panic!("not approved")
        };
        assert_eq!(tokens.expires_ms, Some(NOW + 60_000));
        assert_eq!(
            tokens.resource_url.unwrap().as_str(),
            "https://api.minimax.io/anthropic"
        );
        let no_tokens = answer(200, r#"{"status":"success","expired_in":60}"#);
        assert_eq!(kind(&no_tokens), "failed");
    }

    #[test]
    fn odd_side_fields_keep_the_tokens() {
        for (extra, warned) in [
            (json!({"expired_in": 3600.0}), false),
            (json!({"expired_in": -5}), true),
            (json!({"expired_in": 0}), true),
            (json!({"expired_in": 1e17}), true),
            (json!({"expired_in": "x-secret"}), true),
            (json!({}), true),
            (
                json!({"expired_in": 60, "resource_url": "http://evil.example/anthropic"}),
                true,
            ),
            (
                json!({"expired_in": 60, "resource_url": "https://evil.example/anthropic#\\';id;#"}),
                true,
            ),
            (
                json!({"expired_in": 60, "resource_url": "https://evil.example/a?q=1"}),
                true,
            ),
            (
                json!({"expired_in": 60, "resource_url": "https://evil.example/it's"}),
                true,
            ),
            (json!({"expired_in": 60, "refresh_token": ""}), true),
        ] {
            let mut body = json!({"status": "success", "access_token": "acc-12345678",
                "refresh_token": "ref-12345678"});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            let TokenAnswer::Tokens(tokens) = answer(200, &body.to_string()) else {
                panic!("{body} dropped the tokens");
            };
            assert_eq!(tokens.access.unwrap().secret(), "acc-12345678");
            assert_eq!(
                !tokens.warnings.is_empty(),
                warned,
                "{body}: {:?}",
                tokens.warnings
            );
        }
    }

    /// A usable refresh token is kept even when the access token beside it
    /// is not one (a number, empty, spaces, shell syntax).
    #[test]
    fn an_unusable_access_token_keeps_the_new_refresh_token() {
        for access in [
            json!(12345),
            json!(""),
            json!("acc with space"),
            json!("acc\\';id;#"),
            json!(null),
        ] {
            let body = json!({"status": "success", "access_token": access,
                "refresh_token": "ref-new-12345678", "expired_in": 3600});
            let TokenAnswer::Tokens(tokens) = answer(200, &body.to_string()) else {
                panic!("{body} dropped the refresh token");
            };
            assert!(tokens.access.is_none(), "{body}");
            assert_eq!(tokens.refresh.unwrap().secret(), "ref-new-12345678");
            assert!(!tokens.warnings.is_empty());
        }
        let body = json!({"status": "success", "access_token": 5, "expired_in": 3600});
        assert_eq!(kind(&answer(200, &body.to_string())), "failed");
    }

    #[test]
    fn an_empty_refresh_token_is_not_a_rotation() {
        let TokenAnswer::Tokens(tokens) = answer(
            200,
            r#"{"status":"success","access_token":"acc-12345678","refresh_token":"","expired_in":60}"#,
        ) else {
            panic!("not tokens")
        };
        assert!(tokens.refresh.is_none());
        assert_eq!(tokens.warnings.len(), 1);
    }

    #[test]
    fn tokens_in_broken_json_are_salvaged_and_never_quoted() {
        for body in [
            r#"{"status":"success","access_token":"acc-NaN-0123456789","refresh_token":"ref-NaN-0123456789","expired_in":NaN}"#,
            r#"{"status":"success","access_token":"acc-NaN-0123456789","refresh_token":"ref-NaN-0123456789","expired_in":1e400}"#,
        ] {
            let got = answer(200, body);
            let TokenAnswer::Tokens(tokens) = got else {
                panic!("{body}: {got:?}")
            };
            assert_eq!(tokens.refresh.unwrap().secret(), "ref-NaN-0123456789");
            assert_eq!(tokens.expires_ms, None);
        }
        // Cut inside the refresh token: not salvageable, and never echoed.
        let cut = r#"{"status":"success","access_token":"acc-cut-0123456789","refresh_token":"ref-cut-01234"#;
        let got = answer(200, cut);
        let text = format!("{got:?}");
        assert_eq!(kind(&got), "transient");
        assert!(!text.contains("acc-cut-0123456789"), "{text}");
        assert!(redact::scrub("x acc-cut-0123456789 y").contains("[redacted]"));
    }

    #[test]
    fn a_truncated_success_with_both_tokens_is_kept() {
        let partial = br#"{"status":"success","access_token":"acc-trunc-0123456789","refresh_token":"ref-trunc-0123456789","expi"#;
        let got = classify(
            Err(Failure::NoAnswer {
                why: "connection closed".into(),
                status: Some(200),
                partial: SecretBytes(partial.to_vec()),
            }),
            NOW,
        );
        assert_eq!(kind(&got), "tokens", "{got:?}");
    }

    #[test]
    fn echoed_tokens_are_scrubbed_from_reasons() {
        let got = answer(
            200,
            r#"{"status":"error","access_token":"acc-echo-0123456789","base_resp":{"status_msg":"bad acc-echo-0123456789"}}"#,
        );
        assert!(
            !format!("{got:?}").contains("acc-echo-0123456789"),
            "{got:?}"
        );
    }
}
