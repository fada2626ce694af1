//! The access system's side: the Standard Webhooks receivers in
//! `examples/webhook-python` and `examples/webhook-node`, run as a vendor
//! would run them, verify a real passage delivered by a live Limen with the
//! published `standardwebhooks` libraries, and refuse forged and replayed
//! requests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use limen_access::http::{MessageId, SharedSecret, sign};
use serde_json::json;

use crate::support::{Backend, Server, SmtpSink, enrol, fixture, onboard};

/// 32 random bytes from `openssl rand -base64 32`.
const SECRET: &str = "whsec_MkoJswSUkFv6/0G0ZkO2c9HUGquq1KlKqk0GkTwMU+Y=";

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// An example receiver as a child process, and the lines it prints.
struct ExampleReceiver {
    child: Child,
    url: String,
    lines: mpsc::Receiver<String>,
}

impl ExampleReceiver {
    /// Starts `command` on a free port and waits for its "listening on" line.
    fn start(mut command: Command) -> ExampleReceiver {
        let mut child = command
            .env("LIMEN_WEBHOOK_SECRET", SECRET)
            .env("GRANTED_ACS_IDS", "A-1,B-2")
            .env("PORT", "0")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the example receiver");
        let stdout = child.stdout.take().expect("piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the receiver says where it listens");
        let url = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        ExampleReceiver { child, url, lines }
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("a line from the receiver")
    }

    /// POSTs `body` with these Standard Webhooks headers; returns the status.
    fn post(&self, id: &str, timestamp: u64, signature: &str, body: &[u8]) -> u16 {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        agent
            .post(&format!("{}access", self.url))
            .header("Content-Type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", &timestamp.to_string())
            .header("webhook-signature", signature)
            .send(body)
            .expect("the receiver answers")
            .status()
            .as_u16()
    }
}

impl Drop for ExampleReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Both examples' dependencies are installed by scripts/test.sh: required
/// under CI, skipped with a visible notice elsewhere.
fn receivers() -> Option<[(&'static str, Command); 2]> {
    let python = examples().join("webhook-python/.venv/bin/python");
    let node_modules = examples().join("webhook-node/node_modules/standardwebhooks");
    if !python.exists() || !node_modules.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the webhook examples' packages are missing: run scripts/test.sh"
        );
        eprintln!(
            "NOTICE: the webhook examples' packages are missing, so their test is SKIPPED (scripts/test.sh installs them)"
        );
        return None;
    }
    let mut python = Command::new(python);
    python.arg(examples().join("webhook-python/receiver.py"));
    let mut node = Command::new("node");
    node.arg(examples().join("webhook-node/receiver.mjs"));
    Some([("python", python), ("node", node)])
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[test]
fn the_python_and_node_examples_verify_a_real_passage() {
    let Some(receivers) = receivers() else {
        return;
    };
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let ann = onboard(&server, &smtp, &admin, "ann@acme.test", "A-1", 1);
    assert_eq!(enrol(&server, &ann.session).status, 201);
    let photo = fixture("Andre_Agassi_0002.jpg");

    for (language, command) in receivers {
        let receiver = ExampleReceiver::start(command);
        let created = server.post_json(
            "/api/v1/entrances",
            Some(&admin),
            &json!({
                "name": format!("{language} door"),
                "connector": { "type": "http", "url": format!("{}access", receiver.url), "secret": SECRET },
            }),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        let entrance = created.json()["id"].as_str().expect("id").to_owned();
        let device = server.send(
            "POST",
            &format!("/api/v1/entrances/{entrance}/devices"),
            Some(&admin),
            "application/json",
            b"",
        );
        assert_eq!(device.status, 201, "{}", device.body);
        let token = device.json()["token"].as_str().expect("token").to_owned();

        // A passage: Limen signs, the library verifies, the receiver grants.
        let reply = server.send("POST", "/api/v1/frames", Some(&token), "image/jpeg", &photo);
        assert_eq!(reply.status, 200, "{language}: {}", reply.body);
        assert_eq!(reply.json()["decision"], "granted", "{language}");
        assert_eq!(
            receiver.next_line(),
            format!("access.requested at {entrance}: granted=true"),
            "{language}"
        );

        // The admin's "send a test" reaches the receiver, which accepts it.
        let tested = server.send(
            "POST",
            &format!("/api/v1/entrances/{entrance}/test"),
            Some(&admin),
            "application/json",
            b"",
        );
        assert_eq!(tested.status, 200, "{language}: {}", tested.body);
        assert_eq!(
            tested.json(),
            json!({ "result": "accepted", "status": 200 }),
            "{language}"
        );

        // What Limen did not sign, and what it signed once, are refused.
        let body = br#"{"type":"access.requested","entrance":"e","acs_id":"B-2"}"#;
        let id = MessageId::random().expect("randomness");
        let now = unix_now();
        let secret: SharedSecret = SECRET.parse().expect("secret");
        let signature = sign(&secret, &id, now, body);
        let forger: SharedSecret = "whsec_Zm9yZ2VkIGJ5IHNvbWVvbmUgZWxzZSEhIQ=="
            .parse()
            .expect("secret");
        let forged = sign(&forger, &id, now, body);
        assert_eq!(
            receiver.post(id.as_str(), now, &forged, body),
            401,
            "{language}"
        );
        let stale = sign(&secret, &id, now - 600, body);
        assert_eq!(
            receiver.post(id.as_str(), now - 600, &stale, body),
            401,
            "{language}"
        );
        assert_eq!(
            receiver.post(id.as_str(), now, &signature, body),
            200,
            "{language}"
        );
        assert_eq!(receiver.next_line(), "access.requested at e: granted=true");
        assert_eq!(
            receiver.post(id.as_str(), now, &signature, body),
            401,
            "{language}"
        );
    }
}
