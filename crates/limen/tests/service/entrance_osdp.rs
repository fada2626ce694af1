//! The entrance end to end with the `osdp` connector, `limen serve` and
//! `limen agent` as processes.
//!
//! Issue 4, acceptance 1: a person enrolled through the service passes an
//! entrance with the `osdp` connector. The agent reads a different photo of
//! them from a `dir:` source and reports the card read to a real LibOSDP
//! control panel on a pseudo-terminal, over a Secure Channel. Someone not
//! enrolled, and the same person after withdrawing consent, produce no card
//! read.
//!
//! Acceptance 6: the agent, watching a live camera stream, survives the
//! server being stopped and started again: it reports the outage with
//! bounded back-off, sends nothing stale, and is answered again after.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::osdp_panel::ControlPanel;
use crate::support::live_agent::{
    ENROLLED_PERSON_AT_THE_DOOR, MAX_FRAME_AGE_MS, RunningAgent, Scene,
    UNENROLLED_PERSON_AT_THE_DOOR, camera,
};
use crate::support::{
    BIN, Backend, Employee, Server, SmtpSink, decision, enrol, fixture, onboard, random_suffix,
    send_frame,
};

const SCBK: &str = "6c696d656e2d656e7472616e636521aa";
const OSDP_ADDRESS: u8 = 9;
const CARD_FORMAT: &str = "wiegand26:42";
/// Within a 26-bit card's 16-bit card number.
const ACS_ID: &str = "31337";

fn scbk_bytes() -> [u8; 16] {
    let mut key = [0u8; 16];
    for (byte, pair) in key.iter_mut().zip(SCBK.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).expect("ASCII");
        *byte = u8::from_str_radix(pair, 16).expect("hex");
    }
    key
}

/// The card read a panel expects for `ACS_ID` in `CARD_FORMAT`:
/// FC 42, card 31337 = 0 00101010 0111101001101001 1 (worked out by hand).
fn card_bits() -> Vec<u8> {
    vec![0b0001_0101, 0b0011_1101, 0b0011_0100, 0b1100_0000]
}

/// Creates an entrance with the `osdp` connector and a device for its
/// camera; returns the device token.
fn osdp_entrance(server: &Server, admin: &str) -> String {
    let entrance = server.post_json(
        "/api/v1/entrances",
        Some(admin),
        &json!({ "name": "Main door", "connector": { "type": "osdp" } }),
    );
    assert_eq!(entrance.status, 201, "{}", entrance.body);
    let entrance_id = entrance.json()["id"].as_str().expect("id").to_owned();
    let device = server.post_json(
        &format!("/api/v1/entrances/{entrance_id}/devices"),
        Some(admin),
        &json!({ "name": "Main door camera" }),
    );
    assert_eq!(device.status, 201, "{}", device.body);
    device.json()["token"].as_str().expect("token").to_owned()
}

/// The decisions the server recorded for the organisation, in any order.
fn recorded_decisions(server: &Server, admin: &str) -> Vec<String> {
    let mut decisions: Vec<String> = server
        .get("/api/v1/events", Some(admin))
        .json()
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["decision"].as_str().expect("decision").to_owned())
        .collect();
    decisions.sort();
    decisions
}

/// An organisation with one employee enrolled (Andre Agassi, `ACS_ID`)
/// and an `osdp` entrance, on a server of its own.
struct Door {
    /// Kept alive for the server.
    _smtp: SmtpSink,
    server: Server,
    admin: String,
    employee: Employee,
    device_token: String,
}

impl Door {
    /// `None` where the server cannot start (see `Server::start`).
    fn open(org_name: &str) -> Option<Door> {
        let smtp = SmtpSink::start();
        let server = Server::start(Backend::Sqlite, &smtp.url())?;
        let (_, admin) = server.create_org(org_name);
        let employee = onboard(&server, &smtp, &admin, "andre@acme.test", ACS_ID, 1);
        let enrolled = enrol(&server, &employee.session);
        assert_eq!(enrolled.status, 201, "{}", enrolled.body);
        let device_token = osdp_entrance(&server, &admin);
        Some(Door {
            _smtp: smtp,
            server,
            admin,
            employee,
            device_token,
        })
    }
}

