//! Entrances, their camera devices, and the decision events of passages.

use limen_domain::{
    ConnectorKind, Decision, DecisionDetail, DecisionEvent, DeviceId, Entrance, EntranceId,
    LivenessMode, OrgId, PersonId, Recorded, SecurityLevel, Stored, UnixTime, now,
};
use sqlx::Row;
use sqlx::any::AnyRow;
use zeroize::Zeroizing;

use crate::audit::AuditRecord;
use crate::store::{Store, StoreError, parse_col};

/// How an entrance tells its access system whom it saw, as given when the
/// entrance is created.
pub enum NewConnector<'a> {
    /// The camera agent is wired to the access panel as an OSDP reader.
    Osdp,
    /// Limen POSTs a signed request to `url`; `secret` is the HMAC key.
    Http { url: &'a str, secret: &'a [u8] },
}

/// A device that presented a valid token, and where it stands.
#[derive(Debug, Clone)]
pub struct DeviceAtEntrance {
    pub device_id: DeviceId,
    pub entrance: Entrance,
    /// The entrance's organisation's security level, read with the device.
    pub security_level: SecurityLevel,
}

/// Which decision events to list; `None` lets every one through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionFilter {
    pub entrance: Option<EntranceId>,
    pub decision: Option<Decision>,
    /// From this moment on (inclusive).
    pub from: Option<UnixTime>,
    /// Before this moment.
    pub until: Option<UnixTime>,
}

/// The most decision events listed at once.
pub const MAX_LISTED_DECISIONS: i64 = 500;

/// A decision event as an admin reads it: where, by the entrance's name,
/// and whom, by the person's name (`None` when nobody was matched, or the
/// person has been erased since).
#[derive(Debug, Clone)]
pub struct NamedDecision {
    pub event: DecisionEvent,
    pub entrance: String,
    pub person: Option<String>,
}

const ENTRANCE_COLUMNS: &str = "e.id, e.org_id, e.name, e.connector, e.http_url, e.liveness, e.created_at, e.connector_version";

