//! What the audit trail and the decision events record, in the admin's
//! language: each action, each detail's typed parts and each actor worded
//! through the catalogues, numbers and times as the language writes them.
//! Text a row holds that this version does not read (free text of entries
//! written before details were typed, a code of a newer version) is shown
//! as it is.

use jiff::tz::TimeZone;
use limen_domain::{
    AccessSystemAnswer, AuditAction, AuditDetail, DecisionDetail, Language, LivenessMode, Recorded,
    SecurityLevel,
};

use super::time::local_time;
use crate::i18n::{Text, Tr};

/// The message naming an action: `admin-audit-action-` and its code, its
/// dots and underscores written as hyphens.
pub(crate) fn action_message(action: AuditAction) -> String {
    format!(
        "admin-audit-action-{}",
        action.code().replace(['.', '_'], "-")
    )
}

pub(super) fn action_words(t: &Tr, action: &Recorded<AuditAction>) -> String {
    match action.value() {
        Some(action) => t.tr(&action_message(*action)),
        None => action.text().to_owned(),
    }
}

/// Who acted, from the actor an entry names (`operator`, `admin:<id>` …).
pub(super) fn actor_words(t: &Tr, actor: &str) -> String {
    match actor.split_once(':') {
        Some(("admin", id)) => t.tr1("admin-audit-by-admin", "id", id),
        Some(("api-key", id)) => t.tr1("admin-audit-by-api-key", "id", id),
        Some(("employee", id)) => t.tr1("admin-audit-by-employee", "id", id),
        None if actor == "operator" => t.tr("admin-audit-by-operator"),
        None if actor == "anonymous" => t.tr("admin-audit-by-anonymous"),
        _ => actor.to_owned(),
    }
}

pub(super) fn detail_words(t: &Tr, detail: &Recorded<AuditDetail>, zone: &TimeZone) -> String {
    let Some(detail) = detail.value() else {
        return detail.text().to_owned();
    };
    let text = match detail {
        AuditDetail::None => return String::new(),
        AuditDetail::Name { name } => {
            Text::new("admin-audit-detail-name").with("name", name.clone())
        }
        AuditDetail::Admin { admin } => {
            Text::new("admin-audit-detail-admin").with("admin", admin.to_string())
        }
        AuditDetail::SecurityLevel { level } => {
            Text::new("admin-audit-detail-now").with("value", level_words(t, *level))
        }
        AuditDetail::Liveness { mode } => {
            Text::new("admin-audit-detail-now").with("value", liveness_words(t, *mode))
        }
        AuditDetail::Language { language } => {
            Text::new("admin-audit-detail-now").with("value", language_words(t, *language))
        }
        AuditDetail::TimeZone { zone } => {
            Text::new("admin-audit-detail-now").with("value", zone.clone())
        }
        AuditDetail::Connector { connector, url } => match url {
            Some(url) => Text::new("admin-audit-detail-connector-url")
                .with("connector", connector.as_str().to_uppercase())
                .with("url", url.clone()),
            None => Text::new("admin-audit-detail-connector")
                .with("connector", connector.as_str().to_uppercase()),
        },
        AuditDetail::ConnectorChanged { url, new_secret } if *new_secret => {
            Text::new("admin-audit-detail-connector-secret").with("url", url.clone())
        }
        AuditDetail::ConnectorChanged { url, .. } => Text::new("admin-audit-detail-connector-url")
            .with("connector", "HTTP")
            .with("url", url.clone()),
        AuditDetail::Entrance { entrance } => {
            Text::new("admin-audit-detail-entrance").with("entrance", entrance.to_string())
        }
        AuditDetail::Consent {
            statement,
            language,
            method,
        } => Text::new("admin-audit-detail-consent")
            .with("statement", statement.clone())
            .with("language", language_words(t, *language))
            .with("method", method.clone()),
        AuditDetail::Statement { statement } => {
            Text::new("admin-audit-detail-statement").with("statement", statement.clone())
        }
        AuditDetail::Lapsed { statement, days } => Text::new("admin-audit-detail-lapsed")
            .with("statement", statement.clone())
            .with("days", *days),
        AuditDetail::Enrolled { model, vectors } => Text::new("admin-audit-detail-enrolled")
            .with("model", model.to_string())
            .with("vectors", *vectors),
        AuditDetail::RenewalRequested {
            model,
            notice,
            until,
        } => Text::new("admin-audit-detail-renewal")
            .with("model", model.to_string())
            .with("notice", *notice)
            .with("until", local_time(*until, zone)),
        AuditDetail::Retired { model } => {
            Text::new("admin-audit-detail-retired").with("model", model.to_string())
        }
        AuditDetail::Migrated { from, to } => Text::new("admin-audit-detail-migrated")
            .with("from", from.to_string())
            .with("to", to.to_string()),
        AuditDetail::Activated { until } => {
            Text::new("admin-audit-detail-activated").with("until", local_time(*until, zone))
        }
        AuditDetail::Invitation { expires_at } => Text::new("admin-audit-detail-invitation")
            .with("expires", local_time(*expires_at, zone)),
        AuditDetail::Imported {
            first,
            last,
            total,
            created,
            updated,
        } => Text::new("admin-audit-detail-imported")
            .with("first", *first)
            .with("last", *last)
            .with("total", *total)
            .with("created", *created)
            .with("updated", *updated),
        AuditDetail::Rekeyed {
            organisations,
            vector_keys,
            connector_secrets,
            admin_secrets,
        } => Text::new("admin-audit-detail-rekeyed")
            .with("organisations", *organisations)
            .with("vector_keys", *vector_keys)
            .with("connector_secrets", *connector_secrets)
            .with("admin_secrets", *admin_secrets),
    };
    t.text(&text)
}

fn level_words(t: &Tr, level: SecurityLevel) -> String {
    match level {
        SecurityLevel::Standard => t.tr("admin-organisation-level-standard"),
        SecurityLevel::High => t.tr("admin-organisation-level-high"),
        SecurityLevel::VeryHigh => t.tr("admin-organisation-level-very-high"),
    }
}

fn liveness_words(t: &Tr, mode: LivenessMode) -> String {
    match mode {
        LivenessMode::Off => t.tr("admin-audit-liveness-off"),
        LivenessMode::Monitor => t.tr("admin-audit-liveness-monitor"),
        LivenessMode::Enforce => t.tr("admin-audit-liveness-enforce"),
    }
}

fn language_words(t: &Tr, language: Language) -> String {
    match language {
        Language::English => t.tr("language-english"),
        Language::Dutch => t.tr("language-dutch"),
    }
}

/// A decision's detail: the frames fused, the live score (as the
/// language writes a fraction) and why the access system denied.
pub(super) fn decision_words(t: &Tr, detail: &Recorded<DecisionDetail>) -> String {
    let Some(detail) = detail.value() else {
        return detail.text().to_owned();
    };
    let fused =
        (detail.frames > 1).then(|| t.tr1("admin-events-detail-frames", "frames", detail.frames));
    let live = detail.live_score.map(|score| {
        t.tr1(
            "admin-events-detail-live-score",
            "score",
            t.decimal(score, 2),
        )
    });
    let answer = detail.access_system.map(|answer| match answer {
        AccessSystemAnswer::Refused => t.tr("admin-events-detail-refused"),
        AccessSystemAnswer::NoAnswer => t.tr("admin-events-detail-no-answer"),
    });
    let parts: Vec<String> = fused.into_iter().chain(live).chain(answer).collect();
    parts.join("; ")
}
