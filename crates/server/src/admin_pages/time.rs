//! Times on the admin's pages, in the organisation's time zone (chosen on
//! its page, Amsterdam's until then), with the zone's abbreviation.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use limen_domain::UnixTime;

/// The organisation's zone by its IANA name; UTC, logged, for a name this
/// build's time-zone database does not know (set before an update that
/// dropped it).
pub fn zone_named(name: &str) -> TimeZone {
    jiff::tz::db().get(name).unwrap_or_else(|e| {
        tracing::warn!(zone = name, error = %e, "unknown time zone; times shown in UTC");
        TimeZone::UTC
    })
}

/// Whether `name` is a zone an organisation may choose.
pub fn is_known_zone(name: &str) -> bool {
    jiff::tz::db().get(name).is_ok()
}

/// The zones an organisation may choose, by name.
pub fn known_zones() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.contains('/') && !name.starts_with("Etc/"))
        .collect();
    names.sort();
    names.push("UTC".to_owned());
    names
}

/// The zone's IANA name, as the pages name it (`Europe/Amsterdam`).
pub fn zone_name(zone: &TimeZone) -> &str {
    zone.iana_name().unwrap_or("UTC")
}

/// A moment as an admin reads it (`2026-12-29 19:00 CET`).
pub fn local_time(at: UnixTime, zone: &TimeZone) -> String {
    match Timestamp::from_second(at) {
        Ok(moment) => moment
            .to_zoned(zone.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string(),
        Err(_) => at.to_string(),
    }
}

/// The first moment of a day written `YYYY-MM-DD` in the zone, or `None`
/// if it is not such a date.
pub fn day_start(date: &str, zone: &TimeZone) -> Option<UnixTime> {
    if date.len() != 10 {
        return None;
    }
    let day: Date = date.parse().ok()?;
    let start = day.to_zoned(zone.clone()).ok()?.start_of_day().ok()?;
    Some(start.timestamp().as_second())
}

/// The first moment of the day after the one written `YYYY-MM-DD`, in
/// the zone.
pub fn next_day_start(date: &str, zone: &TimeZone) -> Option<UnixTime> {
    if date.len() != 10 {
        return None;
    }
    let day: Date = date.parse().ok()?;
    day_start(&day.tomorrow().ok()?.to_string(), zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_starts_where_its_time_is_shown_to_start() {
        for zone in [
            "UTC",
            "Europe/Amsterdam",
            "America/New_York",
            "Asia/Kolkata",
        ] {
            let zone = zone_named(zone);
            for date in [
                "1970-01-01",
                "2000-02-29",
                "2026-11-30",
                "2026-03-29",
                "2100-03-01",
            ] {
                let start = day_start(date, &zone).unwrap_or_else(|| panic!("{date}"));
                assert!(local_time(start, &zone).starts_with(&format!("{date} 00:00 ")));
                assert!(local_time(start - 60, &zone)[..10] < *date, "{date}");
            }
        }
        let amsterdam = zone_named("Europe/Amsterdam");
        let (start, next) = (
            day_start("2026-03-29", &amsterdam),
            next_day_start("2026-03-29", &amsterdam),
        );
        assert_eq!(
            next.zip(start).map(|(n, s)| n - s),
            Some(23 * 3600),
            "summer time"
        );
        let utc = zone_named("UTC");
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-1",
            "30-11-2026",
            "",
            "2026-11-30x",
        ] {
            assert_eq!(day_start(bad, &utc), None, "{bad}");
        }
    }

    #[test]
    fn times_are_the_zones_with_its_abbreviation() {
        // 2026-07-01 12:00 UTC.
        let noon = 1_782_907_200;
        assert_eq!(local_time(noon, &zone_named("UTC")), "2026-07-01 12:00 UTC");
        assert_eq!(
            local_time(noon, &zone_named("Europe/Amsterdam")),
            "2026-07-01 14:00 CEST"
        );
        assert_eq!(
            local_time(noon, &zone_named("America/New_York")),
            "2026-07-01 08:00 EDT"
        );
        assert_eq!(
            local_time(noon, &zone_named("Mars/Olympus_Mons")),
            "2026-07-01 12:00 UTC"
        );
        assert!(is_known_zone("Europe/Amsterdam") && !is_known_zone("Mars/Olympus_Mons"));
        assert!(known_zones().iter().any(|z| z == "Europe/Amsterdam"));
    }
}
