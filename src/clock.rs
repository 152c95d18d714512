//! The time: now, as epoch milliseconds, and spans and instants as people
//! read them. At the bottom (ARCHITECTURE.md, "Layers and imports"), so the
//! session and the stores can word a message without reaching up to `ui`.

/// Now, in epoch milliseconds (the unit of every stored instant).
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// The one way durations are written: "45 s", "59 min", "4 h 05 min",
/// and past two days "4 d 15 h".
pub fn duration(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    if secs < 60 {
        return format!("{secs} s");
    }
    let minutes = secs / 60;
    if minutes < 60 {
        return format!("{minutes} min");
    }
    let hours = minutes / 60;
    if hours < 48 {
        return format!("{hours} h {:02} min", minutes % 60);
    }
    format!("{} d {:02} h", hours / 24, hours % 24)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(duration(45_900), "45 s");
        assert_eq!(duration(59 * 60_000 + 59_000), "59 min");
        assert_eq!(duration(4 * 3_600_000 + 5 * 60_000), "4 h 05 min");
        assert_eq!(duration(-5), "0 s");
        assert_eq!(duration((4 * 24 + 15) * 3_600_000), "4 d 15 h");
        assert!(duration(i64::MAX).ends_with(" h"));
    }
}
