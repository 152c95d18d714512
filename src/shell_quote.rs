//! Lines a shell evaluates to set a variable (`env`), quoted by construction
//! for each shell: whatever the value, the shell reads back exactly it.
//!
//! Each shell's single-quoted string has its own escapes:
//! - POSIX sh (bash, zsh, dash): nothing is special inside `'…'`, so a `'`
//!   ends the string and is written `'\''`;
//! - fish: inside `'…'`, `\'` and `\\` are escapes, so both `\` and `'`
//!   are written with a backslash;
//! - PowerShell: `'` and the typographic quotes U+2018 to U+201B all end a
//!   single-quoted string, and a doubled one stands for itself.
//!
//! `env` also refuses, before printing, values no portal should send
//! (`check_token`, `region::check_plain_url`): quoting is the guarantee,
//! the check is a second wall.

/// The shells `env --shell` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Posix,
    Fish,
    PowerShell,
}

/// The characters PowerShell takes for a single quote.
pub fn is_powershell_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

/// `value` as one single-quoted word of `syntax`.
pub fn quote(syntax: Syntax, value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match syntax {
            Syntax::Posix if c == '\'' => out.push_str(r"'\''"),
            Syntax::Fish if c == '\'' || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            Syntax::PowerShell if is_powershell_quote(c) => {
                out.push(c);
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The line that sets the environment variable `var` (a plain ASCII name)
/// to `value` for the current shell session and the programs it starts.
pub fn export_line(syntax: Syntax, var: &str, value: &str) -> String {
    let quoted = quote(syntax, value);
    match syntax {
        Syntax::Posix => format!("export {var}={quoted}\n"),
        Syntax::Fish => format!("set -gx {var} {quoted}\n"),
        Syntax::PowerShell => format!("$env:{var} = {quoted}\n"),
    }
}

/// RFC 6750's `b64token`: the only characters a bearer token has.
pub fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// Refuses an access token that is not an RFC 6750 bearer token, naming no
/// part of it.
pub fn check_token(token: &str) -> Result<(), String> {
    if is_b64token(token) {
        Ok(())
    } else {
        Err(format!(
            "the stored access token ({} chars) has characters a bearer token never has \
             (RFC 6750 b64token); it is not printed",
            token.chars().count()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_quoting() {
        assert_eq!(quote(Syntax::Posix, "https://x/a"), "'https://x/a'");
        assert_eq!(quote(Syntax::Posix, "it's"), r"'it'\''s'");
        assert_eq!(quote(Syntax::Posix, r"a\b"), r"'a\b'");
    }

    /// The reported exploit: `\'` closes nothing in fish once `\` is escaped.
    #[test]
    fn fish_escapes_backslash_and_quote() {
        assert_eq!(
            quote(Syntax::Fish, r"https://evil.example/anthropic#\';id;#"),
            r"'https://evil.example/anthropic#\\\';id;#'"
        );
        assert_eq!(quote(Syntax::Fish, r"a\\b"), r"'a\\\\b'");
    }

    /// PowerShell is not packaged for Debian, so its rule is checked here:
    /// every character it takes for a quote is doubled, nothing else.
    #[test]
    fn powershell_doubles_every_quote_character() {
        for q in ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'] {
            let value = format!("a{q}b");
            assert_eq!(
                quote(Syntax::PowerShell, &value),
                format!("'a{q}{q}b'"),
                "{q:?}"
            );
        }
        assert_eq!(
            quote(Syntax::PowerShell, "a\u{201C}$x`b"),
            "'a\u{201C}$x`b'"
        );
        // Read back by PowerShell's rule, the quoted form is the value.
        let value = "x'\u{2018}\u{2019}\u{201A}\u{201B}';iex;'";
        let quoted = quote(Syntax::PowerShell, value);
        let inner: Vec<char> = quoted.chars().collect();
        let inner = &inner[1..inner.len() - 1];
        let mut read = String::new();
        let mut i = 0;
        while i < inner.len() {
            if is_powershell_quote(inner[i]) {
                assert!(i + 1 < inner.len() && is_powershell_quote(inner[i + 1]));
                read.push(inner[i + 1]);
                i += 2;
            } else {
                read.push(inner[i]);
                i += 1;
            }
        }
        assert_eq!(read, value);
    }

    #[test]
    fn bearer_tokens() {
        assert!(is_b64token("eyJhbGciOi.J9-_~+/x=="));
        for bad in ["", "=", r"a\';id;#", "a b", "a'b", "a=b", "é"] {
            assert!(!is_b64token(bad), "{bad:?}");
        }
        let e = check_token(r"secret\';id;#").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }
}
