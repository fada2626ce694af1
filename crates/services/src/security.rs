//! An organisation's security level: which false-positive identification
//! rate its entrances aim at, and what that means for its own gallery; and
//! each entrance's liveness mode.

use limen_domain::{
    AuditAction, AuditDetail, EntranceId, LivenessMode, OrgAdmin, OrgId, SecurityLevel,
};

use crate::error::ServiceError;
use crate::{Services, audit};

/// What an admin sees of their organisation's security level: the level,
/// what it promises, and what the model's calibration on lfw-dev says it
/// costs their people.
#[derive(Debug, Clone)]
pub struct SecurityView {
    pub level: SecurityLevel,
    /// The share of strangers the level lets be matched to somebody.
    pub target_fpir: f64,
    /// People in the organisation's gallery (on this instance).
    pub gallery_people: usize,
    /// The normalised distance under which one frame is a match, for
    /// today's gallery; a pass of several frames is held to a stricter one.
    pub threshold: f32,
    /// Share of an enrolled person's single frames accepted, as measured
    /// on lfw-dev, for people enrolled with one and with three vectors.
    pub expected_acceptance_one_vector: f32,
    pub expected_acceptance_three_vectors: f32,
}

impl Services {
    pub async fn security(&self, org: &OrgId) -> Result<SecurityView, ServiceError> {
        let level = self
            .store()
            .security_level(org)
            .await?
            .ok_or(ServiceError::UnknownOrganisation)?;
        self.security_view(org, level)
    }

    /// Sets the level; it applies to the next frame at any instance.
    pub async fn set_security_level(
        &self,
        admin: &OrgAdmin,
        level: SecurityLevel,
    ) -> Result<SecurityView, ServiceError> {
        let org = &admin.org;
        let entry = audit::by_admin(
            admin,
            AuditAction::SecurityLevelChanged,
            org.as_str(),
            AuditDetail::SecurityLevel { level },
        );
        if !self.store().set_security_level(&entry, org, level).await? {
            return Err(ServiceError::UnknownOrganisation);
        }
        self.security_view(org, level)
    }

    /// Sets how an entrance of `org` judges liveness; audited.
    pub async fn set_entrance_liveness(
        &self,
        admin: &OrgAdmin,
        entrance: &EntranceId,
        mode: LivenessMode,
    ) -> Result<(), ServiceError> {
        let org = &admin.org;
        let entry = audit::by_admin(
            admin,
            AuditAction::EntranceLivenessChanged,
            entrance.as_str(),
            AuditDetail::Liveness { mode },
        );
        if !self
            .store()
            .set_entrance_liveness(&entry, org, entrance, mode)
            .await?
        {
            return Err(ServiceError::UnknownEntrance);
        }
        Ok(())
    }

    fn security_view(
        &self,
        org: &OrgId,
        level: SecurityLevel,
    ) -> Result<SecurityView, ServiceError> {
        let active = self.model_version();
        // The active version's gallery is always held.
        let calibration = self
            .galleries
            .calibration(&active)
            .ok_or(ServiceError::Internal)?;
        let gallery_people = self.galleries.len(org, &active);
        Ok(SecurityView {
            level,
            target_fpir: level.target_fpir(),
            gallery_people,
            threshold: calibration.threshold(level, gallery_people, 1),
            expected_acceptance_one_vector: calibration.expected_genuine_acceptance(level, 1),
            expected_acceptance_three_vectors: calibration.expected_genuine_acceptance(level, 3),
        })
    }
}
