//! Frames at the entrance that are not a plain face: bad and hostile
//! input through `POST /api/v1/frames`, a flooding device, and the frames
//! of one pass decided together.

use serde_json::json;

use crate::support::{
    ACS_SECRET, Backend, Reply, Server, SmtpSink, create_device, create_entrance, decision,
    fixture, send_frame,
};

/// A photo of the person the support module enrols (Andre Agassi) that is
/// not one of the enrolment frames.
const SAME_PERSON: &str = "Andre_Agassi_0002.jpg";
/// Someone else (Abdullah Gul).
const OTHER_PERSON: &str = "Abdullah_Gul_0011.jpg";

/// A plain grey JPEG: a valid image with no face in it.
fn faceless_jpeg() -> Vec<u8> {
    let image = image::RgbImage::from_pixel(320, 240, image::Rgb([128, 128, 128]));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut bytes)
        .encode_image(&image)
        .expect("encode");
    bytes
}

/// `photo` washed out to an eighth of its contrast: the face is still found,
/// but too flat (and soft) for the entrance's quality profile.
fn washed_out_jpeg(photo: &[u8]) -> Vec<u8> {
    let mut image = image::load_from_memory(photo).expect("a photo").to_rgb8();
    for value in image.iter_mut() {
        *value = (124 + (i32::from(*value) - 128) / 8) as u8;
    }
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95)
        .encode_image(&image)
        .expect("encode");
    bytes
}

#[test]
fn bad_frames_are_refused_and_a_flooding_device_is_slowed_alone() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start_with_env(
        Backend::Sqlite,
        &smtp.url(),
        &[("LIMEN_DEVICE_FRAMES_PER_MINUTE", "8")],
    ) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let front = create_entrance(&server, &admin, "Front", json!({ "type": "osdp" }));
    let back = create_entrance(&server, &admin, "Back", json!({ "type": "osdp" }));
    let (front_id, front_device) = create_device(&server, &admin, &front);
    let (_, back_device) = create_device(&server, &admin, &back);
    let photo = fixture(SAME_PERSON);

    // Unknown, missing and revoked tokens: 401, nothing processed.
    assert_eq!(
        send_frame(&server, "not-a-device-token", &photo).status,
        401
    );
    let anonymous =
        server.send_with_headers("/api/v1/frames", &[("Content-Type", "image/jpeg")], &photo);
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        send_frame(&server, &admin, &photo).status,
        401,
        "an admin token is no device token"
    );

    // Connector checks.
    for connector in [
        json!({ "type": "http", "url": "ftp://127.0.0.1/x", "secret": ACS_SECRET }),
        json!({ "type": "http", "url": "http://127.0.0.1:9/x", "secret": "short" }),
        // A passphrase, not a Standard Webhooks secret.
        json!({ "type": "http", "url": "http://127.0.0.1:9/x", "secret": "a shared secret of the access system" }),
        json!({ "type": "http", "url": "http://127.0.0.1:9/x", "secret": "whsec_c2hvcnQ=" }),
        json!({ "type": "wiegand" }),
    ] {
        let refused = server.post_json(
            "/api/v1/entrances",
            Some(&admin),
            &json!({ "name": "Bad", "connector": connector }),
        );
        assert!(
            (400..500).contains(&refused.status) && !refused.error().is_empty(),
            "{}",
            refused.body
        );
    }

    // Front device: 8 frames a minute. Each kind of bad input gets a 4xx
    // with a message, and a faceless image is decided as such.
    let wrong_type = server.send(
        "POST",
        "/api/v1/frames",
        Some(&front_device),
        "image/png",
        &photo,
    );
    assert_eq!(wrong_type.status, 415, "{}", wrong_type.body);
    assert!(wrong_type.error().contains("image/jpeg"));
    let corrupt = send_frame(&server, &front_device, b"\xFF\xD8\xFF\xE0garbage");
    assert_eq!(corrupt.status, 422, "{}", corrupt.body);
    assert!(!corrupt.error().is_empty());
    assert_eq!(send_frame(&server, &front_device, b"").status, 400);
    let oversized = server.raw_post_status(
        "/api/v1/frames",
        &front_device,
        "image/jpeg",
        3 * 1024 * 1024,
    );
    assert_eq!(oversized, 413);
    assert_eq!(
        decision(&send_frame(&server, &front_device, &faceless_jpeg())),
        "no_face"
    );
    assert_eq!(
        decision(&send_frame(&server, &front_device, &photo)),
        "unknown",
        "nobody enrolled"
    );
    let poorly_taken = washed_out_jpeg(&photo);
    assert_eq!(
        decision(&send_frame(&server, &front_device, &poorly_taken)),
        "poor_quality"
    );

    // Flooding: the front device is refused, the back one still answered.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(send_frame(&server, &front_device, b"\xFF\xD8\xFF\xE0garbage").status);
    }
    assert_eq!(statuses, [422, 429, 429]);
    assert_eq!(
        decision(&send_frame(&server, &back_device, &photo)),
        "unknown"
    );

    // Revocation: the token stops working at once.
    let revoked = server.delete(
        &format!("/api/v1/entrances/{front}/devices/{front_id}"),
        Some(&admin),
    );
    assert_eq!(revoked.status, 204);
    assert_eq!(send_frame(&server, &front_device, &photo).status, 401);
    assert_eq!(
        server
            .delete(
                &format!("/api/v1/entrances/{front}/devices/{front_id}"),
                Some(&admin)
            )
            .status,
        404
    );
    let audit = server.get("/api/v1/audit", Some(&admin)).body;
    for action in ["entrance.created", "device.registered", "device.revoked"] {
        assert!(audit.contains(action), "audit lacks {action}");
    }
}

