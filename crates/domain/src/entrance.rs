//! Entrances and what was decided at them.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::recorded::{Recorded, Stored, from_json_text, json_text};
use crate::values::{DeviceId, EntranceId, InvalidValue, OrgId, PersonId, UnixTime};

/// An entrance as its admin sees it: the HTTP secret is never shown.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Entrance {
    pub id: EntranceId,
    pub org_id: OrgId,
    pub name: String,
    pub connector: ConnectorKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub liveness: LivenessMode,
    pub created_at: UnixTime,
    /// How many times the HTTP connector's URL or secret was changed: a
    /// connector built for an older version is out of date. Not shown.
    #[serde(skip)]
    pub connector_version: i64,
}

/// A camera device at an entrance, and when it was last heard from. Its
/// token is never shown again after it was issued.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: DeviceId,
    pub entrance_id: EntranceId,
    pub created_at: UnixTime,
    /// Its last frame or heartbeat; `None` while it never reached the server.
    pub last_seen: Option<UnixTime>,
    /// Frames it sent in the current minute and the 59 before.
    pub frames_last_hour: u64,
    pub status: DeviceStatus,
}

/// Whether a device is sending (frames, or heartbeats while nobody is in
/// front of its camera).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    Up,
    /// Silent for longer than the configured silence, or never heard from.
    Down,
}

impl DeviceStatus {
    /// A device last heard from at `last_seen` is down once it has been
    /// silent for longer than `down_after` at `now`.
    pub fn at(last_seen: Option<UnixTime>, now: UnixTime, down_after: Duration) -> DeviceStatus {
        let down_after = i64::try_from(down_after.as_secs()).unwrap_or(i64::MAX);
        match last_seen {
            Some(seen) if now.saturating_sub(seen) <= down_after => DeviceStatus::Up,
            _ => DeviceStatus::Down,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Up => "up",
            DeviceStatus::Down => "down",
        }
    }
}

/// Whether an entrance judges that a frame shows a live face, not a photo
/// or a screen held up to the camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LivenessMode {
    /// Not judged.
    Off,
    /// Judged and recorded in the decision event; the door is unaffected.
    Monitor,
    /// A pass judged not live is answered `spoof_suspected` and never
    /// matched.
    Enforce,
}

impl LivenessMode {
    /// A new entrance's mode (the database column's default too): scores
    /// recorded, nothing refused, until the figures justify enforcing.
    pub const DEFAULT: LivenessMode = LivenessMode::Monitor;

    pub const ALL: [LivenessMode; 3] = [
        LivenessMode::Off,
        LivenessMode::Monitor,
        LivenessMode::Enforce,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LivenessMode::Off => "off",
            LivenessMode::Monitor => "monitor",
            LivenessMode::Enforce => "enforce",
        }
    }

    pub fn parse(text: &str) -> Result<LivenessMode, InvalidValue> {
        LivenessMode::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
            .ok_or(InvalidValue::LivenessMode)
    }
}

/// How an entrance tells its access system whom it saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    /// The camera agent is wired to the access panel as an OSDP reader.
    Osdp,
    /// Limen calls the access system over HTTP.
    Http,
}

impl ConnectorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::Osdp => "osdp",
            ConnectorKind::Http => "http",
        }
    }
}

/// What happened to a frame at an entrance, as the device is told and the
/// decision event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    NoFace,
    PoorQuality,
    Unknown,
    /// OSDP entrance: the agent presents the ACS id to the panel.
    Matched,
    /// HTTP entrance: the access system granted.
    Granted,
    /// The access system said no, or could not be asked.
    Denied,
    /// An entrance that enforces liveness judged the pass not live (a
    /// photo or a screen): nobody was searched.
    SpoofSuspected,
}

impl Decision {
    pub const ALL: [Decision; 7] = [
        Decision::NoFace,
        Decision::PoorQuality,
        Decision::Unknown,
        Decision::Matched,
        Decision::Granted,
        Decision::Denied,
        Decision::SpoofSuspected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::NoFace => "no_face",
            Decision::PoorQuality => "poor_quality",
            Decision::Unknown => "unknown",
            Decision::Matched => "matched",
            Decision::Granted => "granted",
            Decision::Denied => "denied",
            Decision::SpoofSuspected => "spoof_suspected",
        }
    }

    pub fn parse(text: &str) -> Option<Decision> {
        Decision::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One decision at an entrance: no image, no vector, no match score.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DecisionEvent {
    pub entrance_id: EntranceId,
    pub at: UnixTime,
    pub decision: Decision,
    pub person_id: Option<PersonId>,
    /// In English, e.g. "3 frames of one pass; live score 0.97"; empty
    /// when there is nothing to add to the decision.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub detail: Recorded<DecisionDetail>,
}

/// What a decision event records beyond its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionDetail {
    /// Frames of one pass decided together; 0 or 1 for a single frame.
    #[serde(default, skip_serializing_if = "single")]
    pub frames: u32,
    /// The pass's live score (a judgement of the presentation, nothing
    /// of the face), where the entrance judges liveness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_score: Option<f32>,
    /// Why the access system gave no grant, where it was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_system: Option<AccessSystemAnswer>,
}

