//! Several `limen serve` instances on one PostgreSQL database, as behind a
//! load balancer. Whatever one instance (or `limen admin`) changes about a
//! face reaches the galleries of the others within a second; an instance
//! that lost its database refuses frames meanwhile and catches up before it
//! answers the next one. And SQLite refuses a second server.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{
    Backend, CuttableRoute, Employee, Server, SmtpSink, create_device, create_entrance, decision,
    enrol, fixture, fresh_postgres_database, onboard, postgres_address, postgres_base_url,
    raw_connection, send_frame,
};

/// The enrolled face (Andre Agassi), in a photo that is not an enrolment frame.
const FACE: &str = "Andre_Agassi_0002.jpg";
/// How soon every instance must have let a change go.
const WITHIN: Duration = Duration::from_secs(1);

struct Instances {
    a: Server,
    b: Server,
    c: Server,
    /// C reaches the database through this; A and B directly.
    c_route: CuttableRoute,
    database_url: String,
}

impl Instances {
    fn all(&self) -> [(&str, &Server); 3] {
        [("A", &self.a), ("B", &self.b), ("C", &self.c)]
    }

    /// The last change numbered in the database.
    fn head(&self) -> i64 {
        use sqlx::{Connection, Row};
        crate::support::block_on(async {
            let mut conn = sqlx::PgConnection::connect(&self.database_url)
                .await
                .expect("connect");
            sqlx::query("SELECT seq FROM face_change_head")
                .fetch_one(&mut conn)
                .await
                .expect("head")
                .get::<i64, _>(0)
        })
    }
}

