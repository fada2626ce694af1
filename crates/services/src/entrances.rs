//! An organisation admin's entrances and camera devices: each change is
//! recorded in the organisation's chain in the transaction that makes it.

use limen_domain::{ConnectorKind, DeviceId, Entrance, EntranceId, Label, OrgAdmin};
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
            let detail = match entrance.connector {
                ConnectorKind::Osdp => "connector osdp".to_owned(),
                ConnectorKind::Http => {
                    format!("connector http {}", entrance.url.as_deref().unwrap_or(""))
                }
            };
            audit::by_admin(admin, "entrance.created", entrance.id.as_str(), &detail)
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
            "entrance.renamed",
            entrance.as_str(),
            &format!("name {}", name.as_str()),
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
        let detail = match secret {
            Some(_) => format!("connector http {url}, new secret"),
            None => format!("connector http {url}"),
        };
        let entry = audit::by_admin(
            admin,
            "entrance.connector_changed",
            entrance.as_str(),
            &detail,
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
        let entry = audit::by_admin(admin, "entrance.deleted", entrance.as_str(), "");
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
        let detail = format!("entrance {entrance}");
        let entry = |device: &DeviceId| {
            audit::by_admin(admin, "device.registered", device.as_str(), &detail)
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
            "device.revoked",
            device.as_str(),
            &format!("entrance {entrance}"),
        );
        Ok(self
            .store()
            .revoke_device(&entry, org, entrance, device)
            .await?)
    }
}
