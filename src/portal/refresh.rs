//! Refreshing a token at the endpoint that issued it.

use super::http::{Failure, Http};
use super::wire::{self, PollAnswer, Tokens};
use crate::profile::now_ms;
use crate::region::{CLIENT_ID, parse_base_url};
use oauth2::RefreshToken;
use std::time::Duration;

/// How many times a request that never reached the portal is tried again.
const RETRIES_NOT_SENT: u32 = 2;

/// What the portal said to a refresh.
#[derive(Debug)]
pub enum Refreshed {
    Tokens(Tokens),
    /// The refresh token is dead (used, revoked, expired): log in again.
    Rejected(String),
    /// Try later; nothing changed at the portal as far as we know.
    Transient(String),
    /// A setup problem (redirect, wrong endpoint, garbage answer).
    Failed(String),
}

pub async fn refresh(http: &Http, token_endpoint: &str, refresh_token: &RefreshToken) -> Refreshed {
    let url = match parse_base_url(token_endpoint) {
        Ok(url) => url,
        Err(why) => {
            return Refreshed::Failed(format!("the profile's token endpoint is unusable: {why}"));
        }
    };
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", CLIENT_ID),
        ("refresh_token", refresh_token.secret().as_str()),
    ];
    let mut attempt = 0;
    let answer = loop {
        match http.post_form(&url, &form).await {
            Ok(answer) => break answer,
            // Only a request that never left can be sent again safely: one
            // that reached the portal may have rotated the refresh token.
            Err(Failure::NotSent(why)) => {
                if attempt >= RETRIES_NOT_SENT {
                    return Refreshed::Transient(format!("cannot reach the MiniMax portal: {why}"));
                }
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            Err(Failure::NoAnswer(why)) => {
                return Refreshed::Transient(format!(
                    "no complete answer from the MiniMax portal: {why}"
                ));
            }
            Err(Failure::TooLarge) => {
                return Refreshed::Failed(
                    "the portal's answer is too large to be a token".to_string(),
                );
            }
        }
    };
    match answer.status {
        429 | 500..=599 => {
            return Refreshed::Transient(format!(
                "the MiniMax portal is unavailable (HTTP {}): {}",
                answer.status,
                wire::failure_reason(&answer.body)
            ));
        }
        300..=399 => {
            return Refreshed::Failed(format!(
                "the token endpoint {token_endpoint} answered with a redirect (HTTP {})",
                answer.status
            ));
        }
        400 | 401 | 403 | 200..=299 => {}
        status => {
            return Refreshed::Failed(format!(
                "the token endpoint {token_endpoint} answered HTTP {status}: {}",
                wire::failure_reason(&answer.body)
            ));
        }
    }
    match wire::parse_token_answer(answer.status, &answer.body, now_ms()) {
        Ok(PollAnswer::Approved(tokens)) => Refreshed::Tokens(tokens),
        Ok(PollAnswer::Refused(reason)) => Refreshed::Rejected(reason),
        Ok(PollAnswer::Pending | PollAnswer::SlowDown) => {
            Refreshed::Failed("the portal answered the refresh with no tokens".to_string())
        }
        Err(why) => Refreshed::Failed(why),
    }
}
