//! The portal's device-code answer and the small readers every answer
//! shares (expiry forms, failure reasons), with their odd corners
//! (docs/protocol.md). Pure functions: no I/O, easy to test. Text made safe
//! to show is `redact::clean`, which every layer uses.

use crate::redact::{clean, is_hidden};
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// Poll no faster than this, whatever the portal says.
pub const MIN_INTERVAL: Duration = Duration::from_secs(2);
/// How long a code lives when the portal does not say.
const DEFAULT_CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// The longest a login may wait for approval, whatever the portal says.
const MAX_CODE_LIFETIME_MS: i64 = 15 * 60 * 1000;

/// The portal's answer to "give me a user code".
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub user_code: String,
    pub verification_uri: Url,
    /// When the code dies, epoch ms.
    pub deadline_ms: i64,
    pub interval: Duration,
}

fn parse_json(body: &[u8]) -> Result<Value, String> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        format!(
            "the portal answered something that is not JSON: {}",
            excerpt(body)
        )
    })?;
    if value.is_object() {
        Ok(value)
    } else {
        Err("the portal answered JSON that is not an object".to_string())
    }
}

fn text_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The reason the portal gives for a failure: `base_resp.status_msg`, then
/// `error_description` / `error` / `message`, else a short excerpt of the body.
pub fn failure_reason(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| reason_in(&v))
        .unwrap_or_else(|| excerpt(body))
}

/// The reason a JSON answer gives (`base_resp.status_msg`, then
/// `error_description` / `error` / `message`), cleaned for display.
pub fn reason_in(v: &Value) -> Option<String> {
    v.get("base_resp")
        .and_then(|b| text_field(b, "status_msg"))
        .or_else(|| text_field(v, "error_description"))
        .or_else(|| text_field(v, "error"))
        .or_else(|| text_field(v, "message"))
        .map(|reason| clean(reason, 300))
}

/// A short, printable excerpt of a body that is safe to put in a message.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return "(an empty body)".to_string();
    }
    if trimmed.starts_with('<') {
        return "(an HTML page)".to_string();
    }
    format!("{:?}", clean(trimmed, 200))
}

/// Reads `expired_in` (of a token, or of a code), which has been seen in
/// three forms, told apart by size: below 1e9 seconds from now; 1e9 to 1e12
/// epoch seconds; 1e12 and above epoch milliseconds. Returns epoch ms.
/// A number with a zero fraction (`3600.0`) counts as that integer. Errors
/// never quote the value: a hostile portal could put a token there.
pub fn normalize_expiry(value: &Value, now_ms: i64) -> Result<i64, String> {
    let raw = match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e18)
                .map(|f| f as i64)
        }),
        // Some servers quote numbers; only plain digits are accepted.
        Value::String(s)
            if !s.is_empty() && s.len() < 19 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse::<i64>().ok()
        }
        _ => None,
    };
    let Some(raw) = raw else {
        return Err("expired_in is not an integer".to_string());
    };
    if raw <= 0 {
        Err(format!("expired_in {raw} is not positive"))
    } else if raw < 1_000_000_000 {
        Ok(now_ms.saturating_add(raw.saturating_mul(1000)))
    } else if raw < 1_000_000_000_000 {
        Ok(raw.saturating_mul(1000))
    } else if raw < 100_000_000_000_000 {
        Ok(raw)
    } else {
        Err(format!(
            "expired_in {raw} is too far in the future to be a date"
        ))
    }
}

/// The longest access-token life believed: MiniMax's are hours long, and a
/// far-future expiry (`expired_in: 999999999`) would never be refreshed.
pub const MAX_BELIEVED_LIFETIME_MS: i64 = 30 * 24 * 3600 * 1000;

/// An access token's expiry as believed: at most 30 days from now, with a
/// warning when the portal said more.
pub fn believable_expiry(expires_ms: i64, now_ms: i64) -> (i64, Option<String>) {
    let latest = now_ms.saturating_add(MAX_BELIEVED_LIFETIME_MS);
    if expires_ms <= latest {
        return (expires_ms, None);
    }
    let days = expires_ms.saturating_sub(now_ms) / (24 * 3600 * 1000);
    let warning = format!(
        "the portal says the access token lives {days} days; it is taken to live 30 days \
         and refreshed before then"
    );
    (latest, Some(warning))
}

