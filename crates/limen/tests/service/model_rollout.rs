//! Issue 10: rolling out a new model version on a live installation. People
//! enrolled under the old version keep passing during the transition, are
//! asked by e-mail to renew, renew through the webcam page, and those who
//! did not lose their old vectors (and only those) when it ends.

use std::process::Output;
use std::time::{Duration, Instant};

use limen_domain::{ModelVersion, now};
use limen_store::AuditRecord;
use serde_json::{Value, json};

use crate::browser::{browser_available, run_in_chromium};
use crate::support::{
    Backend, SeededDatabase, Server, SmtpSink, block_on, create_device, create_entrance, decision,
    enrol_with, fixture, links, mail_part, onboard, send_frame, status_of,
};

const OLD: &str = "dlib-resnet-v1-mirrored";
const NEW: &str = "omz-reid-0095";
const ANDRE_ENROLMENT: [&str; 3] = [
    "Andre_Agassi_0005.jpg",
    "Andre_Agassi_0016.jpg",
    "Andre_Agassi_0027.jpg",
];
const GUL_ENROLMENT: [&str; 2] = ["Abdullah_Gul_0001.jpg", "Abdullah_Gul_0002.jpg"];

fn succeeded(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn decide(server: &Server, device: &str, photo: &str) -> Value {
    let reply = send_frame(server, device, &fixture(photo));
    decision(&reply);
    reply.json()
}

fn acs_of(answer: &Value) -> Option<&str> {
    (answer["decision"] == "matched").then(|| answer["acs_id"].as_str().expect("acs id"))
}

/// Renews `email`'s face in Chromium, from the renewal e-mail's link
/// through login, the account page and the webcam; through the API when
/// the browser is missing outside CI.
fn renew_in_browser(server: &Server, session: &str, email: &str, link: &str) {
    if !browser_available() {
        enrol_with(server, session, &ANDRE_ENROLMENT);
        return;
    }
    run_in_chromium(
        server,
        "renew.mjs",
        &ANDRE_ENROLMENT,
        "renewal",
        &[("RENEWAL_LINK", link), ("EMAIL", email)],
    );
}

#[test]
fn a_new_model_is_rolled_out_without_locking_anyone_out() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    // The installation starts on the old version (nobody holds vectors yet,
    // so there is no transition).
    let out = succeeded(server.admin(&["model", "activate", OLD]));
    assert!(out.contains("no transition"), "{out}");
    let (_, admin) = server.create_org("Acme");
    let door = create_entrance(&server, &admin, "Front", json!({ "type": "osdp" }));
    let (_, device) = create_device(&server, &admin, &door);
    let andre = onboard(&server, &smtp, &admin, "andre@acme.test", "CARD-A", 1);
    enrol_with(&server, &andre.session, &ANDRE_ENROLMENT);
    let gul = onboard(&server, &smtp, &admin, "gul@acme.test", "CARD-G", 2);
    enrol_with(&server, &gul.session, &GUL_ENROLMENT);
    assert_eq!(
        acs_of(&decide(&server, &device, "Andre_Agassi_0002.jpg")),
        Some("CARD-A")
    );

    let list = succeeded(server.admin(&["model", "list"]));
    assert!(
        list.contains(&format!(
            "{OLD} (128 numbers per vector): active; installed"
        )),
        "{list}"
    );
    assert!(
        list.contains(&format!(
            "{NEW} (256 numbers per vector): not in use; installed"
        )),
        "{list}"
    );
    assert!(
        list.contains("2 people, 4 vectors") || list.contains("2 people, 5 vectors"),
        "{list}"
    );

    // Activate the new version with a transition.
    let out = succeeded(server.admin(&[
        "model",
        "activate",
        NEW,
        "--transition",
        "1h",
        "--remind",
        "30m",
    ]));
    assert!(out.contains(&format!("{OLD} stays matched")), "{out}");
    let refused = server.admin(&["model", "activate", OLD]);
    assert!(
        !refused.status.success(),
        "a second transition is refused while one lasts"
    );
    let view = server.get("/api/v1/model", Some(&admin)).json();
    assert_eq!(view["active"], NEW, "{view}");
    assert_eq!(view["transition"]["retiring"], OLD, "{view}");
    assert_eq!(view["people"]["pending"], 2, "{view}");
    assert_eq!(
        status_of(&server, &admin, &andre.person_id).as_deref(),
        Some("renewal_needed")
    );

    // Nobody is locked out: both still pass on their old vectors.
    assert_eq!(
        acs_of(&decide(&server, &device, "Andre_Agassi_0002.jpg")),
        Some("CARD-A")
    );
    assert_eq!(
        acs_of(&decide(&server, &device, "Abdullah_Gul_0011.jpg")),
        Some("CARD-G")
    );

    // Each is asked to renew, once, by e-mail.
    let requests: Vec<String> = (3..=4).map(|n| smtp.message(n)).collect();
    let andre_request = requests
        .iter()
        .find(|m| m.contains("andre@acme.test"))
        .expect("Andre's renewal request");
    assert!(
        requests.iter().any(|m| m.contains("gul@acme.test")),
        "Gül's renewal request"
    );
    let text = mail_part(andre_request, "text/plain");
    assert!(text.contains("renew"), "{text}");
    let link = links(&text)
        .into_iter()
        .find(|l| l.ends_with("/login"))
        .expect("a link to sign in");

    // Andre renews in the browser; his set is replaced by new vectors.
    renew_in_browser(&server, &andre.session, &andre.email, &link);
    assert_eq!(
        status_of(&server, &admin, &andre.person_id).as_deref(),
        Some("enrolled")
    );
    let face = server.get("/api/v1/me", Some(&andre.session)).json();
    assert_eq!(face["face"]["model_version"], NEW, "{face}");
    let view = server.get("/api/v1/model", Some(&admin)).json();
    assert_eq!(
        (
            view["people"]["renewed"].as_u64(),
            view["people"]["pending"].as_u64()
        ),
        (Some(1), Some(1)),
        "{view}"
    );
    assert_eq!(
        acs_of(&decide(&server, &device, "Andre_Agassi_0003.jpg")),
        Some("CARD-A")
    );

    // The transition ends: Gül's old vectors go, Andre keeps passing.
    let out = succeeded(server.admin(&["model", "end-transition"]));
    assert!(out.contains("1 people need to enrol again"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while acs_of(&decide(&server, &device, "Abdullah_Gul_0011.jpg")).is_some() {
        assert!(Instant::now() < deadline, "the retired vectors still match");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        status_of(&server, &admin, &gul.person_id).as_deref(),
        Some("renewal_needed")
    );
    let consent = server.get("/api/v1/me", Some(&gul.session)).json();
    assert!(
        consent["consent"].is_object(),
        "consent is untouched: {consent}"
    );
    assert_eq!(
        acs_of(&decide(&server, &device, "Andre_Agassi_0029.jpg")),
        Some("CARD-A")
    );
    let view = server.get("/api/v1/model", Some(&admin)).json();
    assert!(view["transition"].is_null(), "{view}");
    assert_eq!(view["people"]["expired"], 1, "{view}");

    // Both flows are in the trail, and the trail holds.
    let audit = server.get("/api/v1/audit", Some(&admin)).body;
    for action in ["renewal.requested", "vector.retired", "vector.enrolled"] {
        assert!(audit.contains(action), "{action} missing: {audit}");
    }
    succeeded(server.admin(&["audit", "verify"]));
    // And in the person's export: the requests sent to them.
    let export = server.get("/api/v1/me/export", Some(&gul.session)).json();
    assert_eq!(
        export["renewal_requests"][0]["model_version"], NEW,
        "{export}"
    );
}

/// Killed with SIGKILL while it deletes a transition's old vectors, the
/// operator's command leaves every person either untouched or fully
/// retired, never half way; run again, it finishes the job.
#[test]
fn a_killed_transition_end_leaves_nobody_half_retired() {
    let people = 1500;
    let vector = limen_domain::FaceVector::new(vec![0.088; 128]).expect("vector");
    let seeded = SeededDatabase::new(OLD, people, |_| vec![vector.clone(), vector.clone()]);
    block_on(async {
        let store = seeded.open().await;
        let entry = AuditRecord {
            chain: limen_store::OPERATOR_CHAIN.to_owned(),
            actor: "test".to_owned(),
            action: limen_domain::AuditAction::ModelActivated,
            subject: NEW.to_owned(),
            detail: limen_domain::AuditDetail::Activated {
                until: now() + 3600,
            },
        };
        store
            .activate_model(&entry, &ModelVersion::new(NEW), now(), now() + 3600, &[])
            .await
            .expect("activate")
            .expect("not refused");
        store.close().await;
    });
    let end = || seeded.spawn_admin(&["model", "end-transition"]);
    // Killed sooner and later: some runs die before their transaction
    // commits, some after.
    let mut finished = false;
    for delay_ms in [5u64, 20, 40, 60, 80, 120, 160, 240, 400, 800] {
        let mut child = end();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        let (retired, untouched, transition) = census(&seeded);
        assert!(
            retired == 0 || untouched == 0,
            "after a kill at {delay_ms} ms: {retired} people retired and {untouched} untouched"
        );
        assert_eq!(retired + untouched, people, "everyone is one or the other");
        assert_eq!(
            transition,
            untouched > 0,
            "the transition lasts exactly as long as old vectors"
        );
        finished |= retired == people || status.success();
        if retired == people {
            break;
        }
    }
    if !finished {
        assert!(end().wait().expect("wait").success());
    }
    let (retired, untouched, transition) = census(&seeded);
    assert_eq!((retired, untouched, transition), (people, 0, false));
}

/// (People retired: no vector, renewal needed; people untouched: two old
/// vectors, no renewal mark; whether a transition is under way.)
fn census(seeded: &SeededDatabase) -> (usize, usize, bool) {
    block_on(async {
        let store = seeded.open().await;
        let org = store.organisations().await.expect("orgs")[0].id.clone();
        let mut retired = 0;
        let mut untouched = 0;
        for person in store
            .people(&org, &ModelVersion::new(NEW))
            .await
            .expect("people")
        {
            let vectors = store.vectors(&person.person).await.expect("vectors");
            match (person.status, vectors.len()) {
                (limen_domain::PersonStatus::RenewalNeeded, 0) => retired += 1,
                (limen_domain::PersonStatus::RenewalNeeded, 2) => untouched += 1,
                other => panic!("half retired: {other:?}"),
            }
        }
        let transition = store
            .model_rollout()
            .await
            .expect("rollout")
            .expect("present")
            .transition
            .is_some();
        store.close().await;
        (retired, untouched, transition)
    })
}
