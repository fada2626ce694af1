//! A changed privacy statement is a new consent. The statement's version
//! is the digest of its text as the organisation shows it, so a new text
//! (or a renamed organisation) is a new version. From the moment an
//! instance first shows it, people whose consent names an older version
//! are asked by e-mail to read it and consent again; their consent and
//! vectors stay valid for the re-consent period, then the consent lapses
//! (as a withdrawal: the vectors are deleted). Declining is withdrawing.

use std::collections::HashMap;

use limen_domain::{
    Actor, AuditAction, AuditDetail, Language, OrgId, Organisation, Person, Statement, UnixTime,
    now,
};
use limen_store::Store;

use crate::audit;
use crate::error::ServiceError;
use crate::galleries::Galleries;
use crate::{Retention, Services};

const DAY: i64 = 86_400;

/// A request to consent to a new statement.
#[derive(Debug, Clone)]
pub struct ReconsentRequest {
    pub person: Person,
    /// The language the person reads e-mail in.
    pub language: Language,
    pub organisation: String,
    /// When the consent to the older statement lapses.
    pub lapses_at: UnixTime,
}

fn period(retention: &Retention) -> i64 {
    i64::from(retention.reconsent_days) * DAY
}

/// What the keeper knows of an organisation's current statement in one
/// language.
pub(crate) struct KnownStatement {
    version: String,
    shown_from: UnixTime,
    /// The consents to older versions have lapsed: none can come back, as
    /// consent is only given to the current version.
    swept: bool,
}

/// Notes each organisation's current statement version and lets lapse
/// the consents to older ones whose period is over. `known` spares the
/// database what this instance has already seen.
pub(crate) async fn keep_statements(
    store: &Store,
    galleries: &Galleries,
    retention: &Retention,
    known: &mut HashMap<(OrgId, Language), KnownStatement>,
) {
    let organisations = match store.organisations().await {
        Ok(organisations) => organisations,
        Err(e) => {
            tracing::warn!(error = %e, "cannot check the privacy statements");
            return;
        }
    };
    for org in organisations {
        for language in Language::ALL {
            if let Err(e) = keep_statement(store, galleries, retention, &org, language, known).await
            {
                tracing::warn!(error = %e, org = %org.id, %language, "cannot check the privacy statement");
            }
        }
    }
}

async fn keep_statement(
    store: &Store,
    galleries: &Galleries,
    retention: &Retention,
    org: &Organisation,
    language: Language,
    known: &mut HashMap<(OrgId, Language), KnownStatement>,
) -> Result<(), ServiceError> {
    let current = Statement::for_organisation(&org.name, language).version;
    let key = (org.id.clone(), language);
    let at = now();
    if known.get(&key).is_none_or(|k| k.version != current) {
        let shown_from = store.note_statement_version(&org.id, &current, at).await?;
        known.insert(
            key.clone(),
            KnownStatement {
                version: current.clone(),
                shown_from,
                swept: false,
            },
        );
    }
    let Some(statement) = known.get_mut(&key) else {
        return Ok(());
    };
    if statement.swept || at < statement.shown_from.saturating_add(period(retention)) {
        return Ok(());
    }
    // A consent given meanwhile in another language is current too.
    let current_versions = Statement::current_versions(&org.name);
    for person in store.outdated_consents(&org.id, language, &current).await? {
        let entry = audit::entry(
            org.id.as_str(),
            &Actor::Operator,
            AuditAction::ConsentLapsed,
            person.id.as_str(),
            AuditDetail::Lapsed {
                statement: current.to_string(),
                days: retention.reconsent_days,
            },
        );
        if store
            .lapse_outdated_consent(&entry, &person, &current_versions)
            .await?
        {
            galleries.follow_own_change().await;
        }
    }
    statement.swept = true;
    Ok(())
}

impl Services {
    /// When the person's consent to an older statement lapses, if it names
    /// one.
    pub async fn consent_lapses_at(
        &self,
        person: &Person,
    ) -> Result<Option<UnixTime>, ServiceError> {
        let consents = self.store().consents(person).await?;
        let Some(active) = consents.iter().find(|c| c.is_active()) else {
            return Ok(None);
        };
        let current = self
            .statement_for(person, active.statement_language)
            .await?
            .version;
        if active.statement_version == current {
            return Ok(None);
        }
        let shown_from = self
            .store()
            .statement_shown_from(&person.org_id, &current)
            .await?
            .unwrap_or_else(now);
        Ok(Some(shown_from.saturating_add(period(self.retention()))))
    }

    /// Sends every request to consent again now due, each once across
    /// instances (claimed first, given back when `send` fails). Returns
    /// how many were sent.
    pub async fn send_reconsent_requests<F, Fut, E>(&self, send: F) -> Result<usize, ServiceError>
    where
        F: Fn(ReconsentRequest) -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut sent = 0;
        let organisations = self.store().organisations().await?;
        let statements = organisations
            .iter()
            .flat_map(|org| Language::ALL.map(|language| (org, language)));
        for (org, language) in statements {
            let current = Statement::for_organisation(&org.name, language).version;
            let Some(shown_from) = self.store().statement_shown_from(&org.id, &current).await?
            else {
                // Not yet noted by the keeper: asked on a later round.
                continue;
            };
            for person in self
                .store()
                .outdated_consents(&org.id, language, &current)
                .await?
            {
                if !self
                    .store()
                    .claim_reconsent_request(&person.id, &current, now())
                    .await?
                {
                    continue;
                }
                let request = ReconsentRequest {
                    language: Language::read_by(person.language, None, org.language),
                    person: person.clone(),
                    organisation: org.name.clone(),
                    lapses_at: shown_from.saturating_add(period(self.retention())),
                };
                match send(request).await {
                    Ok(()) => {
                        sent += 1;
                        let entry = audit::entry(
                            org.id.as_str(),
                            &Actor::Operator,
                            AuditAction::ConsentRenewalRequested,
                            person.id.as_str(),
                            AuditDetail::Statement {
                                statement: current.to_string(),
                            },
                        );
                        // The e-mail is out; an entry that cannot follow
                        // it is an error for the operator, not a reason to
                        // send again.
                        if let Err(e) = self.store().audit(&entry).await {
                            tracing::error!(error = %e, "a request to consent again was sent but not recorded");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "request to consent again not sent; it will be tried again");
                        self.store()
                            .release_reconsent_request(&person.id, &current)
                            .await?;
                    }
                }
            }
        }
        Ok(sent)
    }
}