/// Parses the answer to the device-code request. `sent_state` must come
/// back unchanged: anything else may be a forged answer.
pub fn parse_device_code(body: &[u8], sent_state: &str, now_ms: i64) -> Result<DeviceCode, String> {
    let v = parse_json(body)?;
    let user_code = text_field(&v, "user_code");
    let uri = text_field(&v, "verification_uri");
    let (Some(user_code), Some(uri)) = (user_code, uri) else {
        let reason = text_field(&v, "error")
            .map(|e| clean(e, 300))
            .unwrap_or_else(|| failure_reason(body));
        return Err(format!("the portal gave no user code: {reason}"));
    };
    if user_code.len() > 64 || user_code.chars().any(|c| c.is_control() || is_hidden(c)) {
        return Err("the portal's user code is malformed".to_string());
    }
    if v.get("state").and_then(Value::as_str) != Some(sent_state) {
        return Err(
            "the portal's answer does not carry the state this login sent; \
                    it may not come from MiniMax (possible CSRF), so the login was stopped"
                .to_string(),
        );
    }
    let verification_uri = verification_link(uri)?;
    let deadline_ms = match v.get("expired_in") {
        None | Some(Value::Null) => now_ms.saturating_add(DEFAULT_CODE_LIFETIME_MS),
        Some(raw) => normalize_expiry(raw, now_ms).map_err(|e| format!("the user code's {e}"))?,
    }
    .min(now_ms.saturating_add(MAX_CODE_LIFETIME_MS));
    if deadline_ms <= now_ms {
        return Err(
            "the portal handed out a user code that has already expired; check this \
                    machine's clock"
                .to_string(),
        );
    }
    let interval = match v.get("interval") {
        None | Some(Value::Null) => MIN_INTERVAL,
        Some(raw) => match raw.as_u64() {
            Some(ms) => Duration::from_millis(ms.min(60_000)).max(MIN_INTERVAL),
            None => return Err("the portal's interval is not a number of milliseconds".to_string()),
        },
    };
    Ok(DeviceCode {
        user_code: user_code.to_string(),
        verification_uri,
        deadline_ms,
        interval,
    })
}

