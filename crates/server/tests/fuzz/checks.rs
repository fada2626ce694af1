//! What must hold for any input to the server's parsers: the fuzz targets
//! (fuzz/fuzz_targets/) run these on generated inputs, and
//! `tests/fuzz_regressions.rs` replays the inputs kept in `fuzz/regressions/`
//! and the seed corpora.

use axum::Json;
use limen_domain::{AcsId, EmailAddress, NewPerson, PersonName, RowError};
use limen_server::bodies::{
    ConsentRequest, LevelChange, LoginRequest, ModeChange, NewEntrance, PasswordRequest,
    RegistrationRequest,
};
use limen_server::config::Config;
use limen_server::people_import::{ImportFormat, PersonRow, read_csv, read_import};

/// The people import's CSV: the reader, then the rows' checks. A CSV that
/// reads writes out (every field quoted, comma-separated) and reads back
/// to the same values; rows keep increasing spreadsheet row numbers after
/// the header; and every row the checks accept holds values that are
/// already in their kept form.
pub fn csv_import(data: &[u8]) {
    let Ok(rows) = read_csv(data) else {
        assert!(read_import(ImportFormat::Csv, data).is_err());
        return;
    };
    let sent: Vec<PersonRow> = rows.iter().map(|r| r.sent.clone()).collect();
    let again = read_csv(to_csv(&sent).as_bytes()).expect("a written CSV reads");
    let resent: Vec<PersonRow> = again.into_iter().map(|r| r.sent).collect();
    assert_eq!(resent, sent, "the CSV does not read back the same");
    let numbers: Vec<usize> = rows.iter().map(|r| r.row).collect();
    assert!(
        numbers.first().is_none_or(|&first| first >= 2) && numbers.windows(2).all(|w| w[0] < w[1]),
        "row numbers {numbers:?}"
    );
    assert_eq!(
        read_import(ImportFormat::Csv, data).is_ok(),
        !rows.is_empty(),
        "the import takes a CSV exactly when it reads with rows"
    );
    assert_kept_form(rows.into_iter().map(|r| r.checked).collect());
}

/// Every person the row checks accept holds values already in the form
/// they are kept in: checking them again changes nothing.
fn assert_kept_form(checked: Vec<Result<NewPerson, Vec<RowError>>>) {
    for person in checked.into_iter().flatten() {
        for name in [&person.first_name, &person.last_name] {
            let again = PersonName::parse(name.as_str());
            assert_eq!(again.as_ref().map(PersonName::as_str), Ok(name.as_str()));
        }
        let email = EmailAddress::parse(person.email.as_str());
        assert_eq!(
            email.as_ref().map(EmailAddress::as_str),
            Ok(person.email.as_str())
        );
        let acs = AcsId::parse(person.acs_id.as_str());
        assert_eq!(acs.as_ref().map(AcsId::as_str), Ok(person.acs_id.as_str()));
    }
}

/// Every field quoted, quotes doubled.
fn to_csv(rows: &[PersonRow]) -> String {
    let quote = |field: &str| format!("\"{}\"", field.replace('"', "\"\""));
    let mut text = String::from("first_name,last_name,email,acs_id\n");
    for row in rows {
        let fields = [&row.first_name, &row.last_name, &row.email, &row.acs_id];
        text.push_str(&fields.map(|f| quote(f)).join(","));
        text.push('\n');
    }
    text
}

