//! The Coding Plan's usage windows (and the Token Plan's, same shape).

use super::http::Http;
use super::wire::failure_reason;
use crate::error::{Error, Result};
use crate::region::join;
use serde::{Deserialize, Serialize};
use url::Url;

const CODING_PLAN_PATH: &str = "v1/api/openplatform/coding_plan/remains";
const TOKEN_PLAN_PATH: &str = "v1/token_plan/remains";

/// One model's current window, with MiniMax's raw counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelWindow {
    pub model_name: String,
    /// Window start and end, epoch ms.
    #[serde(default)]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub end_time: Option<i64>,
    /// Milliseconds until the window resets.
    #[serde(default)]
    pub remains_time: Option<i64>,
    #[serde(default)]
    pub current_interval_total_count: Option<i64>,
    /// Clients disagree whether this counts used or remaining requests.
    #[serde(default)]
    pub current_interval_usage_count: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct BaseResp {
    #[serde(default)]
    status_code: i64,
    #[serde(default)]
    status_msg: String,
}

#[derive(Debug, Deserialize)]
struct Remains {
    #[serde(default)]
    model_remains: Vec<ModelWindow>,
    base_resp: Option<BaseResp>,
}

pub struct Usage {
    /// "coding_plan" or "token_plan".
    pub plan: &'static str,
    pub windows: Vec<ModelWindow>,
}

/// Asks the Coding Plan endpoint, then the Token Plan's if the first is absent.
pub async fn fetch(http: &Http, api_base: &Url, token: &str) -> Result<Usage> {
    for (plan, path) in [
        ("coding_plan", CODING_PLAN_PATH),
        ("token_plan", TOKEN_PLAN_PATH),
    ] {
        let url = join(api_base, path)?;
        let answer = http
            .get_bearer(&url, token)
            .await
            .map_err(|f| f.into_error("read the plan's usage"))?;
        match answer.status {
            404 => continue,
            401 | 403 => {
                return Err(Error::needs_login(format!(
                    "MiniMax refused the token when reading usage (HTTP {}): {}",
                    answer.status,
                    failure_reason(&answer.body)
                ))
                .with_hint("run: minimax-portal-auth login"));
            }
            429 | 500..=599 => {
                return Err(Error::transient(format!(
                    "MiniMax could not report usage (HTTP {}): {}",
                    answer.status,
                    failure_reason(&answer.body)
                ))
                .with_hint("try again in a few minutes"));
            }
            200..=299 => {}
            status => {
                return Err(Error::failed(format!(
                    "MiniMax answered the usage request with HTTP {status}: {}",
                    failure_reason(&answer.body)
                )));
            }
        }
        let remains: Remains = serde_json::from_slice(&answer.body).map_err(|_| {
            Error::failed(format!(
                "MiniMax's usage answer is not what was expected: {}",
                failure_reason(&answer.body)
            ))
        })?;
        if let Some(base) = remains.base_resp
            && base.status_code != 0
        {
            return Err(Error::failed(format!(
                "MiniMax refused the usage request: {} (code {})",
                base.status_msg, base.status_code
            )));
        }
        return Ok(Usage {
            plan,
            windows: remains.model_remains,
        });
    }
    Err(Error::failed(
        "MiniMax has no usage endpoint for this account (neither Coding Plan nor Token Plan)",
    ))
}