/// A folder holding one photo: what the camera at the door sees.
fn scene(root: &Path, photo: &str) -> PathBuf {
    let dir = root.join(format!("scene-{}", random_suffix()));
    std::fs::create_dir_all(&dir).expect("scene dir");
    std::fs::write(dir.join(photo), fixture(photo)).expect("scene photo");
    dir
}

/// Runs `limen agent` on `scene` as the reader of a fresh panel that
/// grants the person's card, until the scene ends; returns the panel and
/// the agent's stdout and stderr.
fn run_agent(server: &Server, device_token: &str, scene: &Path) -> (ControlPanel, String, String) {
    run_agent_with(granting_panel(), server, device_token, scene)
}

/// A panel that grants the person's card.
fn granting_panel() -> ControlPanel {
    ControlPanel::new(OSDP_ADDRESS, scbk_bytes(), vec![card_bits()])
}

/// Runs `limen agent` on `scene` as the reader of `panel`, until the scene
/// ends; returns the panel and the agent's stdout and stderr.
fn run_agent_with(
    mut panel: ControlPanel,
    server: &Server,
    device_token: &str,
    scene: &Path,
) -> (ControlPanel, String, String) {
    let mut agent = Command::new(BIN);
    agent
        .args(["agent", "--server", &server.url, "--source"])
        .arg(format!("dir:{}", scene.display()))
        .arg("--osdp-device")
        .arg(panel.reader_device())
        .args(["--osdp-address", &OSDP_ADDRESS.to_string()])
        .args(["--osdp-card-format", CARD_FORMAT])
        .env("LIMEN_DEVICE_TOKEN", device_token)
        .env("LIMEN_OSDP_SCBK", SCBK)
        .env(
            "LIMEN_MODELS_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"),
        );
    let run = panel.run_agent(&mut agent);
    let (stdout, stderr) = (run.stdout, run.stderr);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("secure channel with the access panel is up"),
        "{stderr}"
    );
    for text in [&stdout, &stderr] {
        for secret in [device_token, SCBK, ACS_ID] {
            assert!(!text.contains(secret), "the agent printed a secret: {text}");
        }
    }
    assert!(
        !stderr.contains("could not end the handover"),
        "{stdout}\n{stderr}"
    );
    (panel, stdout, stderr)
}

