//! The store facade over an in-memory keyring with faults, and the real
//! file store in a temporary folder.

use super::memory::TestStores;
use super::*;
use crate::profile::sample;
use std::sync::atomic::Ordering;

fn setup(mode: StoreMode) -> TestStores {
    TestStores::open(mode)
}

/// A fresh handle on the same folder and keyring, as the next process has.
fn next_run(s: &TestStores, mode: StoreMode) -> Stores {
    s.reopen(mode)
}

fn profile_bytes(refresh: &str, updated_at: i64) -> Vec<u8> {
    let mut p = sample("default", 8, 0);
    p.refresh = oauth2::RefreshToken::new(refresh.to_string());
    p.updated_at = updated_at;
    p.to_json().unwrap()
}

fn name() -> ProfileName {
    ProfileName::default()
}

/// Saves `r-old`, then `r-new` through a keyring that takes the probe
/// write of `prepare_save` and then stops answering.
fn save_as_the_keyring_stalls(s: &TestStores) -> Saved {
    s.stores
        .lock(&name())
        .unwrap()
        .save(None, &profile_bytes("r-old", 1), 1)
        .unwrap();
    let current = s.stores.read(&name()).unwrap().unwrap();
    *s.keyring.writes_left.lock().unwrap() = Some(1);
    let held = s.stores.lock(&name()).unwrap();
    let prepared = held.prepare_save(Some(&current)).unwrap();
    held.commit(prepared, &profile_bytes("r-new", 2), 2)
        .unwrap()
}

/// `auto` stores whose keyring holds the profile (as the index says) and
/// then stops answering.
fn in_a_keyring_gone_down() -> TestStores {
    let s = setup(StoreMode::Auto);
    s.stores
        .lock(&name())
        .unwrap()
        .save(None, &profile_bytes("r-1", 5), 5)
        .unwrap();
    s.keyring.down.store(true, Ordering::SeqCst);
    s
}

fn refresh_of(stored: &Stored) -> String {
    Profile::from_json(&stored.bytes)
        .unwrap()
        .refresh
        .secret()
        .clone()
}

#[test]
fn auto_saves_to_the_keyring_and_reads_it_back() {
    let s = setup(StoreMode::Auto);
    let saved = s
        .stores
        .lock(&name())
        .unwrap()
        .save(None, &profile_bytes("r-1", 1), 1)
        .unwrap();
    assert_eq!(saved.store, StoreKind::Keyring);
    let read = s.stores.read(&name()).unwrap().unwrap();
    assert_eq!(read.store, StoreKind::Keyring);
    assert_eq!(s.stores.index.entries()[&name()], 1);
    assert!(
        !s.stores
            .path_of(StoreKind::Recovery, &name())
            .unwrap()
            .exists()
    );
}

#[test]
fn a_keyring_that_stalls_at_the_save_leaves_no_stale_winner() {
    let s = setup(StoreMode::Auto);
    let saved = save_as_the_keyring_stalls(&s);
    assert_eq!(saved.store, StoreKind::File);
    assert!(saved.warning.is_some());

    // The keyring answers again: the newer file copy wins, the stale
    // keyring copy is removed.
    *s.keyring.writes_left.lock().unwrap() = None;
    let later = next_run(&s, StoreMode::Auto);
    let read = later.read(&name()).unwrap().unwrap();
    assert_eq!(refresh_of(&read), "r-new");
    assert_eq!(read.store, StoreKind::File);
    assert!(s.keyring.get("default").is_none(), "the stale copy is gone");
    assert!(!later.index.entries().contains_key(&name()));
}

