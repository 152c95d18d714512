//! What the fuzz targets share: the planted secret, and reference readers
//! of each shell's single-quoted words (the real shells are the ground
//! truth, in tests/it/shell_env.rs; these make the property fast enough to
//! fuzz).

/// A token-like secret planted in inputs wherever they hold `$T`.
pub const MARKER: &str = "tokMARKER7f3a9c2e5b1d4086";
/// A secret the process already holds (its stored refresh token), planted
/// wherever inputs hold `$R`: a portal may echo it anywhere.
pub const HELD: &str = "refHELD0a1b2c3d4e5f6789ab";

/// The input with `$T` and `$R` replaced by the secrets.
pub fn plant(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 32);
    let mut i = 0;
    while i < data.len() {
        match (data[i], data.get(i + 1)) {
            (b'$', Some(b'T')) => {
                out.extend_from_slice(MARKER.as_bytes());
                i += 2;
            }
            (b'$', Some(b'R')) => {
                out.extend_from_slice(HELD.as_bytes());
                i += 2;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// A new process that holds `HELD` (as `redact.rs` would after loading the
/// profile).
pub fn start() {
    minimax_portal_auth::testing::new_process();
    minimax_portal_auth::testing::register(HELD);
}

/// Panics when `text` (what a user could be shown) carries a secret.
#[track_caller]
pub fn assert_no_secret(text: &str, marker_is_secret: bool) {
    assert!(!text.contains(HELD), "the held secret leaked: {text:?}");
    if marker_is_secret {
        assert!(!text.contains(MARKER), "a planted secret leaked: {text:?}");
    }
}

/// Whether `body` carries the marker as the whole value of a `…_token` key
/// (as a portal answer carries tokens), in JSON text that may be broken.
pub fn marker_is_a_token_value(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    let mut rest: &str = &text;
    while let Some(at) = rest.find("_token\"") {
        rest = &rest[at + "_token\"".len()..];
        let value = rest.trim_start();
        if let Some(value) = value.strip_prefix(':')
            && let Some(value) = value.trim_start().strip_prefix('"')
            && value
                .strip_prefix(MARKER)
                .is_some_and(|r| r.starts_with('"'))
        {
            return true;
        }
    }
    false
}

/// Whether a request target or an address carries the marker as the whole
/// value of its `code` parameter.
pub fn marker_is_the_code(text: &str) -> bool {
    let Some((_, query)) = text.split_once('?') else {
        return false;
    };
    let query = query
        .split([' ', '#', '\r', '\n'])
        .next()
        .unwrap_or_default();
    query
        .split('&')
        .any(|pair| pair == format!("code={MARKER}"))
}

/// Reads one POSIX sh word made only of `'…'` pieces and `\'`; None when
/// the word holds anything a shell would interpret.
pub fn read_posix(word: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    c => out.push(c),
                }
            },
            '\\' => out.push(chars.next().filter(|c| *c == '\'')?),
            _ => return None,
        }
    }
    Some(out)
}

/// Reads one fish single-quoted word: inside, `\\` and `\'` are escapes,
/// any other backslash is itself.
pub fn read_fish(word: &str) -> Option<String> {
    let mut chars = word.chars().peekable();
    if chars.next()? != '\'' {
        return None;
    }
    let mut out = String::new();
    loop {
        match chars.next()? {
            '\'' => break,
            '\\' => match chars.peek() {
                Some('\\') | Some('\'') => out.push(chars.next()?),
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    chars.next().is_none().then_some(out)
}

/// Reads one PowerShell single-quoted word: any of `'` and U+2018 to
/// U+201B ends it, unless another follows, which then stands for itself.
pub fn read_powershell(word: &str) -> Option<String> {
    use minimax_portal_auth::testing::is_powershell_quote as quote;
    let mut chars = word.chars().peekable();
    if !quote(chars.next()?) {
        return None;
    }
    let mut out = String::new();
    loop {
        let c = chars.next()?;
        if quote(c) {
            match chars.peek() {
                Some(&next) if quote(next) => {
                    out.push(next);
                    chars.next();
                }
                _ => break,
            }
        } else {
            out.push(c);
        }
    }
    chars.next().is_none().then_some(out)
}
