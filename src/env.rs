//! Settings the environment makes, read one way: a bad value names its
//! variable. Plain readers with no knowledge of the rest of the crate, so
//! every layer may use them (ARCHITECTURE.md, "Layers and imports").

use crate::error::{Error, Result};
use crate::redact::clean;
use std::time::Duration;

/// A duration in milliseconds from the environment; `default` when unset,
/// unparsable or zero.
pub fn millis(name: &str, default: Duration) -> Duration {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
        .unwrap_or(default)
}

/// A choice made by an environment variable, in any case (`CN`, `File`);
/// None when it is unset or empty; a usage error naming the variable when
/// it is none of the choices.
pub fn choice<T: clap::ValueEnum>(name: &str) -> Result<Option<T>> {
    let value = match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value,
        Ok(_) | Err(std::env::VarError::NotPresent) => return Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(Error::usage(format!("{name} is not UTF-8")));
        }
    };
    T::from_str(value.trim(), true).map(Some).map_err(|_| {
        let choices: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        Error::usage(format!(
            "{name}={} is not one of: {}",
            clean(&value, 40),
            choices.join(", ")
        ))
        .with_hint(format!("set {name} to one of them, or unset it"))
    })
}