/// A frame of the device's pass `pass`.
fn send_pass_frame(server: &Server, device_token: &str, pass: &str, jpeg: &[u8]) -> Reply {
    server.send_with_headers(
        "/api/v1/frames",
        &[
            ("Authorization", &format!("Bearer {device_token}")),
            ("Content-Type", "image/jpeg"),
            ("Limen-Pass", pass),
        ],
        jpeg,
    )
}

#[test]
fn the_frames_of_a_pass_are_decided_together_until_it_is_decided() {
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    let (_, admin) = server.create_org("Acme");
    let door = create_entrance(&server, &admin, "Front", json!({ "type": "osdp" }));
    let (_, device) = create_device(&server, &admin, &door);
    let (_, other_device) = create_device(&server, &admin, &door);
    let photo = fixture(OTHER_PERSON);

    let refused = send_pass_frame(&server, &device, "not a pass id", &photo);
    assert_eq!(refused.status, 400, "{}", refused.body);

    // Nobody is enrolled: every frame adds to the pass until it holds five
    // and is decided.
    for frames in 1..=5 {
        let reply = send_pass_frame(&server, &device, "walk-1", &photo);
        assert_eq!(decision(&reply), "unknown");
        let pass = &reply.json()["pass"];
        assert_eq!(pass["id"], "walk-1");
        assert_eq!(pass["frames"], frames);
        assert_eq!(pass["decided"], frames == 5, "{pass}");
    }
    let late = send_pass_frame(&server, &device, "walk-1", &photo);
    assert_eq!(late.status, 409, "{}", late.body);

    // Another pass, or the same name from another device, starts afresh;
    // a frame without a pass stands alone.
    let reply = send_pass_frame(&server, &device, "walk-2", &photo);
    assert_eq!(reply.json()["pass"]["frames"], 1);
    let reply = send_pass_frame(&server, &other_device, "walk-1", &photo);
    assert_eq!(reply.json()["pass"]["frames"], 1);
    let reply = send_frame(&server, &device, &photo);
    assert_eq!(decision(&reply), "unknown");
    assert!(reply.json().get("pass").is_none(), "{}", reply.body);
}
