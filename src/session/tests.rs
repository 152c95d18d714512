//! The session against a scripted portal and an in-memory keyring: every
//! class of answer, the lock re-read, save before spend, the recovery file.

use super::*;
use crate::profile::Tokens;
use crate::store::StoreMode;
use crate::store::memory::TestStores;
use oauth2::{AccessToken, RefreshToken};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A portal that answers refreshes from a script, counts them, and keeps
/// where and as which client each was sent.
#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<TokenAnswer>>,
    calls: AtomicUsize,
    sent: Mutex<Vec<(String, String)>>,
}

impl Script {
    fn with(answers: Vec<TokenAnswer>) -> Script {
        Script {
            answers: Mutex::new(answers.into()),
            ..Script::default()
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    /// (token endpoint, client id) of each refresh, in order.
    fn sent(&self) -> Vec<(String, String)> {
        self.sent.lock().unwrap().clone()
    }
}

impl Refresher for Script {
    fn refresh(
        &self,
        endpoint: &crate::profile::ProfileUrl,
        client_id: &str,
        _token: &oauth2::RefreshToken,
    ) -> TokenAnswer {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.sent
            .lock()
            .unwrap()
            .push((endpoint.to_string(), client_id.to_string()));
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .expect("the script ran out of answers")
    }
}

fn tokens(access: &str, refresh: Option<&str>, lives_ms: i64) -> TokenAnswer {
    TokenAnswer::Tokens(Tokens {
        access: Some(AccessToken::new(access.to_string())),
        refresh: refresh.map(|r| RefreshToken::new(r.to_string())),
        expires_ms: Some(now_ms() + lives_ms),
        resource_url: None,
        notification: None,
        warnings: Vec::new(),
    })
}

fn transient() -> TokenAnswer {
    TokenAnswer::Transient {
        reason: "HTTP 503".into(),
        retry_after: Some(Duration::from_secs(7)),
    }
}

/// A keyring holding profile `default`, whose access token has
/// `left_ms` to live.
fn setup(mode: StoreMode, left_ms: i64) -> TestStores {
    let s = TestStores::open(mode);
    let mut profile = crate::profile::sample("default", 0, 0);
    profile.access = AccessToken::new("acc-old".into());
    profile.refresh = RefreshToken::new("ref-old".into());
    profile.updated_at = now_ms() - 3_600_000;
    profile.expires = now_ms() + left_ms;
    s.stores
        .lock(&name())
        .unwrap()
        .save(None, &profile.to_json().unwrap(), profile.updated_at)
        .unwrap();
    s
}

fn name() -> ProfileName {
    ProfileName::default()
}

fn stored(s: &TestStores) -> Profile {
    Profile::from_json(&s.keyring.get("default").unwrap()).unwrap()
}

const HOOK: Want = Want {
    margin: Duration::from_secs(300),
    force: false,
    on_failure: OnFailure::Fail,
};

const USE: Want = Want {
    margin: Duration::from_secs(300),
    force: false,
    on_failure: OnFailure::UseCurrent,
};

#[test]
fn nothing_due_asks_nobody() {
    let s = setup(StoreMode::Keyring, 3_600_000);
    let portal = Script::default();
    let fresh = ensure_fresh(&s.stores, &portal, &name(), &HOOK).unwrap();
    assert_eq!(fresh.outcome, Outcome::StillValid);
    assert_eq!(portal.calls(), 0);
}

#[test]
fn each_class_of_answer_and_what_it_does_to_the_profile() {
    // (answer, exit code or 0, does the stored profile change, needs_login after)
    let rows: Vec<(TokenAnswer, i32, bool, bool)> = vec![
        (
            tokens("acc-new", Some("ref-new"), 3_600_000),
            0,
            true,
            false,
        ),
        (tokens("acc-new", None, 3_600_000), 0, true, false),
        (
            TokenAnswer::Rejected("refresh token already used".into()),
            3,
            true,
            true,
        ),
        (transient(), 4, false, false),
        (TokenAnswer::SlowDown { retry_after: None }, 4, false, false),
        (TokenAnswer::Pending, 4, false, false),
        (
            TokenAnswer::Failed("invalid_client".into()),
            1,
            false,
            false,
        ),
    ];
    for (answer, code, changes, marked) in rows {
        let label = format!("{answer:?}");
        let s = setup(StoreMode::Keyring, 60_000);
        let before = s.keyring.get("default").unwrap();
        let portal = Script::with(vec![answer]);
        let got = ensure_fresh(&s.stores, &portal, &name(), &HOOK);
        let exit = got.as_ref().map_or_else(|e| e.class.exit_code(), |_| 0);
        assert_eq!(exit, code, "{label}: {got:?}");
        assert_eq!(
            s.keyring.get("default").unwrap() != before,
            changes,
            "{label}"
        );
        assert_eq!(stored(&s).needs_login, marked, "{label}");
        assert_eq!(portal.calls(), 1);
    }
}

#[test]
fn the_refresh_goes_to_the_profiles_endpoint_as_the_profiles_client() {
    let s = setup(StoreMode::Keyring, 0);
    // A profile signed in at another server, as another client.
    let mut profile = stored(&s);
    profile.token_endpoint = "http://127.0.0.1:9/oauth2/token".into();
    profile.client_id = "interop-client".into();
    s.keyring.put("default", &profile.to_json().unwrap());
    let portal = Script::with(vec![tokens("acc-1", Some("ref-1"), 3_600_000)]);
    ensure_fresh(&s.stores, &portal, &name(), &HOOK).unwrap();
    assert_eq!(
        portal.sent(),
        vec![(
            "http://127.0.0.1:9/oauth2/token".to_string(),
            "interop-client".to_string()
        )]
    );
    assert_eq!(
        stored(&s).client_id,
        "interop-client",
        "kept across refresh"
    );
}

#[test]
fn a_rotation_replaces_the_refresh_token_and_no_rotation_keeps_it() {
    let s = setup(StoreMode::Keyring, 0);
    let portal = Script::with(vec![
        tokens("acc-1", Some("ref-1"), 3_600_000),
        tokens("acc-2", None, 3_600_000),
    ]);
    ensure_fresh(&s.stores, &portal, &name(), &HOOK).unwrap();
    assert_eq!(stored(&s).refresh.secret(), "ref-1");
    let forced = Want {
        force: true,
        ..HOOK
    };
    ensure_fresh(&s.stores, &portal, &name(), &forced).unwrap();
    assert_eq!(stored(&s).refresh.secret(), "ref-1");
    assert_eq!(stored(&s).access.secret(), "acc-2");
}

#[test]
fn the_retry_after_reaches_the_error() {
    let s = setup(StoreMode::Keyring, 0);
    let err =
        ensure_fresh(&s.stores, &Script::with(vec![transient()]), &name(), &HOOK).unwrap_err();
    assert_eq!(err.retry_after, Some(Duration::from_secs(7)));
}

#[test]
fn a_valid_token_is_still_used_when_the_refresh_cannot_happen() {
    for answer in [transient(), TokenAnswer::Failed("invalid_client".into())] {
        let s = setup(StoreMode::Keyring, 120_000);
        let fresh = ensure_fresh(&s.stores, &Script::with(vec![answer]), &name(), &USE).unwrap();
        assert_eq!(fresh.outcome, Outcome::NotRefreshed);
        assert_eq!(fresh.profile.access.secret(), "acc-old");
        assert_eq!(fresh.warnings.len(), 1);
        // Given to the stores too, for the command line to say.
        assert_eq!(s.stores.new_warnings(), fresh.warnings);
        assert!(s.stores.new_warnings().is_empty(), "handed out once");
    }
}

#[test]
fn a_rejected_profile_serves_its_access_token_until_it_expires() {
    let s = setup(StoreMode::Keyring, 120_000);
    let portal = Script::with(vec![TokenAnswer::Rejected("revoked".into())]);
    let fresh = ensure_fresh(&s.stores, &portal, &name(), &USE).unwrap();
    assert_eq!(fresh.profile.access.secret(), "acc-old");
    assert!(stored(&s).needs_login);
    // Marked: the portal is not asked again, the hook is told, `token` serves.
    let err = ensure_fresh(&s.stores, &portal, &name(), &HOOK).unwrap_err();
    assert_eq!(err.class.exit_code(), 3);
    assert!(err.fix.unwrap().contains("login --region global"));
    assert!(ensure_fresh(&s.stores, &portal, &name(), &USE).is_ok());
    assert_eq!(portal.calls(), 1);
}

#[test]
fn save_before_spend_a_keyring_that_does_not_answer_stops_the_refresh() {
    let s = setup(StoreMode::Keyring, 0);
    // Reads still answer; the write that proves the save does not.
    *s.keyring.writes_left.lock().unwrap() = Some(0);
    let portal = Script::default();
    let err = ensure_fresh(&s.stores, &portal, &name(), &HOOK).unwrap_err();
    assert_eq!(err.class.exit_code(), 5);
    assert_eq!(portal.calls(), 0, "the refresh token was not spent");
}

#[test]
fn a_keyring_that_dies_after_the_answer_keeps_the_tokens_in_recovery() {
    let s = setup(StoreMode::Keyring, 0);
    *s.keyring.writes_left.lock().unwrap() = Some(1);
    let portal = Script::with(vec![tokens("acc-new", Some("ref-new"), 3_600_000)]);
    let fresh = ensure_fresh(&s.stores, &portal, &name(), &HOOK).unwrap();
    assert_eq!(fresh.store, StoreKind::Recovery);
    assert!(
        fresh
            .warnings
            .iter()
            .any(|w| w.to_string().contains("recovery file"))
    );
    // `refresh --json` rows carry them as they were; stderr names the profile.
    let id = name().profile_id();
    assert!(
        fresh
            .warnings
            .iter()
            .all(|w| !w.to_string().starts_with(&id))
    );
    let said = s.stores.new_warnings();
    assert!(!said.is_empty());
    assert!(said.iter().all(|w| w.to_string().starts_with(&id)));
    // The keyring is back: the next run moves the tokens in and uses them.
    *s.keyring.writes_left.lock().unwrap() = None;
    let fresh = ensure_fresh(&s.stores, &Script::default(), &name(), &HOOK).unwrap();
    assert_eq!(fresh.profile.refresh.secret(), "ref-new");
    assert_eq!(fresh.store, StoreKind::Keyring);
    assert_eq!(stored(&s).refresh.secret(), "ref-new");
}

#[test]
fn a_token_refreshed_elsewhere_while_waiting_is_used() {
    let s = Arc::new(setup(StoreMode::Keyring, 0));
    let held = s.stores.lock(&name()).unwrap();
    let waiter = {
        let s = Arc::clone(&s);
        std::thread::spawn(move || {
            let portal = Script::default();
            let fresh = ensure_fresh(&s.stores, &portal, &name(), &HOOK);
            (
                fresh.map(|f| (f.outcome, f.profile.access.secret().clone())),
                portal.calls(),
            )
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    // The other process's refresh: a token shorter-lived than the margin.
    let mut other = stored(&s);
    other.access = AccessToken::new("acc-elsewhere".into());
    other.refresh = RefreshToken::new("ref-elsewhere".into());
    other.expires = now_ms() + 60_000;
    other.updated_at = now_ms();
    s.keyring.put("default", &other.to_json().unwrap());
    drop(held);
    let (fresh, calls) = waiter.join().unwrap();
    let (outcome, access) = fresh.unwrap();
    assert_eq!(outcome, Outcome::RefreshedElsewhere);
    assert_eq!(access, "acc-elsewhere");
    assert_eq!(calls, 0);
}

#[test]
fn short_lived_tokens_are_not_refreshed_on_every_call() {
    let s = setup(StoreMode::Keyring, 0);
    // The portal's tokens live 60 s, less than the 5 min margin.
    let portal = Script::with(vec![tokens("acc-1", Some("ref-1"), 60_000)]);
    for _ in 0..10 {
        ensure_fresh(&s.stores, &portal, &name(), &USE).unwrap();
    }
    assert_eq!(portal.calls(), 1);
}

#[test]
fn an_already_expired_token_is_never_handed_out() {
    let s = setup(StoreMode::Keyring, 0);
    let portal = Script::with(vec![tokens("acc-past", Some("ref-new"), -60_000)]);
    let err = ensure_fresh(&s.stores, &portal, &name(), &USE).unwrap_err();
    assert_eq!(err.class.exit_code(), 1);
    assert!(err.message.contains("already expired"));
    assert_eq!(
        stored(&s).refresh.secret(),
        "ref-new",
        "the rotation is kept"
    );
}

#[test]
fn odd_expiry_falls_back_to_a_short_lifetime() {
    let s = setup(StoreMode::Keyring, 0);
    let answer = TokenAnswer::Tokens(Tokens {
        access: Some(AccessToken::new("acc-1".into())),
        refresh: Some(RefreshToken::new("ref-1".into())),
        expires_ms: None,
        resource_url: None,
        notification: None,
        warnings: vec!["the access token's expired_in is not an integer".into()],
    });
    let fresh = ensure_fresh(&s.stores, &Script::with(vec![answer]), &name(), &HOOK).unwrap();
    let left = fresh.profile.expires_in_ms(now_ms());
    assert!((540_000..=600_000).contains(&left), "{left}");
    assert_eq!(fresh.warnings.len(), 2);
}
