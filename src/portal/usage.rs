//! The plan's usage windows per model (docs/protocol.md, "Usage"). The
//! Token Plan endpoint at the model base URL's origin comes first, as the
//! newest OpenClaw asks it; the older Coding Plan endpoint second.
//! `current_interval_usage_count` counts what is LEFT, not what was used.

use super::http::{Http, StatusClass};
use super::wire::failure_reason;
use crate::error::{Error, Result};
use crate::redact::clean;
use crate::region::join;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

/// One model's usage.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelUsage {
    pub model_name: String,
    pub interval: Window,
    /// None when the plan has no weekly window.
    pub weekly: Option<Window>,
}

/// One window (the current interval, or the week) of one model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Requests (or prompts) left in the window.
    pub remaining: Option<i64>,
    pub total: Option<i64>,
    /// Percent left, 0 to 100.
    pub remaining_percent: Option<f64>,
    /// When the window resets, epoch ms.
    pub resets_at: Option<i64>,
}

const TOKEN_PLAN_PATH: &str = "v1/token_plan/remains";
const CODING_PLAN_PATH: &str = "v1/api/openplatform/coding_plan/remains";
/// `current_interval_status` of a window the portal wants hidden.
const HIDDEN: i64 = 3;

/// Which usage endpoint answered (`plan` in `usage --json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// The Token Plan endpoint at the model base URL's origin.
    TokenPlan,
    /// The older Coding Plan endpoint at the region's API base.
    CodingPlan,
}

/// What the usage endpoint said: which plan, and each model's windows.
pub struct Usage {
    pub plan: Plan,
    pub models: Vec<ModelUsage>,
}

/// Where the two endpoints are: the origin of the profile's model base URL,
/// and the region's API base.
pub struct Endpoints {
    pub model_base: Url,
    pub api_base: Url,
}

/// `fetch`, blocking, on a runtime of its own.
pub fn fetch_blocking(at: &Endpoints, token: &str, now_ms: i64) -> Result<Usage> {
    crate::runtime::run_async(async {
        let http = Http::new()?;
        fetch(&http, at, token, now_ms).await
    })?
}

/// `accepts`, blocking, on a runtime of its own.
pub fn accepts_blocking(api_base: &Url, token: &str, what: &str) -> Result<bool> {
    crate::runtime::run_async(async {
        let http = Http::new()?;
        accepts(&http, api_base, token, what).await
    })?
}

pub async fn fetch(http: &Http, at: &Endpoints, token: &str, now_ms: i64) -> Result<Usage> {
    let origin = origin_of(&at.model_base)?;
    for (plan, url) in [
        (Plan::TokenPlan, join(&origin, TOKEN_PLAN_PATH)?),
        (Plan::CodingPlan, join(&at.api_base, CODING_PLAN_PATH)?),
    ] {
        let answer = http
            .get_usage(&url, token)
            .await
            .map_err(|f| f.into_error("read the plan's usage"))?;
        let status = answer.status;
        match answer.class() {
            StatusClass::Ok => {}
            StatusClass::ClientError(404) => continue,
            StatusClass::ClientError(401 | 403) => {
                return Err(Error::needs_login(format!(
                    "MiniMax refused the token when reading usage (HTTP {status}): {}",
                    answer.reason()
                )));
            }
            StatusClass::RateLimited { .. } | StatusClass::Unavailable { .. } => {
                return Err(Error::transient(format!(
                    "MiniMax could not report usage (HTTP {status}): {}",
                    answer.reason()
                ))
                .with_hint("try again in a few minutes"));
            }
            StatusClass::Redirect | StatusClass::ClientError(_) => {
                return Err(Error::failed(format!(
                    "MiniMax answered the usage request with HTTP {status}: {}",
                    answer.reason()
                )));
            }
        }
        return parse(&answer.body, now_ms).map(|models| Usage { plan, models });
    }
    Err(
        Error::failed("MiniMax has no usage endpoint for this account (both answered HTTP 404)")
            .with_hint("check that the account has a Coding Plan on the MiniMax platform"),
    )
}

/// Whether MiniMax accepts a token or API key, by one cheap authenticated
/// read (the usage endpoint): a 401 or 403 is a refusal; anything else that
/// answers is taken as accepted. Network trouble, 408, 429 and 5xx are
/// errors.
/// `what` names the credential in messages ("the API key", "the access
/// token").
pub async fn accepts(http: &Http, api_base: &Url, token: &str, what: &str) -> Result<bool> {
    let url = join(api_base, TOKEN_PLAN_PATH)?;
    let answer = http
        .get_usage(&url, token)
        .await
        .map_err(|f| f.into_error(&format!("check {what}")))?;
    match answer.class() {
        StatusClass::ClientError(401 | 403) => Ok(false),
        StatusClass::RateLimited { .. } | StatusClass::Unavailable { .. } => {
            Err(Error::transient(format!(
                "MiniMax could not check {what} now (HTTP {})",
                answer.status
            )))
        }
        StatusClass::Ok | StatusClass::Redirect | StatusClass::ClientError(_) => Ok(true),
    }
}

fn origin_of(url: &Url) -> Result<Url> {
    Url::parse(&url.origin().ascii_serialization())
        .map_err(|e| Error::failed(format!("the model base URL has no origin: {e}")))
}

