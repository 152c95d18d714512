//! The model catalog (read from plugin.toml, the one source; its types are
//! plugin.toml's, in `manifest.rs`) and the config patch a host merges
//! after a login, in OpenClaw's shape.

use crate::error::Result;
use crate::manifest;
pub use crate::manifest::{Catalog, Model};
use crate::profile::{PROVIDER, ProfileName};
use serde_json::{Value, json};

/// The catalog from the built-in plugin.toml.
pub fn load() -> Result<Catalog> {
    Ok(manifest::Manifest::built_in()?.models)
}

pub fn model_ref(provider: &str, id: &str) -> String {
    format!("{provider}/{id}")
}

pub fn model_entry(m: &Model) -> Value {
    json!({
        "id": m.id,
        "name": m.name,
        "reasoning": m.reasoning,
        "input": m.input,
        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
        "contextWindow": m.context_window,
        "maxTokens": m.max_tokens,
    })
}

/// The patch a host merges into its config after a login: the provider
/// with its catalog, aliases, the default model, and the auth profile.
pub fn config_patch(
    catalog: &Catalog,
    provider: &str,
    profile_id: &str,
    mode: &str,
    base_url: &str,
) -> Value {
    let models: Vec<Value> = catalog.models.iter().map(model_entry).collect();
    let aliases: serde_json::Map<String, Value> = catalog
        .models
        .iter()
        .map(|m| (model_ref(provider, &m.id), json!({"alias": m.alias})))
        .collect();
    json!({
        "models": {"providers": {provider: {
            "baseUrl": base_url,
            "api": "anthropic-messages",
            "authHeader": true,
            "models": models,
        }}},
        "agents": {"defaults": {
            "models": aliases,
            "model": {"primary": model_ref(provider, &catalog.default)},
        }},
        "auth": {"profiles": {profile_id: {"provider": provider, "mode": mode}}},
    })
}

/// The patch after an OAuth login.
pub fn oauth_patch(catalog: &Catalog, name: &ProfileName, base_url: &str) -> Value {
    config_patch(catalog, PROVIDER, &name.profile_id(), "oauth", base_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_read_from_plugin_toml() {
        let catalog = load().unwrap();
        assert_eq!(catalog.models.len(), 7);
        let m3 = catalog
            .models
            .iter()
            .find(|m| m.id == "MiniMax-M3")
            .unwrap();
        assert!(m3.reasoning);
        assert_eq!(m3.context_window, 1_000_000);
        assert_eq!(m3.max_tokens, 131_072);
        assert_eq!(m3.input, ["text", "image"]);
        let m21 = catalog
            .models
            .iter()
            .find(|m| m.id == "MiniMax-M2.1")
            .unwrap();
        assert_eq!((m21.context_window, m21.max_tokens), (200_000, 8_192));
        assert_eq!(m21.alias, "minimax-m2.1");
    }

    #[test]
    fn patch_names_provider_models_and_profile() {
        let catalog = load().unwrap();
        let patch = oauth_patch(
            &catalog,
            &ProfileName::default(),
            "https://api.minimax.io/anthropic",
        );
        let provider = &patch["models"]["providers"]["minimax-portal"];
        assert_eq!(provider["api"], "anthropic-messages");
        assert_eq!(provider["authHeader"], true);
        assert_eq!(
            provider["models"].as_array().unwrap().len(),
            catalog.models.len()
        );
        assert_eq!(
            patch["agents"]["defaults"]["model"]["primary"],
            "minimax-portal/MiniMax-M3"
        );
        assert_eq!(
            patch["agents"]["defaults"]["models"]["minimax-portal/MiniMax-M2.1"]["alias"],
            "minimax-m2.1"
        );
        assert_eq!(
            patch["auth"]["profiles"]["minimax-portal:default"]["mode"],
            "oauth"
        );
    }
}
