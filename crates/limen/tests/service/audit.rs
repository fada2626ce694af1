//! P9 under load: every audited action has its entry, however many
//! requests arrive at once.

use crate::support::{Backend, Server, SmtpSink, onboard};

#[test]
fn concurrent_audited_actions_all_reach_the_trail_on_sqlite() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let ann = onboard(&server, &smtp, &admin, "ann@acme.test", "A-1", 1);
    const CLIENTS: usize = 8;
    const EXPORTS_EACH: usize = 25;
    std::thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                for _ in 0..EXPORTS_EACH {
                    let export = server.get("/api/v1/me/export", Some(&ann.session));
                    assert_eq!(export.status, 200, "{}", export.body);
                }
            });
        }
    });
    let trail = server.get("/api/v1/audit", Some(&admin)).json();
    let exported = trail
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "data.exported")
        .count();
    assert_eq!(exported, CLIENTS * EXPORTS_EACH, "exports without an entry");
    assert!(
        !server.logs().contains("cannot append to the audit trail"),
        "{}",
        server.logs()
    );
    let verified = server.admin(&["audit", "verify"]);
    assert!(verified.status.success(), "{verified:?}");
}
