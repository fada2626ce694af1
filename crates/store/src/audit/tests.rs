//! The chain's links, and its upgrades: from unkeyed links, and from
//! free-text details to typed ones.

use super::*;

fn key(byte: u8) -> AuditKey {
    AuditKey::derive(&MasterKey::from_bytes([byte; 32]))
}

fn chain_of(key: &AuditKey, n: i64) -> Vec<AuditEntry> {
    let mut prev = GENESIS_HASH.to_vec();
    (1..=n)
        .map(|seq| {
            let mut entry = AuditEntry {
                chain: "org".into(),
                seq,
                at: 100 + seq,
                actor: "admin".into(),
                action: Recorded::new(AuditAction::PeopleImported),
                subject: "p".into(),
                detail: Recorded::new(AuditDetail::None),
                prev_hash: prev.clone(),
                hash: Vec::new(),
            };
            entry.hash = key.link(&entry.covered());
            prev.clone_from(&entry.hash);
            entry
        })
        .collect()
}

fn verify(key: &AuditKey, entries: &[AuditEntry]) -> Result<(), i64> {
    verify_chain(entries, |covered| key.link(covered)).map_err(|b| b.seq)
}

#[test]
fn an_intact_chain_verifies_and_any_edit_is_found() {
    let key = key(3);
    let chain = chain_of(&key, 4);
    assert_eq!(verify(&key, &chain), Ok(()));

    let mut edited = chain.clone();
    edited[2].action = Recorded::read("nothing.happened".into());
    assert_eq!(verify(&key, &edited), Err(3));

    let mut removed = chain.clone();
    removed.remove(1);
    assert_eq!(verify(&key, &removed), Err(3));

    let mut swapped_fields = chain.clone();
    swapped_fields[0].actor = "adminpeople.imported".into();
    swapped_fields[0].action = Recorded::read(String::new());
    assert_eq!(verify(&key, &swapped_fields), Err(1));

    assert_eq!(
        verify(&AuditKey::derive(&MasterKey::from_bytes([4; 32])), &chain),
        Err(1),
        "links made under one master key do not hold under another"
    );
}

/// A database at version 4 in `dir` holding a trail as version 4
/// wrote it (unkeyed links), `tamper` applied afterwards; its URL.
async fn unkeyed_trail(dir: &std::path::Path, tamper: &str) -> String {
    std::fs::create_dir_all(dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("limen.db").display());
    let old = Store::open_at(&url, MasterKey::from_bytes([5; 32]), 4)
        .await
        .expect("version 4");
    let mut prev = GENESIS_HASH.to_vec();
    for (seq, action) in [
        (1, "org.created"),
        (2, "people.imported"),
        (3, "consent.given"),
    ] {
        let hash = unkeyed_link(&Covered {
            prev_hash: &prev,
            chain: "org",
            seq,
            at: 100 + seq,
            actor: "operator",
            action,
            subject: "s",
            detail: "",
        });
        sqlx::query(
            "INSERT INTO audit_entries (chain, seq, at, actor, action, subject, detail, prev_hash, hash) \
             VALUES ('org', $1, $2, 'operator', $3, 's', '', $4, $5)",
        )
        .bind(seq)
        .bind(100 + seq)
        .bind(action)
        .bind(std::mem::replace(&mut prev, hash.clone()))
        .bind(hash)
        .execute(&old.pool)
        .await
        .expect("an unkeyed entry");
    }
    sqlx::query(tamper)
        .execute(&old.pool)
        .await
        .expect("tamper");
    old.close().await;
    url
}

