//! `env`'s quoting: for any value, each shell's quoted word read back by
//! that shell's rules (fuzz/src/lib.rs) is exactly the value; and the
//! refusal of a token that is not a bearer token never quotes it (its
//! text depends on the length alone).
#![no_main]
use libfuzzer_sys::fuzz_target;
use minimax_portal_auth::testing::{Syntax, check_token, quote};
use minimax_portal_auth_fuzz::{read_fish, read_posix, read_powershell};

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    let value = value.as_ref();
    assert_eq!(
        read_posix(&quote(Syntax::Posix, value)).as_deref(),
        Some(value)
    );
    assert_eq!(
        read_fish(&quote(Syntax::Fish, value)).as_deref(),
        Some(value)
    );
    assert_eq!(
        read_powershell(&quote(Syntax::PowerShell, value)).as_deref(),
        Some(value)
    );
    // The refusal depends on the value's length alone: it quotes nothing.
    if let Err(why) = check_token(value) {
        let other = "\u{7f}".repeat(value.chars().count());
        assert_eq!(Err(why), check_token(&other));
    }
});