/// Waits until each of `servers` logs `line`; fails after [`WITHIN`] of `since`.
fn all_log_within(servers: &[(&str, &Server)], line: &str, since: Instant, what: &str) {
    for (name, server) in servers {
        while !server.logs().contains(line) {
            assert!(
                since.elapsed() < WITHIN,
                "instance {name} had not applied {what} within {WITHIN:?} (no {line:?} in its log)"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A person onboarded and enrolled through A, whom B and C recognise.
fn enrolled_everywhere(
    instances: &Instances,
    smtp: &SmtpSink,
    admin: &str,
    device: &str,
    n: usize,
) -> Employee {
    let a = &instances.a;
    let person = onboard(
        a,
        smtp,
        admin,
        &format!("person{n}@acme.test"),
        &format!("A-{n}"),
        n,
    );
    assert_eq!(enrol(a, &person.session).status, 201);
    let face = fixture(FACE);
    for server in [&instances.b, &instances.c] {
        let reply = send_frame(server, device, &face);
        assert_eq!(decision(&reply), "matched", "{}", reply.body);
        assert_eq!(reply.json()["acs_id"], format!("A-{n}"));
    }
    person
}

/// After a change made at `since`: every instance applies it from its
/// announcement within [`WITHIN`], and A and C refuse the face.
fn everyone_let_go(instances: &Instances, device: &str, since: Instant, what: &str) {
    let head = instances.head();
    all_log_within(
        &instances.all(),
        &format!("face changes applied applied={head}\n"),
        since,
        what,
    );
    let face = fixture(FACE);
    for (name, server) in [("A", &instances.a), ("C", &instances.c)] {
        let reply = send_frame(server, device, &face);
        assert_eq!(
            decision(&reply),
            "unknown",
            "instance {name} still recognises the face after {what}"
        );
    }
}

#[test]
fn three_instances_on_one_postgres_stay_in_step() {
    let Some(base) = postgres_base_url() else {
        return;
    };
    let smtp = SmtpSink::start();
    let database_url = fresh_postgres_database(&base);
    let a = Server::launch_on(&database_url, &smtp.url());
    let b = a.another_instance(&database_url);
    let c_route = CuttableRoute::to(&postgres_address(&base));
    let c_url = database_url.replace(
        &postgres_address(&base),
        &format!("127.0.0.1:{}", c_route.port),
    );
    let c = a.another_instance(&c_url);
    let instances = Instances {
        a,
        b,
        c,
        c_route,
        database_url,
    };

    let (_, admin) = instances.a.create_org("Acme");
    let door = create_entrance(&instances.a, &admin, "Door", json!({ "type": "osdp" }));
    let (_, device) = create_device(&instances.a, &admin, &door);

    // Consent withdrawn on B.
    let ann = enrolled_everywhere(&instances, &smtp, &admin, &device, 1);
    let reply = instances.b.delete("/api/v1/me/consent", Some(&ann.session));
    assert_eq!(reply.status, 204, "{}", reply.body);
    everyone_let_go(&instances, &device, Instant::now(), "a withdrawal");

    // Vector removed on B.
    let bob = enrolled_everywhere(&instances, &smtp, &admin, &device, 2);
    let reply = instances.b.delete("/api/v1/me/face", Some(&bob.session));
    assert_eq!(reply.status, 204, "{}", reply.body);
    everyone_let_go(&instances, &device, Instant::now(), "a vector removal");

    // Registration cancelled on B.
    let cat = enrolled_everywhere(&instances, &smtp, &admin, &device, 3);
    let reply = instances.b.delete("/api/v1/me", Some(&cat.session));
    assert_eq!(reply.status, 204, "{}", reply.body);
    everyone_let_go(&instances, &device, Instant::now(), "a cancellation");

    // Erased by the admin on B.
    let dan = enrolled_everywhere(&instances, &smtp, &admin, &device, 4);
    let reply = instances
        .b
        .delete(&format!("/api/v1/people/{}", dan.person_id), Some(&admin));
    assert_eq!(reply.status, 204, "{}", reply.body);
    everyone_let_go(&instances, &device, Instant::now(), "an erasure");

    // C loses its database: it refuses frames rather than search a gallery
    // it cannot confirm; meanwhile a withdrawal on A is announced to
    // nobody on C's side. Back online, C applies it before it answers.
    let eve = enrolled_everywhere(&instances, &smtp, &admin, &device, 5);
    instances.c_route.cut();
    let reply = instances.a.delete("/api/v1/me/consent", Some(&eve.session));
    assert_eq!(reply.status, 204, "{}", reply.body);
    let face = fixture(FACE);
    let refused = send_frame(&instances.c, &device, &face);
    assert!(
        refused.status >= 500,
        "C answered a frame without its database: {} {}",
        refused.status,
        refused.body
    );
    instances.c_route.restore();
    let reply = send_frame(&instances.c, &device, &face);
    assert_eq!(
        decision(&reply),
        "unknown",
        "C recognised a withdrawn face after its database came back"
    );

    // `limen admin org delete`, from outside any instance: every running
    // instance drops the organisation's gallery.
    let (globex, globex_admin) = instances.a.create_org("Globex");
    let gate = create_entrance(
        &instances.a,
        &globex_admin,
        "Gate",
        json!({ "type": "osdp" }),
    );
    let (_, gate_device) = create_device(&instances.a, &globex_admin, &gate);
    let fay = onboard(
        &instances.a,
        &smtp,
        &globex_admin,
        "fay@globex.test",
        "G-1",
        6,
    );
    assert_eq!(enrol(&instances.a, &fay.session).status, 201);
    for (_, server) in instances.all() {
        assert_eq!(
            decision(&send_frame(server, &gate_device, &face)),
            "matched"
        );
    }
    let deleted = instances.b.admin(&["org", "delete", &globex]);
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    all_log_within(
        &instances.all(),
        &format!("organisation deleted: its gallery is dropped org={globex} people=1"),
        Instant::now(),
        "the organisation's deletion",
    );
    for (_, server) in instances.all() {
        assert_eq!(send_frame(server, &gate_device, &face).status, 401);
    }

    // Each instance anchored the heads it wrote in its own data directory;
    // the trail verifies against all three, the deleted organisation's
    // chain included, and not once its newest entries are gone.
    let anchors: Vec<String> = [&instances.b, &instances.c]
        .iter()
        .map(|server| server.data_dir.join("audit-anchor").display().to_string())
        .collect();
    let verify = || {
        instances.a.admin(&[
            "audit",
            "verify",
            "--anchor",
            &anchors[0],
            "--anchor",
            &anchors[1],
        ])
    };
    let verified = verify();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let acme = crate::support::block_on(async {
        use sqlx::Row;
        let mut conn = raw_connection(&instances.database_url).await;
        let acme: String = sqlx::query("SELECT id FROM organisations")
            .fetch_one(&mut conn)
            .await
            .expect("Acme")
            .get(0);
        sqlx::query("DELETE FROM audit_entries WHERE chain = $1 AND seq > 2")
            .bind(&acme)
            .execute(&mut conn)
            .await
            .expect("truncate");
        acme
    });
    let report = verify();
    assert!(!report.status.success());
    assert!(String::from_utf8_lossy(&report.stderr).contains(&acme));
}

#[test]
fn a_second_server_on_one_sqlite_database_refuses_to_start() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let second = server.second_serve();
    assert!(!second.status.success(), "a second server started");
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(
        message.contains("another `limen serve` is already running")
            && message.contains("PostgreSQL"),
        "{message}"
    );
    assert_eq!(
        server.get("/readyz", None).status,
        200,
        "the first server runs on"
    );
}