/// The JSON bodies the API accepts, the first byte picking which: each is
/// read as the `JsonBody` extractor reads it, then checked as its handler
/// checks it; what is accepted holds valid values.
pub fn json_bodies(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 8 {
        0 => {
            if let Ok(rows) = read_import(ImportFormat::Json, body) {
                assert!(!rows.is_empty());
                assert_kept_form(rows.into_iter().map(|r| r.checked).collect());
            }
        }
        1 => {
            let Ok(Json(entrance)) = Json::<NewEntrance>::from_bytes(body) else {
                return;
            };
            if let Ok(name) = entrance.checked_name() {
                let name = name.as_str();
                assert_eq!(name, name.trim());
                assert!((1..=100).contains(&name.chars().count()));
                assert!(!name.chars().any(char::is_control));
            }
            if let Ok(Some((url, secret))) = entrance.connector.http() {
                assert!(!secret.key().is_empty());
                // As the handler builds the connector, with no trusted roots
                // (the fuzz target reads no files): the URL is checked.
                let built = limen_access::http::HttpAccessSystem::with_roots(
                    url,
                    secret,
                    limen_access::http::HttpAccessSystem::DEFAULT_TIMEOUT,
                    limen_access::http::ConnectorPolicy::new(Vec::new()),
                    rustls::RootCertStore::empty(),
                );
                if built.is_ok() {
                    assert!(url.trim_start().to_ascii_lowercase().starts_with("http://"));
                }
            }
        }
        2 => {
            if let Ok(Json(change)) = Json::<LevelChange>::from_bytes(body)
                && let Ok(level) = change.level()
            {
                assert_eq!(level.to_string(), change.level);
            }
        }
        3 => {
            if let Ok(Json(change)) = Json::<ModeChange>::from_bytes(body)
                && let Ok(mode) = change.mode()
            {
                assert_eq!(mode.as_str(), change.mode);
            }
        }
        4 => {
            if let Ok(Json(request)) = Json::<RegistrationRequest>::from_bytes(body) {
                let _ = limen_services::password::check_new_password(&request.password, &[]);
                let _ = request.token;
            }
        }
        5 => {
            if let Ok(Json(request)) = Json::<LoginRequest>::from_bytes(body) {
                let _ = EmailAddress::parse(&request.email);
                let _ = request.password;
            }
        }
        6 => {
            let _ = Json::<ConsentRequest>::from_bytes(body).map(|Json(r)| r.statement_version);
        }
        _ => {
            if let Ok(Json(request)) = Json::<PasswordRequest>::from_bytes(body) {
                let _ = limen_services::password::check_new_password(
                    &request.new_password,
                    &[request.current_password.as_str()],
                );
            }
        }
    }
}

/// The server's configuration: the file's TOML, then (after a NUL byte)
/// NUL-separated values for the `LIMEN_*` variables below, which win. A
/// configuration accepted keeps the promises `Config` makes.
pub fn config_file(data: &[u8]) {
    const VARIABLES: [&str; 15] = [
        "LIMEN_BIND",
        "LIMEN_PUBLIC_URL",
        "LIMEN_DATA_DIR",
        "LIMEN_DATABASE_URL",
        "LIMEN_MAIL_URL",
        "LIMEN_MAIL_FROM",
        "LIMEN_DEVICE_FRAMES_PER_MINUTE",
        "LIMEN_TRUSTED_PROXIES",
        "LIMEN_MAX_CONNECTIONS",
        "LIMEN_ENGINE_WORKERS",
        "LIMEN_CONNECTOR_HOSTS",
        "LIMEN_MODELS_DIR",
        "LIMEN_TLS_CERTIFICATE_FILE",
        "LIMEN_TLS_KEY_FILE",
        "LIMEN_METRICS_BIND",
    ];
    let mut pieces = data.split(|&b| b == 0);
    let Ok(file) = std::str::from_utf8(pieces.next().unwrap_or_default()) else {
        return;
    };
    let values: Vec<String> = pieces
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let env = |name: &str| {
        let at = VARIABLES.iter().position(|v| *v == name)?;
        values.get(at).cloned()
    };
    let Ok(config) = Config::from_sources(Some(file), "fuzz.toml", env) else {
        return;
    };
    assert!(config.public_url.starts_with("http://") || config.public_url.starts_with("https://"));
    assert!(!config.public_url.ends_with('/'));
    assert!(config.public_url.starts_with(config.public_origin()));
    assert_eq!(config.is_https(), config.public_url.starts_with("https://"));
    // Serving TLS itself, Limen's public address is https.
    assert!(config.tls.is_none() || config.is_https());
    assert_ne!(config.metrics_bind, Some(config.bind));
    assert!(
        ["smtp://", "smtps://", "file:"]
            .iter()
            .any(|s| config.mail_url.starts_with(s))
    );
    assert!(config.device_frames_per_minute >= 1);
    assert!(config.connections.max_connections >= 1);
    assert!(config.connections.header_timeout.as_secs() >= 1);
    assert!(config.connections.body_timeout.as_secs() >= 1);
    assert_ne!(config.engine_workers, Some(0));
    assert!(config.retention.invitation_days >= 1);
    assert!(config.retention.session_hours >= 1);
    assert!(config.retention.decision_event_days >= 1);
}
