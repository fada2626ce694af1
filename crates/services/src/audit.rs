//! The audit entries the services record. Each audited action hands its
//! entry to the store method that performs it, so that the two commit
//! together: an action whose entry cannot be written does not happen.

use limen_domain::{Actor, AuditAction, AuditDetail, OrgAdmin, OrgId, Person};
use limen_store::{AuditEntry, AuditRecord, BrokenLink, OPERATOR_CHAIN};

use crate::Services;
use crate::error::ServiceError;

/// An organisation's audit trail as its admin reads it, with the check of
/// its chain.
pub struct CheckedTrail {
    /// Oldest first.
    pub entries: Vec<AuditEntry>,
    /// How many entries were checked, or where the chain breaks.
    pub verified: Result<usize, BrokenLink>,
}

impl Services {
    /// The admin's organisation's audit trail, its links checked and its
    /// head checked against this instance's anchor.
    pub async fn checked_audit_trail(
        &self,
        admin: &OrgAdmin,
    ) -> Result<CheckedTrail, ServiceError> {
        let chain = admin.org.as_str();
        let verified = self.store().verify_audit_chain(chain).await?;
        let entries = self.store().audit_trail(chain).await?;
        Ok(CheckedTrail { entries, verified })
    }
}

/// An entry in a chain (an organisation's id, or the operator's).
pub(crate) fn entry(
    chain: &str,
    actor: &Actor,
    action: AuditAction,
    subject: &str,
    detail: AuditDetail,
) -> AuditRecord {
    AuditRecord {
        chain: chain.to_owned(),
        actor: actor.to_string(),
        action,
        subject: subject.to_owned(),
        detail,
    }
}

/// An employee's own action, in their organisation's chain.
pub(crate) fn by_employee(
    person: &Person,
    action: AuditAction,
    detail: AuditDetail,
) -> AuditRecord {
    entry(
        person.org_id.as_str(),
        &Actor::Employee(person.id.clone()),
        action,
        person.id.as_str(),
        detail,
    )
}

/// An organisation admin's action, in the organisation's chain.
pub(crate) fn by_admin(
    admin: &OrgAdmin,
    action: AuditAction,
    subject: &str,
    detail: AuditDetail,
) -> AuditRecord {
    entry(admin.org.as_str(), &admin.actor(), action, subject, detail)
}

/// The operator's action on an organisation, in the operator's chain.
pub(crate) fn by_operator(action: AuditAction, org: &OrgId, detail: AuditDetail) -> AuditRecord {
    entry(
        OPERATOR_CHAIN,
        &Actor::Operator,
        action,
        org.as_str(),
        detail,
    )
}