impl Store {
    /// Creates an entrance, recorded as `audit` makes it.
    pub async fn create_entrance(
        &self,
        audit: impl FnOnce(&Entrance) -> AuditRecord,
        org: &OrgId,
        name: &str,
        connector: &NewConnector<'_>,
    ) -> Result<Entrance, StoreError> {
        let id = EntranceId::generate();
        let created_at = now();
        let mut tx = self.begin_write().await?;
        let (kind, url, sealed) = match connector {
            NewConnector::Osdp => (ConnectorKind::Osdp, None, None),
            NewConnector::Http { url, secret } => {
                let key = self.data_key(&mut tx, org).await?;
                let sealed = key.seal(secret, &secret_context(org, &id));
                (ConnectorKind::Http, Some((*url).to_owned()), Some(sealed))
            }
        };
        sqlx::query(
            "INSERT INTO entrances (id, org_id, name, connector, http_url, sealed_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.as_str())
        .bind(org.as_str())
        .bind(name)
        .bind(kind.as_str())
        .bind(url.clone())
        .bind(sealed)
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
        let entrance = Entrance {
            id,
            org_id: org.clone(),
            name: name.to_owned(),
            connector: kind,
            url,
            liveness: LivenessMode::DEFAULT,
            created_at,
            connector_version: 0,
        };
        self.commit_audited(tx, &audit(&entrance)).await?;
        Ok(entrance)
    }

    /// Sets how `entrance` of `org` judges liveness; false if there is no
    /// such entrance in that organisation.
    pub async fn set_entrance_liveness(
        &self,
        audit: &AuditRecord,
        org: &OrgId,
        entrance: &EntranceId,
        mode: LivenessMode,
    ) -> Result<bool, StoreError> {
        let change =
            sqlx::query("UPDATE entrances SET liveness = $1 WHERE id = $2 AND org_id = $3")
                .bind(mode.as_str())
                .bind(entrance.as_str())
                .bind(org.as_str());
        self.change_audited(audit, change).await
    }

    /// Renames an entrance; false if `org` has no such entrance.
    pub async fn rename_entrance(
        &self,
        audit: &AuditRecord,
        org: &OrgId,
        entrance: &EntranceId,
        name: &str,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query("UPDATE entrances SET name = $1 WHERE id = $2 AND org_id = $3")
            .bind(name)
            .bind(entrance.as_str())
            .bind(org.as_str());
        self.change_audited(audit, change).await
    }

    /// Changes an HTTP entrance's connector: its URL, and its secret when
    /// one is given (sealed as at creation), counting the change; its
    /// devices and their tokens stay. False if `org` has no such HTTP
    /// entrance.
    pub async fn change_connector(
        &self,
        audit: &AuditRecord,
        org: &OrgId,
        entrance: &EntranceId,
        url: &str,
        secret: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let changed = match secret {
            Some(secret) => {
                let sealed = self
                    .data_key(&mut tx, org)
                    .await?
                    .seal(secret, &secret_context(org, entrance));
                sqlx::query(
                    "UPDATE entrances SET http_url = $1, sealed_secret = $2, connector_version = connector_version + 1 \
                     WHERE id = $3 AND org_id = $4 AND connector = 'http'",
                )
                .bind(url)
                .bind(sealed)
                .bind(entrance.as_str())
                .bind(org.as_str())
                .execute(&mut *tx)
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE entrances SET http_url = $1, connector_version = connector_version + 1 \
                     WHERE id = $2 AND org_id = $3 AND connector = 'http'",
                )
                .bind(url)
                .bind(entrance.as_str())
                .bind(org.as_str())
                .execute(&mut *tx)
                .await?
            }
        };
        if changed.rows_affected() == 0 {
            return Ok(false);
        }
        self.commit_audited(tx, audit).await?;
        Ok(true)
    }

    /// Deletes an entrance with its devices (their tokens stop working)
    /// and its decision events; false if `org` has no such entrance.
    pub async fn delete_entrance(
        &self,
        audit: &AuditRecord,
        org: &OrgId,
        entrance: &EntranceId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if !entrance_of(&mut tx, org, entrance).await? {
            return Ok(false);
        }
        // Explicitly, as for an organisation: nothing of it outlives it.
        for statement in [
            "DELETE FROM decision_events WHERE entrance_id = $1",
            "DELETE FROM device_frames WHERE device_id IN (SELECT id FROM devices WHERE entrance_id = $1)",
            "DELETE FROM devices WHERE entrance_id = $1",
            "DELETE FROM entrances WHERE id = $1",
        ] {
            sqlx::query(statement)
                .bind(entrance.as_str())
                .execute(&mut *tx)
                .await?;
        }
        self.commit_audited(tx, audit).await?;
        Ok(true)
    }