/// Reads the answer: `{model_remains: [...], base_resp}`, possibly wrapped
/// in `data`. Windows the portal marks hidden are left out.
pub fn parse(body: &[u8], now_ms: i64) -> Result<Vec<ModelUsage>> {
    let unexpected = || {
        Error::failed(format!(
            "MiniMax's usage answer is not what was expected: {}",
            failure_reason(body)
        ))
    };
    let v: Value = serde_json::from_slice(body).map_err(|_| unexpected())?;
    let v = match v.get("data") {
        Some(data) if data.is_object() => data,
        _ => &v,
    };
    if let Some(base) = v.get("base_resp").or_else(|| v.get("base_resp_outer")) {
        let code = base.get("status_code").and_then(Value::as_i64).unwrap_or(0);
        if code != 0 {
            let why = base
                .get("status_msg")
                .and_then(Value::as_str)
                .map(|m| clean(m, 200))
                .unwrap_or_default();
            return Err(Error::failed(format!(
                "MiniMax refused the usage request: {why} (code {code})"
            ))
            .with_hint("check the account's plan on the MiniMax platform"));
        }
    }
    let Some(records) = v.get("model_remains").and_then(Value::as_array) else {
        return Err(unexpected());
    };
    Ok(records
        .iter()
        .filter(|r| int(r, "current_interval_status") != Some(HIDDEN))
        .filter_map(|r| {
            let model_name = clean(r.get("model_name")?.as_str()?, 60);
            let interval = Window {
                remaining: int(r, "current_interval_usage_count"),
                total: int(r, "current_interval_total_count"),
                remaining_percent: percent(r, "current_interval_remaining_percent"),
                resets_at: time(r, "end_time")
                    .or_else(|| int(r, "remains_time").map(|left| now_ms.saturating_add(left))),
            };
            let weekly = Window {
                remaining: int(r, "current_weekly_usage_count"),
                total: int(r, "current_weekly_total_count"),
                remaining_percent: percent(r, "current_weekly_remaining_percent"),
                resets_at: time(r, "weekly_end_time"),
            };
            let has_week =
                weekly.total.is_some() && int(r, "current_weekly_status") != Some(HIDDEN);
            Some(ModelUsage {
                model_name,
                interval: with_percent(interval),
                weekly: has_week.then(|| with_percent(weekly)),
            })
        })
        .collect())
}

/// An integer field, also when sent as a float or a string.
fn int(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn percent(v: &Value, key: &str) -> Option<f64> {
    let p = match v.get(key)? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().trim_end_matches('%').parse().ok()?,
        _ => return None,
    };
    p.is_finite().then(|| p.clamp(0.0, 100.0))
}

/// A time field: epoch ms, or seconds when below 1e12.
fn time(v: &Value, key: &str) -> Option<i64> {
    int(v, key).filter(|t| *t > 0).map(|t| {
        if t < 1_000_000_000_000 {
            t.saturating_mul(1000)
        } else {
            t
        }
    })
}

/// Fills in the percent left from the counts when the portal gave none.
fn with_percent(mut w: Window) -> Window {
    if w.remaining_percent.is_none()
        && let (Some(left), Some(total)) = (w.remaining, w.total)
        && total > 0
    {
        w.remaining_percent = Some((left.clamp(0, total) as f64 * 100.0 / total as f64).round());
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn usage_count_is_what_is_left() {
        let body = json!({"model_remains": [{
            "model_name": "MiniMax-M2.7", "end_time": NOW / 1000 + 3600,
            "current_interval_total_count": 1500, "current_interval_usage_count": 1200,
            "current_weekly_total_count": 10000, "current_weekly_usage_count": 9000,
            "weekly_end_time": NOW + 86_400_000,
        }, {"model_name": "hidden", "current_interval_status": 3}],
        "base_resp": {"status_code": 0, "status_msg": "success"}});
        let models = parse(body.to_string().as_bytes(), NOW).unwrap();
        assert_eq!(models.len(), 1);
        let m = &models[0];
        assert_eq!(m.interval.remaining, Some(1200));
        assert_eq!(m.interval.remaining_percent, Some(80.0));
        assert_eq!(m.interval.resets_at, Some(NOW + 3_600_000));
        assert_eq!(m.weekly.as_ref().unwrap().remaining_percent, Some(90.0));
    }

    #[test]
    fn data_may_wrap_it_and_errors_say_why() {
        let wrapped = json!({"data": {"model_remains": []}});
        assert!(
            parse(wrapped.to_string().as_bytes(), NOW)
                .unwrap()
                .is_empty()
        );
        let refused = json!({"base_resp": {"status_code": 1008, "status_msg": "no plan\u{1b}[2J"}});
        let err = parse(refused.to_string().as_bytes(), NOW).unwrap_err();
        assert!(err.message.contains("no plan"), "{}", err.message);
        assert!(!err.message.contains('\u{1b}'));
    }

    #[test]
    fn extreme_numbers_do_not_panic() {
        let body = json!({"model_remains": [{"model_name": "x\u{1b}]0;evil\u{7}",
            "current_interval_total_count": i64::MAX, "current_interval_usage_count": i64::MIN,
            "remains_time": i64::MAX, "end_time": -1, "current_interval_remaining_percent": 1e308}]});
        let models = parse(body.to_string().as_bytes(), NOW).unwrap();
        assert!(!models[0].model_name.contains('\u{1b}'));
        assert_eq!(models[0].interval.remaining_percent, Some(100.0));
    }
}
