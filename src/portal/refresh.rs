//! Refreshing a token at the endpoint that issued it.

use super::answer::{self, TokenAnswer};
use super::http::{Failure, Http};
use crate::clock::now_ms;
use crate::profile::ProfileUrl;
use crate::region::CLIENT_ID;
use oauth2::RefreshToken;
use std::time::Duration;

/// How many times a request that never reached the portal is tried again.
const RETRIES_NOT_SENT: u32 = 2;

/// Sends refresh requests. The session depends on this alone, so its tests
/// can script the portal's answers.
pub trait Refresher {
    /// Refreshes at `token_endpoint` as `client_id`: both are the profile's,
    /// since a refresh token is bound to the client it was issued to.
    fn refresh(
        &self,
        token_endpoint: &ProfileUrl,
        client_id: &str,
        refresh_token: &RefreshToken,
    ) -> TokenAnswer;
}

/// The real portal, over HTTPS.
pub struct HttpRefresher;

impl Refresher for HttpRefresher {
    fn refresh(
        &self,
        token_endpoint: &ProfileUrl,
        client_id: &str,
        refresh_token: &RefreshToken,
    ) -> TokenAnswer {
        let sent = crate::runtime::run_async(async {
            match Http::new() {
                Ok(http) => refresh(&http, token_endpoint, client_id, refresh_token).await,
                Err(e) => TokenAnswer::Failed(e.message),
            }
        });
        sent.unwrap_or_else(|e| TokenAnswer::Failed(e.message))
    }
}

pub async fn refresh(
    http: &Http,
    token_endpoint: &ProfileUrl,
    client_id: &str,
    refresh_token: &RefreshToken,
) -> TokenAnswer {
    let url = match token_endpoint.usable() {
        Ok(url) => url,
        Err(why) => {
            return TokenAnswer::Failed(format!("the profile's token endpoint is unusable: {why}"));
        }
    };
    // A profile always records its client; an empty one can only be a hand
    // edit, and MiniMax's is what every profile had before it was recorded.
    let client_id = match client_id.trim() {
        "" => CLIENT_ID,
        id => id,
    };
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("refresh_token", refresh_token.secret().as_str()),
    ];
    let mut attempt = 0;
    loop {
        match http.post_form(url, &form).await {
            // Only a request that never left can be sent again safely: one
            // that reached the portal may have rotated the refresh token.
            Err(Failure::NotSent(_)) if attempt < RETRIES_NOT_SENT => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            outcome => return answer::classify(outcome, now_ms()),
        }
    }
}
