//! The OpenAPI document is true to the routes: every operation it lists
//! is served (no 404 or 405 for it), and the routes it leaves out are not
//! part of the API.

use crate::support::{Backend, Server, SmtpSink};

#[test]
fn every_documented_operation_is_served() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let document = server.get("/api/v1/openapi.json", None);
    assert_eq!(document.status, 200);
    assert_eq!(document.header("content-type"), Some("application/json"));
    let document = document.json();
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for method in item.as_object().expect("operations").keys() {
            let concrete = path
                .replace("{id}", "0123456789abcdef0123456789abcdef")
                .replace("{device_id}", "fedcba9876543210fedcba9876543210");
            let reply = match method.as_str() {
                "get" => server.get(&concrete, None),
                "delete" => server.delete(&concrete, None),
                "post" => server.send("POST", &concrete, None, "application/json", b"{}"),
                "put" => server.send("PUT", &concrete, None, "application/json", b"{}"),
                "patch" => server.send("PATCH", &concrete, None, "application/json", b"{}"),
                other => panic!("unexpected method {other}"),
            };
            assert!(
                reply.status != 404 && reply.status != 405,
                "{method} {path} is documented but not served: {}",
                reply.status
            );
            operations += 1;
        }
    }
    assert_eq!(
        operations, 47,
        "update this count together with the document"
    );
    assert_eq!(server.get("/api/v1/nothing-here", None).status, 404);
}