#[test]
fn an_enrolled_person_passes_an_osdp_entrance() {
    let Some(Door {
        _smtp,
        server,
        admin,
        employee,
        device_token,
    }) = Door::open("Acme Gates")
    else {
        return;
    };

    // The enrolled person at the door: the panel receives their card and grants.
    let at_the_door = scene(&server.root, ENROLLED_PERSON_AT_THE_DOOR);
    let (panel, stdout, stderr) = run_agent(&server, &device_token, &at_the_door);
    let card = panel
        .next_card_read(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no card read reached the panel:\n{stdout}\n{stderr}"));
    assert_eq!(card.format, libosdp::OsdpCardFormats::Wiegand);
    assert_eq!((card.nr_bits, card.data), (26, card_bits()));
    assert!(
        stdout.contains("frame 0: matched") && stdout.contains("frame 0: the access panel granted"),
        "{stdout}\n{stderr}"
    );
    assert!(panel.next_card_read(Duration::from_millis(500)).is_none());

    // Someone not enrolled: the server knows nobody, the panel hears nothing.
    let stranger = scene(&server.root, UNENROLLED_PERSON_AT_THE_DOOR);
    let (panel, stdout, stderr) = run_agent(&server, &device_token, &stranger);
    assert!(stdout.contains("frame 0: unknown"), "{stdout}\n{stderr}");
    assert!(
        panel.next_card_read(Duration::from_secs(2)).is_none(),
        "a stranger's face produced a card read"
    );

    // Consent withdrawn: the same photo no longer opens anything.
    let withdrawn = server.delete("/api/v1/me/consent", Some(&employee.session));
    assert_eq!(withdrawn.status, 204, "{}", withdrawn.body);
    let (panel, stdout, stderr) = run_agent(&server, &device_token, &at_the_door);
    assert!(stdout.contains("frame 0: unknown"), "{stdout}\n{stderr}");
    assert!(
        panel.next_card_read(Duration::from_secs(2)).is_none(),
        "a person who withdrew consent produced a card read"
    );
    assert_eq!(
        recorded_decisions(&server, &admin),
        ["matched", "unknown", "unknown"]
    );
}

// ----- handovers (issue 8, finding 7) ----------------------------------------

/// How long the slow panel takes to answer a card read.
const SLOW_PANEL: Duration = Duration::from_millis(1500);

#[test]
fn a_withdrawal_answers_only_after_the_panel_has_answered_the_card_read() {
    let Some(Door {
        _smtp,
        server,
        admin,
        employee,
        device_token,
    }) = Door::open("Acme Handovers")
    else {
        return;
    };
    let at_the_door = scene(&server.root, ENROLLED_PERSON_AT_THE_DOOR);

    // The person withdraws the moment the server has matched them, while
    // their card read is on its way to a slow panel.
    let (panel, withdrawn_at, stdout, stderr) = thread::scope(|scope| {
        let withdrawal = scope.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !recorded_decisions(&server, &admin).contains(&"matched".to_owned()) {
                assert!(Instant::now() < deadline, "the server matched nobody");
                thread::sleep(Duration::from_millis(10));
            }
            let withdrawn = server.delete("/api/v1/me/consent", Some(&employee.session));
            assert_eq!(withdrawn.status, 204, "{}", withdrawn.body);
            Instant::now()
        });
        let panel = granting_panel().answering_after(SLOW_PANEL);
        let (panel, stdout, stderr) = run_agent_with(panel, &server, &device_token, &at_the_door);
        let withdrawn_at = withdrawal.join().expect("the withdrawal");
        (panel, withdrawn_at, stdout, stderr)
    });
    let answered_at = panel
        .next_answer(Duration::from_secs(1))
        .unwrap_or_else(|| panic!("the panel never answered:\n{stdout}\n{stderr}"));
    assert!(
        stdout.contains("frame 0: the access panel granted"),
        "{stdout}\n{stderr}"
    );
    // Once the withdrawal has answered, the door has decided: no card read
    // of this person is still on its way.
    assert!(
        withdrawn_at > answered_at,
        "the withdrawal answered {:?} before the panel did",
        answered_at - withdrawn_at
    );
    let (panel, stdout, stderr) = run_agent(&server, &device_token, &at_the_door);
    assert!(stdout.contains("frame 0: unknown"), "{stdout}\n{stderr}");
    assert!(panel.next_card_read(Duration::from_secs(1)).is_none());
}

#[test]
fn a_handover_nobody_ends_holds_a_withdrawal_for_its_time_only() {
    let Some(Door {
        _smtp,
        server,
        admin,
        employee,
        device_token,
    }) = Door::open("Acme Lost Devices")
    else {
        return;
    };
    let other_device = osdp_entrance(&server, &admin);

    // A device that is answered `matched` and then never says its panel
    // has been told (it lost power, say).
    let photo = fixture(ENROLLED_PERSON_AT_THE_DOOR);
    let reply = send_frame(&server, &device_token, &photo);
    let answered = Instant::now();
    assert_eq!(decision(&reply), "matched");
    let handover = reply.json()["handover"].clone();
    assert_eq!(handover["within_ms"], 5000, "{}", reply.body);
    let id = handover["id"].as_str().expect("a handover id").to_owned();
    let end = format!("/api/v1/handovers/{id}");
    // Only the device it was handed to can end it.
    assert_eq!(server.delete(&end, None).status, 401);
    assert_eq!(server.delete(&end, Some(&other_device)).status, 404);

    let (withdrawn, meanwhile) = thread::scope(|scope| {
        let withdrawal =
            scope.spawn(|| server.delete("/api/v1/me/consent", Some(&employee.session)));
        // While the withdrawal waits for the handover, the door goes on
        // deciding, and no longer knows the person.
        thread::sleep(Duration::from_millis(1500));
        let meanwhile = send_frame(&server, &other_device, &photo);
        (withdrawal.join().expect("withdrawal"), meanwhile)
    });
    assert_eq!(withdrawn.status, 204, "{}", withdrawn.body);
    let waited = answered.elapsed();
    assert_eq!(decision(&meanwhile), "unknown", "{}", meanwhile.body);
    assert!(
        waited >= Duration::from_secs(4),
        "the withdrawal answered {waited:?} after the match, while the device still held it"
    );
    assert!(
        waited < Duration::from_secs(20),
        "the hold outlived its time: {waited:?}"
    );
    assert_eq!(server.delete(&end, Some(&device_token)).status, 404);
    assert_eq!(
        decision(&send_frame(&server, &device_token, &photo)),
        "unknown"
    );
}

