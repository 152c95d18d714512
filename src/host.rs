//! What the host needs besides the token: the model catalog and the config
//! patch it merges after a login.

use crate::profile::{PROVIDER, ProfileName};
use serde_json::{Value, json};

pub struct Model {
    pub id: &'static str,
    pub alias: &'static str,
    pub context_window: u64,
    pub max_tokens: u64,
    pub reasoning: bool,
    pub images: bool,
}

/// The models of the Coding Plan (minimax-protocol.md). Where the protocol
/// file gives no limits, M2.1's are used.
pub const MODELS: &[Model] = &[
    model("MiniMax-M2.1", "minimax-m2.1", 200_000, 8_192),
    model(
        "MiniMax-M2.1-lightning",
        "minimax-m2.1-lightning",
        200_000,
        8_192,
    ),
    model("MiniMax-M2.5", "minimax-m2.5", 200_000, 8_192),
    model(
        "MiniMax-M2.5-highspeed",
        "minimax-m2.5-highspeed",
        200_000,
        8_192,
    ),
    model("MiniMax-M2.7", "minimax-m2.7", 204_800, 8_192),
    model(
        "MiniMax-M2.7-highspeed",
        "minimax-m2.7-highspeed",
        204_800,
        8_192,
    ),
    Model {
        id: "MiniMax-M3",
        alias: "minimax-m3",
        context_window: 1_000_000,
        max_tokens: 131_072,
        reasoning: true,
        images: true,
    },
];

pub const DEFAULT_MODEL: &str = "MiniMax-M2.7";

const fn model(
    id: &'static str,
    alias: &'static str,
    context_window: u64,
    max_tokens: u64,
) -> Model {
    Model {
        id,
        alias,
        context_window,
        max_tokens,
        reasoning: false,
        images: false,
    }
}

pub fn model_ref(id: &str) -> String {
    format!("{PROVIDER}/{id}")
}

fn model_entry(m: &Model) -> Value {
    let input: &[&str] = if m.images {
        &["text", "image"]
    } else {
        &["text"]
    };
    json!({
        "id": m.id,
        "name": m.id,
        "reasoning": m.reasoning,
        "input": input,
        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
        "contextWindow": m.context_window,
        "maxTokens": m.max_tokens,
    })
}

/// The patch a host merges into its config after a login.
pub fn config_patch(name: &ProfileName, base_url: &str) -> Value {
    let models: Vec<Value> = MODELS.iter().map(model_entry).collect();
    let aliases: serde_json::Map<String, Value> = MODELS
        .iter()
        .map(|m| (model_ref(m.id), json!({"alias": m.alias})))
        .collect();
    json!({
        "models": {"providers": {PROVIDER: {
            "baseUrl": base_url,
            "api": "anthropic-messages",
            "authHeader": true,
            "models": models,
        }}},
        "agents": {"defaults": {
            "models": aliases,
            "model": {"primary": model_ref(DEFAULT_MODEL)},
        }},
        "auth": {"profiles": {name.profile_id(): {"provider": PROVIDER, "mode": "oauth"}}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_names_provider_models_and_profile() {
        let patch = config_patch(&ProfileName::default(), "https://api.minimax.io/anthropic");
        let provider = &patch["models"]["providers"]["minimax-portal"];
        assert_eq!(provider["api"], "anthropic-messages");
        assert_eq!(provider["authHeader"], true);
        assert_eq!(provider["models"].as_array().unwrap().len(), MODELS.len());
        assert_eq!(
            patch["agents"]["defaults"]["model"]["primary"],
            "minimax-portal/MiniMax-M2.7"
        );
        assert_eq!(
            patch["auth"]["profiles"]["minimax-portal:default"]["mode"],
            "oauth"
        );
        assert!(MODELS.iter().any(|m| m.id == DEFAULT_MODEL));
    }
}
