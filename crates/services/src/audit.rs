//! Appending to the audit trail on behalf of every service.

use limen_domain::Actor;
use limen_store::{AuditEvent, Store};

/// Records an action in a chain (an organisation's id, or the operator's).
/// A failure to record is logged; the action is already done.
pub(crate) async fn record(
    store: &Store,
    chain: &str,
    actor: &Actor,
    action: &str,
    subject: &str,
    detail: &str,
) {
    let actor = actor.to_string();
    let event = AuditEvent {
        actor: &actor,
        action,
        subject,
        detail,
    };
    if let Err(e) = store.audit(chain, event).await {
        tracing::error!(error = %e, action, "cannot append to the audit trail");
    }
}