// ----- passes (issue 7) ------------------------------------------------------

/// A folder of photos the camera sees one after another, in this order:
/// one person walking up to the door.
fn approach(root: &Path, photos: &[&str]) -> PathBuf {
    let dir = root.join(format!("approach-{}", random_suffix()));
    std::fs::create_dir_all(&dir).expect("approach dir");
    for (i, photo) in photos.iter().enumerate() {
        std::fs::write(dir.join(format!("{i:02}-{photo}")), fixture(photo)).expect("photo");
    }
    dir
}

/// The frames the agent reported an answer for.
fn answered_frames(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| {
            l.split(" (server took")
                .next()
                .filter(|_| l.contains("(server took"))
        })
        .map(|l| l.trim_start_matches("limen agent: ").to_owned())
        .collect()
}

#[test]
fn the_frames_of_one_approach_are_one_pass_with_one_decision() {
    let Some(Door {
        _smtp,
        server,
        admin,
        employee,
        device_token,
    }) = Door::open("Acme Passes")
    else {
        return;
    };

    // A stranger walks up: each good frame joins the pass and the server
    // decides on all of them so far, until the pass holds five frames and
    // is decided `unknown`; the agent sends no more of that approach.
    let stranger = [
        "Abdullah_Gul_0001.jpg",
        "Abdullah_Gul_0002.jpg",
        "Abdullah_Gul_0011.jpg",
    ];
    let walk: Vec<&str> = stranger.iter().cycle().take(7).copied().collect();
    let scene = approach(&server.root, &walk);
    let (panel, stdout, stderr) = run_agent(&server, &device_token, &scene);
    assert_eq!(
        answered_frames(&stdout),
        [
            "frame 0: unknown",
            "frame 1: unknown (2 frames of the pass)",
            "frame 2: unknown (3 frames of the pass)",
            "frame 3: unknown (4 frames of the pass)",
            "frame 4: unknown (5 frames of the pass)",
        ],
        "{stdout}\n{stderr}"
    );
    assert!(panel.next_card_read(Duration::from_secs(1)).is_none());

    // The enrolled person walks up: the first frame suffices, the door
    // hears of them once, and the rest of the approach is not sent.
    let scene = approach(
        &server.root,
        &[
            ENROLLED_PERSON_AT_THE_DOOR,
            "Andre_Agassi_0002.jpg",
            "Andre_Agassi_0003.jpg",
        ],
    );
    let (panel, stdout, stderr) = run_agent(&server, &device_token, &scene);
    assert_eq!(
        answered_frames(&stdout),
        ["frame 0: matched"],
        "{stdout}\n{stderr}"
    );
    assert!(panel.next_card_read(Duration::from_secs(5)).is_some());
    assert!(panel.next_card_read(Duration::from_millis(500)).is_none());

    // One event per frame decided; the last of the stranger's says what it
    // fused. P2: no event carries a vector, and the database holds the
    // enrolment's vectors only.
    let events = server.get("/api/v1/events", Some(&admin)).json();
    let events = events.as_array().expect("events");
    assert_eq!(events.len(), 6);
    assert_eq!(
        recorded_decisions(&server, &admin),
        [
            "matched", "unknown", "unknown", "unknown", "unknown", "unknown"
        ]
    );
    assert!(
        // The entrance monitors liveness (the default): the pass's live
        // score follows.
        events.iter().any(|e| e["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("5 frames of one pass; live score "))),
        "{events:?}"
    );
    for event in events {
        let fields = event.as_object().expect("an event");
        assert!(
            fields.values().all(|v| !v.is_array()),
            "an event holds a list: {event}"
        );
    }
    let export = server.get("/api/v1/me/export", Some(&employee.session));
    assert_eq!(
        export.json()["face_vectors"].as_array().map(Vec::len),
        Some(3),
        "only the enrolment's vectors are stored"
    );
}

// ----- acceptance 6 ----------------------------------------------------------

/// Longer than the agent follows a face it no longer sees (1.5 s), so the
/// next face is a new passage.
const PERSON_GONE: Duration = Duration::from_millis(2500);

#[test]
fn the_agent_survives_the_server_going_away_and_coming_back() {
    let Some(Door {
        _smtp,
        mut server,
        admin,
        employee: _,
        device_token,
    }) = Door::open("Acme Gates")
    else {
        return;
    };

    let scene = Arc::new(AtomicU8::new(Scene::Enrolled as u8));
    let agent = RunningAgent::start(&server, &device_token, &camera(Arc::clone(&scene)));
    let started = Instant::now();
    agent.wait_for(started, ": matched", Duration::from_secs(120));

    // The server goes away. The person leaves; after a while (longer than
    // the agent follows a face it no longer sees) a stranger comes to the
    // door: the agent tries, says so, and gives the frame up.
    server.stop();
    let outage = Instant::now();
    scene.store(Scene::Nobody as u8, Ordering::SeqCst);
    thread::sleep(PERSON_GONE);
    scene.store(Scene::Stranger as u8, Ordering::SeqCst);
    agent.wait_for(
        outage,
        "server unreachable (connection refused), retry 1/5 in 200 ms",
        Duration::from_secs(60),
    );
    agent.wait_for(outage, "dropped", Duration::from_secs(60));
    // The stranger leaves. Once every frame of them is past the age limit,
    // the server comes back: none of them may reach it.
    scene.store(Scene::Nobody as u8, Ordering::SeqCst);
    let stranger_left = Instant::now();
    thread::sleep(PERSON_GONE.max(Duration::from_millis(MAX_FRAME_AGE_MS + 1000)));
    server.restart();
    let restarted = Instant::now();
    assert!(restarted >= stranger_left + Duration::from_millis(MAX_FRAME_AGE_MS));

    // The enrolled person comes to the door again and is answered.
    scene.store(Scene::Enrolled as u8, Ordering::SeqCst);
    agent.wait_for(restarted, ": matched", Duration::from_secs(60));
    scene.store(Scene::Off as u8, Ordering::SeqCst);
    let lines = agent.finish(Duration::from_secs(30));
    let transcript = lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");

    // Bounded back-off: at most five retries a frame, waits doubling from 200 ms.
    let retries: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.text.split_once(", retry ").map(|(_, r)| r))
        .collect();
    assert!(!retries.is_empty(), "{transcript}");
    for retry in &retries {
        let (attempt, wait) = retry
            .strip_suffix(" ms")
            .and_then(|r| r.split_once("/5 in "))
            .unwrap_or_else(|| panic!("unexpected retry line {retry:?}"));
        let attempt: u32 = attempt.parse().expect("attempt number");
        let wait: u64 = wait.parse().expect("wait");
        assert!((1..=5).contains(&attempt), "{retry}");
        assert_eq!(wait, 200 << (attempt - 1), "{retry}");
    }
    // Nothing stale: after the restart only the enrolled person was sent and
    // answered; a stranger's frame from the outage would be answered unknown.
    let answers_after: Vec<&str> = lines
        .iter()
        .filter(|l| l.at >= restarted && l.text.contains("(server took"))
        .map(|l| l.text.as_str())
        .collect();
    assert!(!answers_after.is_empty(), "{transcript}");
    for answer in &answers_after {
        assert!(
            answer.contains(": matched"),
            "a stale frame was answered: {answer}\n{transcript}"
        );
    }
    // Every send during the outage was given up, none answered.
    assert!(
        !lines
            .iter()
            .any(|l| l.at >= outage && l.at < restarted && l.text.contains("(server took")),
        "{transcript}"
    );
    assert!(
        transcript.contains("the camera stream ended"),
        "{transcript}"
    );
    assert!(!transcript.contains(&device_token));
    // The server's own record: the person twice, the stranger never.
    assert_eq!(
        recorded_decisions(&server, &admin),
        ["matched", "matched"],
        "{transcript}"
    );
}
