//! Times on the admin's pages. Nothing yet records an organisation's time
//! zone and no time-zone crate is a dependency, so times are shown in UTC
//! and say so; this is the one place to change when that changes.

use limen_domain::UnixTime;

/// A moment as an admin reads it (`2026-12-29 18:00 UTC`).
pub fn local_time(at: UnixTime) -> String {
    crate::requests::time_text(at)
}

/// The first moment of a day written `YYYY-MM-DD` (UTC, as [`local_time`]
/// shows times), or `None` if it is not such a date.
pub fn day_start(date: &str) -> Option<UnixTime> {
    let mut parts = date.split('-');
    let (Some(year), Some(month), Some(day), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let year: i64 = year.parse().ok()?;
    let month: i64 = month.parse().ok()?;
    let day: i64 = day.parse().ok()?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date, counting years
    // from March so that a leap day ends its year (the inverse of the
    // count in `requests::time_text`).
    let year_from_march = if month <= 2 { year - 1 } else { year };
    let era = year_from_march.div_euclid(400);
    let year_of_era = year_from_march.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some((era * 146_097 + day_of_era - 719_468) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_starts_where_its_time_is_shown_to_start() {
        for date in ["1970-01-01", "2000-02-29", "2026-11-30", "2100-03-01"] {
            let start = day_start(date).unwrap_or_else(|| panic!("{date}"));
            assert_eq!(local_time(start), format!("{date} 00:00 UTC"));
            assert!(local_time(start - 60)[..10] < *date, "{date}");
        }
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-1",
            "30-11-2026",
            "",
            "2026-11-30x",
        ] {
            assert_eq!(day_start(bad), None, "{bad}");
        }
    }
}