#[tokio::test]
async fn an_unkeyed_trail_is_checked_then_keyed_on_upgrade() {
    let dir = std::env::temp_dir().join(format!("limen-audit-{}", limen_domain::OrgId::generate()));
    let master = || MasterKey::from_bytes([5; 32]);

    let intact = unkeyed_trail(&dir.join("intact"), "SELECT 1").await;
    Store::open(&intact, master())
        .await
        .expect("upgraded")
        .close()
        .await;
    let store = Store::open(&intact, master()).await.expect("reopened");
    assert_eq!(store.verify_audit(&[]).await.expect("verify"), Ok(3));
    let trail = store.audit_trail("org").await.expect("trail");
    assert_eq!(trail[1].prev_hash, trail[0].hash);
    store.close().await;

    let tampered = unkeyed_trail(
        &dir.join("tampered"),
        "UPDATE audit_entries SET action = 'nothing.happened' WHERE seq = 2",
    )
    .await;
    let refused = Store::open(&tampered, master()).await;
    assert!(
        matches!(&refused, Err(StoreError::AuditTampered(b)) if b.seq == 2),
        "a trail tampered with before the upgrade is not relinked: {:?}",
        refused.err()
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// Entries written before actions and details were typed (free text), or
/// by a newer version (a code this one does not know), then entries
/// written now: the chain verifies over all of them, and each reads back
/// as typed where it can and as its stored text where it cannot.
#[tokio::test]
async fn old_free_text_entries_and_new_typed_ones_verify_in_one_chain() {
    let dir = std::env::temp_dir().join(format!("limen-audit-{}", limen_domain::OrgId::generate()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("limen.db").display());
    let store = Store::open(&url, MasterKey::from_bytes([6; 32]))
        .await
        .expect("store");
    let old = [
        ("consent.given", "statement 1a2b (nl) by web"),
        ("door.painted", "{\"colour\":\"green\"}"),
    ];
    let mut prev = GENESIS_HASH.to_vec();
    for (seq, (action, detail)) in (1..).zip(old) {
        // As the previous version's `append` wrote them.
        let hash = store.audit_key.link(&Covered {
            prev_hash: &prev,
            chain: "org",
            seq,
            at: 100 + seq,
            actor: "employee:p",
            action,
            subject: "p",
            detail,
        });
        sqlx::query(
            "INSERT INTO audit_entries (chain, seq, at, actor, action, subject, detail, prev_hash, hash) \
             VALUES ('org', $1, $2, 'employee:p', $3, 'p', $4, $5, $6)",
        )
        .bind(seq)
        .bind(100 + seq)
        .bind(action)
        .bind(detail)
        .bind(std::mem::replace(&mut prev, hash.clone()))
        .bind(hash)
        .execute(&store.pool)
        .await
        .expect("an old entry");
    }
    let consent = AuditDetail::Consent {
        statement: "3c4d".into(),
        language: limen_domain::Language::Dutch,
        method: "web".into(),
    };
    for (action, detail) in [
        (AuditAction::ConsentGiven, consent.clone()),
        (AuditAction::ConsentWithdrawn, AuditDetail::None),
    ] {
        store
            .audit(&AuditRecord {
                chain: "org".into(),
                actor: "employee:p".into(),
                action,
                subject: "p".into(),
                detail,
            })
            .await
            .expect("a new entry");
    }
    assert_eq!(store.verify_audit(&[]).await.expect("verify"), Ok(4));
    assert_eq!(
        store.verify_audit_chain("org").await.expect("verify"),
        Ok(4)
    );

    let trail = store.audit_trail("org").await.expect("trail");
    let read: Vec<_> = trail
        .iter()
        .map(|e| (e.action.value().copied(), e.detail.value().cloned()))
        .collect();
    assert_eq!(
        read,
        [
            (Some(AuditAction::ConsentGiven), None),
            (None, None),
            (Some(AuditAction::ConsentGiven), Some(consent)),
            (Some(AuditAction::ConsentWithdrawn), Some(AuditDetail::None)),
        ]
    );
    assert_eq!(trail[0].detail.to_string(), "statement 1a2b (nl) by web");
    assert_eq!(trail[1].action.to_string(), "door.painted");
    assert_eq!(trail[2].detail.to_string(), "statement 3c4d (nl) by web");
    store.close().await;
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
