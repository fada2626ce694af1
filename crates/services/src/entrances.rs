//! An organisation admin's entrances and camera devices: each change is
//! recorded in the organisation's chain in the transaction that makes it.

use limen_domain::{AuditAction, AuditDetail, DeviceId, Entrance, EntranceId, Label, OrgAdmin};
use limen_store::{DecisionFilter, NamedDecision, NewConnector};

use crate::error::ServiceError;
use crate::{Services, audit};

impl Services {
    pub async fn create_entrance(
        &self,
        admin: &OrgAdmin,
        name: &Label,
        connector: &NewConnector<'_>,
    ) -> Result<Entrance, ServiceError> {
        let org = &admin.org;
        let entry = |entrance: &Entrance| {
            let detail = AuditDetail::Connector {
                connector: entrance.connector,
                url: entrance.url.clone(),
            };
            audit::by_admin(
                admin,
                AuditAction::EntranceCreated,
                entrance.id.as_str(),
                detail,
            )
        };
        Ok(self
            .store()
            .create_entrance(entry, org, name.as_str(), connector)
            .await?)
    }

    /// Renames one of the admin's entrances; false if there is no such
    /// entrance in the organisation.
    pub async fn rename_entrance(
        &self,
        admin: &OrgAdmin,
        entrance: &EntranceId,
        name: &Label,
    ) -> Result<bool, ServiceError> {
        let entry = audit::by_admin(
            admin,
            AuditAction::EntranceRenamed,
            entrance.as_str(),
            AuditDetail::Name {
                name: name.as_str().to_owned(),
            },
        );
        Ok(self
            .store()
            .rename_entrance(&entry, &admin.org, entrance, name.as_str())
            .await?)
    }

    /// Changes the URL of one of the admin's HTTP entrances, and its secret
    /// when one is given, keeping its devices; recorded without the
    /// secret. False if there is no such HTTP entrance.
    pub async fn change_connector(
        &self,
        admin: &OrgAdmin,
        entrance: &EntranceId,
        url: &str,
        secret: Option<&[u8]>,
    ) -> Result<bool, ServiceError> {
        let detail = AuditDetail::ConnectorChanged {
            url: url.to_owned(),
            new_secret: secret.is_some(),
        };
        let entry = audit::by_admin(
            admin,
            AuditAction::EntranceConnectorChanged,
            entrance.as_str(),
            detail,
        );
        Ok(self
            .store()
            .change_connector(&entry, &admin.org, entrance, url, secret)
            .await?)
    }

    /// Deletes one of the admin's entrances with its devices and its
    /// decision events; false if there is no such entrance.
    pub async fn delete_entrance(
        &self,
        admin: &OrgAdmin,
        entrance: &EntranceId,
    ) -> Result<bool, ServiceError> {
        let entry = audit::by_admin(
            admin,
            AuditAction::EntranceDeleted,
            entrance.as_str(),
            AuditDetail::None,
        );
        Ok(self
            .store()
            .delete_entrance(&entry, &admin.org, entrance)
            .await?)
    }

    /// The organisation's decision events that `filter` lets through, with
    /// the names an admin reads them by.
    pub async fn decision_events(
        &self,
        admin: &OrgAdmin,
        filter: &DecisionFilter,
    ) -> Result<Vec<NamedDecision>, ServiceError> {
        Ok(self
            .store()
            .named_decision_events(&admin.org, filter)
            .await?)
    }

    /// Registers a device (given as its token's hash) at an entrance of
    /// `org`; `None` when the organisation has no such entrance.
    pub async fn register_device(
        &self,
        admin: &OrgAdmin,
        entrance: &EntranceId,
        token_hash: &[u8],
    ) -> Result<Option<DeviceId>, ServiceError> {
        let org = &admin.org;
        let entry = |device: &DeviceId| {
            let detail = AuditDetail::Entrance {
                entrance: entrance.clone(),
            };
            audit::by_admin(
                admin,
                AuditAction::DeviceRegistered,
                device.as_str(),
                detail,
            )
        };
        Ok(self
            .store()
            .create_device(entry, org, entrance, token_hash)
            .await?)
    }

    /// Revokes a device; false when `org` has no such device at that entrance.
    pub async fn revoke_device(
        &self,
        admin: &OrgAdmin,
        entrance: &EntranceId,
        device: &DeviceId,
    ) -> Result<bool, ServiceError> {
        let org = &admin.org;
        let entry = audit::by_admin(
            admin,
            AuditAction::DeviceRevoked,
            device.as_str(),
            AuditDetail::Entrance {
                entrance: entrance.clone(),
            },
        );
        Ok(self
            .store()
            .revoke_device(&entry, org, entrance, device)
            .await?)
    }
}