    pub async fn entrances(&self, org: &OrgId) -> Result<Vec<Entrance>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ENTRANCE_COLUMNS} FROM entrances e WHERE e.org_id = $1 ORDER BY e.name, e.created_at"
        ))
        .bind(org.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entrance_from_row).collect()
    }

    pub async fn entrance(
        &self,
        org: &OrgId,
        id: &EntranceId,
    ) -> Result<Option<Entrance>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ENTRANCE_COLUMNS} FROM entrances e WHERE e.org_id = $1 AND e.id = $2"
        ))
        .bind(org.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(entrance_from_row).transpose()
    }

    /// The HTTP connector's secret, decrypted; `None` for an OSDP entrance.
    pub async fn entrance_secret(
        &self,
        entrance: &Entrance,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query("SELECT sealed_secret FROM entrances WHERE org_id = $1 AND id = $2")
            .bind(entrance.org_id.as_str())
            .bind(entrance.id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        let Some(sealed) = row
            .map(|r| r.try_get::<Option<Vec<u8>>, _>("sealed_secret"))
            .transpose()?
            .flatten()
        else {
            return Ok(None);
        };
        let key = self.data_key(&mut conn, &entrance.org_id).await?;
        key.open(&sealed, &secret_context(&entrance.org_id, &entrance.id))
            .map(Some)
            .map_err(|_| StoreError::Corrupt("entrance secret"))
    }

    /// Registers a device (given as its token's hash) at an entrance of
    /// `org`, recorded as `audit` makes it; `None` when the organisation
    /// has no such entrance.
    pub async fn create_device(
        &self,
        audit: impl FnOnce(&DeviceId) -> AuditRecord,
        org: &OrgId,
        entrance: &EntranceId,
        token_hash: &[u8],
    ) -> Result<Option<DeviceId>, StoreError> {
        let mut tx = self.begin_write().await?;
        if !entrance_of(&mut tx, org, entrance).await? {
            return Ok(None);
        }
        let id = DeviceId::generate();
        sqlx::query(
            "INSERT INTO devices (id, entrance_id, token_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.as_str())
        .bind(entrance.as_str())
        .bind(token_hash.to_vec())
        .bind(now())
        .execute(&mut *tx)
        .await?;
        self.commit_audited(tx, &audit(&id)).await?;
        Ok(Some(id))
    }

    /// Revokes a device; false when `org` has no such device at that entrance.
    pub async fn revoke_device(
        &self,
        audit: &AuditRecord,
        org: &OrgId,
        entrance: &EntranceId,
        device: &DeviceId,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query(
            "DELETE FROM devices WHERE id = $1 AND entrance_id IN (SELECT id FROM entrances WHERE org_id = $2 AND id = $3)",
        )
        .bind(device.as_str())
        .bind(org.as_str())
        .bind(entrance.as_str());
        self.change_audited(audit, change).await
    }

    /// The device a token (given as its hash) belongs to, with its entrance.
    pub async fn device_for_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<DeviceAtEntrance>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT d.id AS device_id, o.security_level, {ENTRANCE_COLUMNS} FROM devices d \
             JOIN entrances e ON e.id = d.entrance_id JOIN organisations o ON o.id = e.org_id \
             WHERE d.token_hash = $1"
        ))
        .bind(token_hash.to_vec())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(DeviceAtEntrance {
                device_id: parse_col(&row, "device_id", DeviceId::parse)?,
                entrance: entrance_from_row(&row)?,
                security_level: parse_col(&row, "security_level", |s| s.parse())?,
            })
        })
        .transpose()
    }

    pub async fn record_decision(
        &self,
        org: &OrgId,
        entrance: &EntranceId,
        decision: Decision,
        person: Option<&PersonId>,
        detail: &DecisionDetail,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO decision_events (org_id, entrance_id, at, decision, person_id, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(org.as_str())
        .bind(entrance.as_str())
        .bind(now())
        .bind(decision.as_str())
        .bind(person.map(|p| p.as_str().to_owned()))
        .bind(detail.to_stored())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The organisation's decision events, newest first, optionally of one entrance.
    pub async fn decision_events(
        &self,
        org: &OrgId,
        entrance: Option<&EntranceId>,
    ) -> Result<Vec<DecisionEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT entrance_id, at, decision, person_id, detail FROM decision_events \
             WHERE org_id = $1 AND ($2 = '' OR entrance_id = $2) ORDER BY at DESC, id DESC LIMIT 1000",
        )
        .bind(org.as_str())
        .bind(entrance.map_or("", |e| e.as_str()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decision_from_row).collect()
    }

    /// The organisation's decision events that `filter` lets through, newest
    /// first (at most [`MAX_LISTED_DECISIONS`]), each with its entrance's
    /// name and the matched person's name while they are still known.
    pub async fn named_decision_events(
        &self,
        org: &OrgId,
        filter: &DecisionFilter,
    ) -> Result<Vec<NamedDecision>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.entrance_id, d.at, d.decision, d.person_id, d.detail, e.name AS entrance_name, \
             p.first_name, p.last_name FROM decision_events d \
             JOIN entrances e ON e.id = d.entrance_id \
             LEFT JOIN people p ON p.id = d.person_id AND p.org_id = d.org_id \
             WHERE d.org_id = $1 AND ($2 = '' OR d.entrance_id = $2) AND ($3 = '' OR d.decision = $3) \
             AND d.at >= $4 AND d.at < $5 ORDER BY d.at DESC, d.id DESC LIMIT $6",
        )
        .bind(org.as_str())
        .bind(filter.entrance.as_ref().map_or("", |e| e.as_str()))
        .bind(filter.decision.map_or("", |d| d.as_str()))
        .bind(filter.from.unwrap_or(i64::MIN))
        .bind(filter.until.unwrap_or(i64::MAX))
        .bind(MAX_LISTED_DECISIONS)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let first: Option<String> = row.try_get("first_name")?;
                let last: Option<String> = row.try_get("last_name")?;
                Ok(NamedDecision {
                    event: decision_from_row(row)?,
                    entrance: row.try_get("entrance_name")?,
                    person: first
                        .zip(last)
                        .map(|(first, last)| format!("{first} {last}")),
                })
            })
            .collect()
    }

    /// The decisions at `org`'s entrances that name `person`, oldest first.
    pub async fn decisions_about(
        &self,
        org: &OrgId,
        person: &PersonId,
    ) -> Result<Vec<DecisionEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT entrance_id, at, decision, person_id, detail FROM decision_events \
             WHERE org_id = $1 AND person_id = $2 ORDER BY at, id",
        )
        .bind(org.as_str())
        .bind(person.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decision_from_row).collect()
    }
}