#[test]
fn keyring_mode_keeps_new_tokens_in_the_recovery_file_then_moves_them() {
    let s = setup(StoreMode::Keyring);
    let saved = save_as_the_keyring_stalls(&s);
    assert_eq!(saved.store, StoreKind::Recovery);
    assert!(saved.warning.unwrap().to_string().contains("recovery file"));
    let recovery = s.stores.path_of(StoreKind::Recovery, &name()).unwrap();
    assert!(recovery.exists());

    // Still down: the recovery copy is the newest and is used.
    let down = next_run(&s, StoreMode::Keyring);
    let read = down.read(&name()).unwrap().unwrap();
    assert_eq!(refresh_of(&read), "r-new");
    assert_eq!(read.store, StoreKind::Recovery);

    // Back: the next run moves it into the keyring.
    *s.keyring.writes_left.lock().unwrap() = None;
    let up = next_run(&s, StoreMode::Keyring);
    let read = up.read(&name()).unwrap().unwrap();
    assert_eq!(read.store, StoreKind::Keyring);
    assert_eq!(refresh_of(&read), "r-new");
    assert!(!recovery.exists());
}

#[test]
fn a_folder_that_cannot_take_the_file_fails_before_anything_is_spent() {
    let s = setup(StoreMode::File);
    std::fs::write(s.home.path().join("profiles"), b"not a folder").unwrap();
    let held = s.stores.lock(&name()).unwrap();
    assert!(held.prepare_save(None).is_err());
}

#[test]
fn auto_with_the_keyring_down_is_exit_5_when_the_index_says_it_is_in_there() {
    let s = in_a_keyring_gone_down();
    let err = next_run(&s, StoreMode::Auto).read(&name()).unwrap_err();
    assert_eq!(err.class, Class::StoreUnavailable);
    // Another profile that was never in the keyring: simply absent.
    let other = ProfileName::parse("other").unwrap();
    assert!(
        next_run(&s, StoreMode::Auto)
            .read(&other)
            .unwrap()
            .is_none()
    );
    // A newer plain copy (saved during an outage) is used instead.
    let file = FileStore::new(StoreKind::File, s.home.path().join("profiles"), "");
    file.write(&name(), &profile_bytes("r-2", 6)).unwrap();
    let read = next_run(&s, StoreMode::Auto)
        .read(&name())
        .unwrap()
        .unwrap();
    assert_eq!(refresh_of(&read), "r-2");
}

#[test]
fn logout_with_the_keyring_down_keeps_the_index_entry() {
    let s = in_a_keyring_gone_down();
    let stores = next_run(&s, StoreMode::Auto);
    let err = stores.lock(&name()).unwrap().delete().unwrap_err();
    assert_eq!(err.class, Class::StoreUnavailable);
    assert!(stores.index.entries().contains_key(&name()));
    assert!(s.keyring.get("default").is_some());
}

#[test]
fn a_complete_leftover_newer_than_everything_is_adopted() {
    let s = setup(StoreMode::File);
    s.stores
        .lock(&name())
        .unwrap()
        .save(None, &profile_bytes("r-old", 1), 1)
        .unwrap();
    // A crash between writing the new content and the rename.
    let target = s.stores.path_of(StoreKind::File, &name()).unwrap();
    let pending = crate::safe_fs::PreparedFile::prepare(&target, 10).unwrap();
    let leftover = crate::safe_fs::leftover_temp_files(&target).pop().unwrap();
    std::fs::write(&leftover, profile_bytes("r-new", 2)).unwrap();
    std::mem::forget(pending);
    // And a placeholder left by a crash before any answer came.
    let empty = crate::safe_fs::PreparedFile::prepare(&target, 10).unwrap();
    std::mem::forget(empty);

    let held = s.stores.lock(&name()).unwrap();
    held.sweep(true);
    let read = held.read().unwrap().unwrap();
    assert_eq!(refresh_of(&read), "r-new");
    assert_eq!(read.store, StoreKind::File);
    assert!(crate::safe_fs::leftover_temp_files(&target).is_empty());
}

#[test]
fn names_include_the_index_the_files_and_recovery() {
    let s = setup(StoreMode::Auto);
    let work = ProfileName::parse("work").unwrap();
    s.stores
        .lock(&work)
        .unwrap()
        .save(None, &profile_bytes("r", 1), 1)
        .unwrap();
    let names = s.stores.names().unwrap();
    assert!(names.contains(&work) && names.contains(&name()));
}
