//! Acceptance 7: the webcam page in a real browser. Debian's headless
//! Chromium, with a fake camera playing LFW photographs, is driven through
//! registration, consent and enrolment, a password reset and a withdrawal,
//! in Dutch and in English (the browser asks for each), with axe-core's
//! accessibility check on every page; a screenshot of each step is kept
//! under target/test-artifacts/webcam-<language>.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{
    Backend, GOOD_PASSWORD, Server, SmtpSink, fixture, links, mail_part, registration_token,
    status_of,
};

const CHROMIUM: &str = "/usr/bin/chromium";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Chromium and playwright-core are installed by scripts/test.sh: required
/// under CI, skipped with a visible notice elsewhere.
pub(crate) fn browser_available() -> bool {
    let present =
        Path::new(CHROMIUM).exists() && browser_dir().join("node_modules/playwright-core").exists();
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but Chromium or playwright-core is missing: run scripts/test.sh"
        );
        eprintln!(
            "NOTICE: Chromium or playwright-core is missing, so the browser test is SKIPPED (scripts/test.sh installs them)"
        );
    }
    present
}

/// A Y4M video (640×480, 4:2:0, 10 frames a second) showing each photo,
/// scaled to the frame's height and centred, for two seconds.
fn fake_camera_video(photos: &[&str], path: &Path) {
    let (width, height) = (640u32, 480u32);
    let mut video = format!("YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for name in photos {
        let photo = image::load_from_memory(&fixture(name))
            .expect("decode fixture")
            .to_rgb8();
        let scaled = image::imageops::resize(
            &photo,
            height,
            height,
            image::imageops::FilterType::Triangle,
        );
        let left = (width - height) / 2;
        let rgb = |x: u32, y: u32| -> [f32; 3] {
            if x < left || x >= left + height {
                [128.0; 3]
            } else {
                scaled.get_pixel(x - left, y).0.map(f32::from)
            }
        };
        let mut luma = Vec::with_capacity((width * height) as usize);
        let mut blue = Vec::new();
        let mut red = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let [r, g, b] = rgb(x, y);
                luma.push(
                    (0.299 * r + 0.587 * g + 0.114 * b)
                        .round()
                        .clamp(0.0, 255.0) as u8,
                );
            }
        }
        for y in (0..height).step_by(2) {
            for x in (0..width).step_by(2) {
                let [r, g, b] = rgb(x, y);
                blue.push(
                    (128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b)
                        .round()
                        .clamp(0.0, 255.0) as u8,
                );
                red.push(
                    (128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b)
                        .round()
                        .clamp(0.0, 255.0) as u8,
                );
            }
        }
        for _ in 0..20 {
            video.extend_from_slice(b"FRAME\n");
            video.extend_from_slice(&luma);
            video.extend_from_slice(&blue);
            video.extend_from_slice(&red);
        }
    }
    std::fs::write(path, video).expect("write video");
}

/// Runs `script` (in tests/browser) in Chromium with a fake camera
/// playing `photos`, against `server`, with `env` besides; the screenshots
/// go to target/test-artifacts/`artifacts`, which is returned. Fails the
/// test, with the server's log, when the script fails.
pub(crate) fn run_in_chromium(
    server: &Server,
    script: &str,
    photos: &[&str],
    artifacts: &str,
    env: &[(&str, &str)],
) -> PathBuf {
    let video = server.root.join(format!("{artifacts}.y4m"));
    fake_camera_video(photos, &video);
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/test-artifacts")
        .join(artifacts);
    std::fs::create_dir_all(&screenshots).expect("artifact directory");
    let output = Command::new("node")
        .arg(browser_dir().join(script))
        .current_dir(browser_dir())
        .env("LIMEN_URL", &server.url)
        .env("PASSWORD", GOOD_PASSWORD)
        .env("VIDEO", &video)
        .env("SCREENSHOTS", &screenshots)
        .env("CHROMIUM", CHROMIUM)
        .envs(env.iter().copied())
        .output()
        .expect("run node");
    assert!(
        output.status.success(),
        "the browser run failed:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        server.logs()
    );
    screenshots
}

#[test]
fn webcam_enrolment_in_headless_chromium() {
    if !browser_available() {
        return;
    }
    let smtp = SmtpSink::start();
    let Some(server) = Server::start(Backend::Sqlite, &smtp.url()) else {
        return;
    };
    for (locale, language, enrolled_text) in [
        ("nl-NL", "nl", "Klaar: uw gezicht is vastgelegd"),
        ("en-GB", "en", "Done: your face is enrolled"),
    ] {
        enrol_reset_and_withdraw(&server, &smtp, locale, language, enrolled_text);
    }
}

/// One person's whole journey in one language: registration, consent and
/// webcam enrolment, a forgotten password reset through the e-mailed link,
/// and consent withdrawn through its confirmation step.
fn enrol_reset_and_withdraw(
    server: &Server,
    smtp: &SmtpSink,
    locale: &str,
    language: &str,
    enrolled_text: &str,
) {
    let (_, admin) = server.create_org(&format!("Acme Gates {language}"));
    let email = format!("andre.{language}@acme.test");
    let csv = format!("first_name,last_name,email,acs_id\nAndre,Agassi,{email},CARD-1\n");
    let person = server.import_csv(&admin, &csv);
    server.send(
        "POST",
        &format!("/api/v1/people/{person}/invitation"),
        Some(&admin),
        "application/json",
        b"",
    );
    let token = registration_token(&smtp.message(smtp.count()));

    let register_url = format!("{}/register?token={token}", server.url);
    let artifacts = format!("webcam-{language}");
    let screenshots = run_in_chromium(
        server,
        "enrol.mjs",
        &[
            "Andre_Agassi_0005.jpg",
            "Andre_Agassi_0016.jpg",
            "Andre_Agassi_0027.jpg",
        ],
        &artifacts,
        &[
            ("REGISTER_URL", &register_url),
            ("LOCALE", locale),
            ("LANGUAGE", language),
            ("ENROLLED_TEXT", enrolled_text),
            ("EMAIL", &email),
        ],
    );
    assert_eq!(
        status_of(server, &admin, &person).as_deref(),
        Some("enrolled")
    );

    let reset_mail = smtp.message(smtp.count());
    assert!(reset_mail.contains(&email), "{reset_mail}");
    let reset_url = links(&mail_part(&reset_mail, "text/plain"))
        .into_iter()
        .find(|link| link.contains("/password/reset?token="))
        .expect("a reset link");
    run_in_chromium(
        server,
        "reset-withdraw.mjs",
        &["Andre_Agassi_0005.jpg"],
        &artifacts,
        &[
            ("RESET_URL", &reset_url),
            ("LOCALE", locale),
            ("LANGUAGE", language),
            ("NEW_PASSWORD", "a new sentence for a new password"),
        ],
    );
    let status = status_of(server, &admin, &person);
    assert_eq!(status.as_deref(), Some("registered"), "consent withdrawn");
    for step in [
        "1-register",
        "2-consent",
        "3-enrol",
        "4-camera",
        "5-enrolled",
        "6-account",
        "7-expired",
        "8-forgot",
        "9-reset",
        "10-withdraw",
        "11-withdrawn",
    ] {
        assert!(
            screenshots.join(format!("{step}.png")).exists(),
            "screenshot {step} missing"
        );
    }
}
