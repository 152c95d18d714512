//! Talking to MiniMax's portal. Knows nothing of stores.

pub mod answer;
pub mod browser;
pub mod device;
pub mod http;
pub mod refresh;
pub mod usage;
pub mod wire;