fn single(frames: &u32) -> bool {
    *frames <= 1
}

/// An access system's answer that denied entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessSystemAnswer {
    /// It said no.
    Refused,
    /// It could not be asked, or gave no decision; why stays in the
    /// server's log (the reasons would map the network it sits in).
    NoAnswer,
}

impl Stored for DecisionDetail {
    fn to_stored(&self) -> String {
        json_text(self, &DecisionDetail::default())
    }

    fn from_stored(text: &str) -> Option<DecisionDetail> {
        from_json_text(text, DecisionDetail::default())
    }
}

/// In English, for programs (the JSON API).
impl fmt::Display for DecisionDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fused = (self.frames > 1).then(|| format!("{} frames of one pass", self.frames));
        let live = self
            .live_score
            .map(|score| format!("live score {score:.2}"));
        let answer = self.access_system.map(|answer| {
            match answer {
                AccessSystemAnswer::Refused => "refused by the access system",
                AccessSystemAnswer::NoAnswer => "the access system did not answer",
            }
            .to_owned()
        });
        let parts: Vec<String> = fused.into_iter().chain(live).chain(answer).collect();
        f.write_str(&parts.join("; "))
    }
}

/// A device's name for one approach of one person (the `Limen-Pass`
/// header): the frames it sends under one pass id are decided together.
/// The device chooses it; it is unique only among that device's passes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PassId(String);

impl PassId {
    pub fn parse(text: &str) -> Result<PassId, InvalidValue> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if (1..=64).contains(&text.len()) && text.chars().all(allowed) {
            Ok(PassId(text.to_owned()))
        } else {
            Err(InvalidValue::PassId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_read_back_what_they_write() {
        for decision in Decision::ALL {
            assert_eq!(Decision::parse(decision.as_str()), Some(decision));
            assert_eq!(
                serde_json::to_value(decision).expect("serialise"),
                decision.as_str()
            );
        }
        assert_eq!(Decision::parse("maybe"), None);
        for mode in LivenessMode::ALL {
            assert_eq!(LivenessMode::parse(mode.as_str()), Ok(mode));
        }
        assert!(LivenessMode::parse("on").is_err());
    }

    #[test]
    fn decision_details_read_back_and_say_in_english_what_they_said() {
        let detail = DecisionDetail {
            frames: 3,
            live_score: Some(0.97),
            access_system: Some(AccessSystemAnswer::NoAnswer),
        };
        let read = Recorded::<DecisionDetail>::read(detail.to_stored());
        assert_eq!(read, Recorded::new(detail));
        assert_eq!(
            read.to_string(),
            "3 frames of one pass; live score 0.97; the access system did not answer"
        );
        assert_eq!(DecisionDetail::default().to_stored(), "");
        let old = Recorded::<DecisionDetail>::read("5 frames of one pass".to_owned());
        assert_eq!(old.value(), None);
        assert_eq!(old.to_string(), "5 frames of one pass");
    }

    #[test]
    fn pass_ids_are_short_and_plain() {
        assert!(PassId::parse("3f2a9c0d-17").is_ok());
        assert!(PassId::parse(&"a".repeat(64)).is_ok());
        for bad in ["", " ", "a b", "ä", "a/b", &"a".repeat(65)] {
            assert_eq!(PassId::parse(bad), Err(InvalidValue::PassId), "{bad:?}");
        }
    }

    #[test]
    fn a_device_is_down_after_the_silence_and_when_never_heard_from() {
        let silence = Duration::from_secs(120);
        assert_eq!(
            DeviceStatus::at(Some(1000), 1120, silence),
            DeviceStatus::Up
        );
        assert_eq!(
            DeviceStatus::at(Some(1000), 1121, silence),
            DeviceStatus::Down
        );
        assert_eq!(DeviceStatus::at(None, 1000, silence), DeviceStatus::Down);
    }
}