/// Whether `org` has `entrance`, read in the caller's transaction.
async fn entrance_of(
    tx: &mut sqlx::AnyConnection,
    org: &OrgId,
    entrance: &EntranceId,
) -> Result<bool, StoreError> {
    Ok(
        sqlx::query("SELECT id FROM entrances WHERE org_id = $1 AND id = $2")
            .bind(org.as_str())
            .bind(entrance.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .is_some(),
    )
}

fn decision_from_row(row: &AnyRow) -> Result<DecisionEvent, StoreError> {
    let person: Option<String> = row.try_get("person_id")?;
    Ok(DecisionEvent {
        entrance_id: parse_col(row, "entrance_id", EntranceId::parse)?,
        at: row.try_get("at")?,
        decision: parse_col(row, "decision", |d| Decision::parse(d).ok_or(()))?,
        person_id: person
            .map(|p| PersonId::parse(&p).map_err(|_| StoreError::Corrupt("person_id")))
            .transpose()?,
        detail: Recorded::read(row.try_get("detail")?),
    })
}

pub(crate) fn secret_context(org: &OrgId, entrance: &EntranceId) -> Vec<u8> {
    format!("limen entrance secret\0{org}\0{entrance}").into_bytes()
}

fn entrance_from_row(row: &AnyRow) -> Result<Entrance, StoreError> {
    let kind: String = row.try_get("connector")?;
    let connector = match kind.as_str() {
        "osdp" => ConnectorKind::Osdp,
        "http" => ConnectorKind::Http,
        _ => return Err(StoreError::Corrupt("connector")),
    };
    Ok(Entrance {
        id: parse_col(row, "id", EntranceId::parse)?,
        org_id: parse_col(row, "org_id", OrgId::parse)?,
        name: row.try_get("name")?,
        connector,
        url: row.try_get("http_url")?,
        liveness: parse_col(row, "liveness", LivenessMode::parse)?,
        created_at: row.try_get("created_at")?,
        connector_version: row.try_get("connector_version")?,
    })
}
