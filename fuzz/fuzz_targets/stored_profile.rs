//! A stored profile, as JSON or as the keyring's zlib-compressed JSON (the
//! first byte chooses): never a panic, and no value of it in an error
//! (a token may sit in any field of a damaged profile).
#![no_main]
use flate2::{Compress, Compression, FlushCompress};
use libfuzzer_sys::fuzz_target;
use minimax_portal_auth_fuzz::{assert_no_secret, plant, start};
use std::cell::RefCell;

thread_local! {
    // One compressor for every run: a new one per run costs more than the
    // parse under test.
    static ZLIB: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), true));
}

fn zlib(data: &[u8]) -> Vec<u8> {
    ZLIB.with(|z| {
        let mut z = z.borrow_mut();
        z.reset();
        let mut out = Vec::with_capacity(data.len() + 64);
        let _ = z.compress_vec(data, &mut out, FlushCompress::Finish);
        out
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    start();
    let json = plant(rest);
    let bytes = if mode & 1 == 1 { zlib(&json) } else { json };
    let text = minimax_portal_auth::testing::stored_profile(&bytes);
    assert_no_secret(&text, true);
});