/// The page the user opens. Only http(s); a `www.` host is rewritten to
/// `platform.` because `www.minimax.io` drops the code (and CN's 404s).
pub fn verification_link(text: &str) -> Result<Url, String> {
    let mut url =
        Url::parse(text).map_err(|_| "the portal's verification link is not a URL".to_string())?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err("the portal's verification link is not an http(s) link".to_string());
    }
    if let Some(rest) = url.host_str().and_then(|h| h.strip_prefix("www.")) {
        let host = format!("platform.{rest}");
        url.set_host(Some(&host))
            .map_err(|_| "the portal's verification link has a bad host".to_string())?;
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn far_future_expiries_are_believed_for_30_days_at_most() {
        let month = MAX_BELIEVED_LIFETIME_MS;
        assert_eq!(
            believable_expiry(NOW + 3_600_000, NOW),
            (NOW + 3_600_000, None)
        );
        assert_eq!(believable_expiry(NOW + month, NOW), (NOW + month, None));
        let far = normalize_expiry(&json!(999_999_999), NOW).unwrap();
        let (ms, warning) = believable_expiry(far, NOW);
        assert_eq!(ms, NOW + month);
        assert!(warning.unwrap().contains("11574 days"));
        assert_eq!(believable_expiry(i64::MAX, i64::MAX).0, i64::MAX);
    }

    #[test]
    fn expiry_forms_by_size() {
        assert_eq!(
            normalize_expiry(&json!(3600), NOW).unwrap(),
            NOW + 3_600_000
        );
        assert_eq!(
            normalize_expiry(&json!(1_800_003_600), NOW).unwrap(),
            1_800_003_600_000
        );
        assert_eq!(
            normalize_expiry(&json!(1_800_003_600_000i64), NOW).unwrap(),
            1_800_003_600_000
        );
        assert_eq!(
            normalize_expiry(&json!("3600"), NOW).unwrap(),
            NOW + 3_600_000
        );
        assert_eq!(
            normalize_expiry(&json!(3600.0), NOW).unwrap(),
            NOW + 3_600_000
        );
        for bad in [
            json!("3600s"),
            json!(3600.5),
            json!(-1),
            json!(0),
            json!(null),
            json!([1]),
            json!(1e17),
        ] {
            assert!(normalize_expiry(&bad, NOW).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn www_is_rewritten_to_platform() {
        let url = verification_link("https://www.minimax.io/oauth-authorize?user_code=A").unwrap();
        assert_eq!(
            url.as_str(),
            "https://platform.minimax.io/oauth-authorize?user_code=A"
        );
        let url = verification_link("https://www.minimaxi.com/x").unwrap();
        assert_eq!(url.host_str(), Some("platform.minimaxi.com"));
        assert!(verification_link("javascript:alert(1)").is_err());
    }

    #[test]
    fn device_code_checks_state_and_reads_interval_in_ms() {
        let body = json!({"user_code":"AB-CD","verification_uri":"https://platform.minimax.io/a",
            "expired_in": NOW + 60_000, "interval": 5000, "state": "s1"})
        .to_string();
        let code = parse_device_code(body.as_bytes(), "s1", NOW).unwrap();
        assert_eq!(code.interval, Duration::from_secs(5));
        assert_eq!(code.deadline_ms, NOW + 60_000);
        assert!(
            parse_device_code(body.as_bytes(), "s2", NOW)
                .unwrap_err()
                .contains("CSRF")
        );
        let fast =
            json!({"user_code":"A","verification_uri":"https://p.x/a","state":"s","interval":10})
                .to_string();
        assert_eq!(
            parse_device_code(fast.as_bytes(), "s", NOW)
                .unwrap()
                .interval,
            MIN_INTERVAL
        );
        let err = json!({"error":"client not allowed"}).to_string();
        assert!(
            parse_device_code(err.as_bytes(), "s", NOW)
                .unwrap_err()
                .contains("client not allowed")
        );
    }

    #[test]
    fn a_login_never_waits_longer_than_15_minutes() {
        let body = json!({"user_code":"AB-CD","verification_uri":"https://platform.minimax.io/a",
            "expired_in": NOW + 86_400_000, "state": "s"})
        .to_string();
        let code = parse_device_code(body.as_bytes(), "s", NOW).unwrap();
        assert_eq!(code.deadline_ms, NOW + 15 * 60_000);
    }

    #[test]
    fn reasons_never_dump_html() {
        assert_eq!(
            failure_reason(b"<html><body>502</body></html>"),
            "(an HTML page)"
        );
        assert_eq!(
            failure_reason(br#"{"base_resp":{"status_msg":"bad"}}"#),
            "bad"
        );
    }

    /// Untrusted answers never panic the parsers: 20 000 mutations of real
    /// answers (bytes flipped, cut, duplicated) from a fixed-seed generator.
    #[test]
    fn mutated_answers_never_panic() {
        let seeds: [&[u8]; 4] = [
            br#"{"user_code":"AB-CD","verification_uri":"https://www.minimax.io/a?x=1","expired_in":1800000060000,"interval":5000,"state":"s"}"#,
            br#"{"status":"success","access_token":"a.b.c","refresh_token":"r","expired_in":3600,"resource_url":"api.minimax.io/anthropic","notification_message":"hi"}"#,
            br#"{"status":"error","base_resp":{"status_code":1004,"status_msg":"bad"}}"#,
            br#"{"error":"slow_down","error_description":"x"}"#,
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..20_000 {
            let mut body = seeds[round % seeds.len()].to_vec();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() as usize) % body.len().max(1);
                match next() % 4 {
                    0 if !body.is_empty() => body[at] = next() as u8,
                    1 => body.truncate(at),
                    2 => {
                        let alphabet: &[u8] = b"{}[]:,0123456789e-\"";
                        body.insert(
                            at.min(body.len()),
                            alphabet[(next() as usize) % alphabet.len()],
                        );
                    }
                    _ => {
                        let tail = body[at.min(body.len())..].to_vec();
                        body.extend_from_slice(&tail);
                    }
                }
            }
            let status = [200, 400, 401, 429, 500][(next() % 5) as usize];
            let _ = parse_device_code(&body, "s", NOW);
            let answer = crate::portal::http::Answer {
                status,
                date: None,
                body: crate::redact::SecretBytes(body.clone()),
                retry_after: None,
                location: None,
            };
            let _ = crate::portal::answer::classify(Ok(answer), NOW);
            let _ = failure_reason(&body);
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                let _ = normalize_expiry(&v, NOW);
                let _ = normalize_expiry(&v, i64::MAX);
                let _ = normalize_expiry(&v, i64::MIN);
            }
        }
    }

    #[test]
    fn a_user_code_that_hides_characters_is_refused() {
        let body = serde_json::json!({"user_code": "AB\u{202e}CD",
            "verification_uri": "https://platform.minimax.io/a", "state": "s"});
        let err = parse_device_code(body.to_string().as_bytes(), "s", 0);
        assert!(err.is_err());
    }
}
