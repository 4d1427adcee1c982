//! The date formats repositories use: RFC 2822 in Release files ("Sat, 16 May 2026 10:54:28 UTC"),
//! "2024-05-01 10:00:00" or epoch seconds in updateinfo. All as milliseconds since the epoch.

/// Parses "[Day, ]DD Mon YYYY HH:MM:SS ZONE" with ZONE one of UTC, GMT, Z or ±HHMM.
pub fn parse_rfc2822_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = match s.split_once(',') {
        Some((_weekday, rest)) => rest.trim_start(),
        None => s,
    };
    let mut parts = s.split_ascii_whitespace();
    let day: u32 = parts.next()?.parse().ok()?;
    let month = month_number(parts.next()?)?;
    let year: i64 = parts.next()?.parse().ok()?;
    let (h, m, sec) = parse_hms(parts.next()?)?;
    let offset_secs = match parts.next() {
        None => 0,
        Some(zone) => parse_zone(zone)?,
    };
    if parts.next().is_some() {
        return None;
    }
    let secs = civil_to_secs(year, month, day, h, m, sec)? - offset_secs;
    secs.checked_mul(1000)
}

/// Parses updateinfo dates: "YYYY-MM-DD[ HH:MM[:SS]][ UTC]", "YYYY-MM-DDTHH:MM:SSZ" or integer
/// epoch seconds.
pub fn parse_yum_date_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok()?.checked_mul(1000);
    }
    let s = s.strip_suffix("UTC").or_else(|| s.strip_suffix('Z')).unwrap_or(s).trim_end();
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s, None),
    };
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    let (h, m, sec) = match time {
        Some(t) if !t.is_empty() => parse_hms(t)?,
        _ => (0, 0, 0),
    };
    civil_to_secs(year, month, day, h, m, sec)?.checked_mul(1000)
}

/// "Sun, 06 Nov 1994 08:49:37 GMT" (the HTTP date format) for epoch seconds.
#[cfg(test)]
pub fn format_http_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(mo - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let lower = name.get(..3)?.to_ascii_lowercase();
    MONTHS.iter().position(|m| *m == lower).map(|i| i as u32 + 1)
}

fn parse_hms(t: &str) -> Option<(u32, u32, u32)> {
    let mut it = t.split(':');
    let h = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    // Seconds may carry a fraction ("10:00:00.123"); it is dropped.
    let s = match it.next() {
        Some(s) => s.split('.').next()?.parse().ok()?,
        None => 0,
    };
    (it.next().is_none() && h < 24 && m < 60 && s <= 60).then_some((h, m, s))
}

fn parse_zone(zone: &str) -> Option<i64> {
    match zone {
        "UTC" | "GMT" | "Z" | "UT" => Some(0),
        _ => {
            let (sign, digits) = match zone.as_bytes().first()? {
                b'+' => (1, &zone[1..]),
                b'-' => (-1, &zone[1..]),
                _ => return None,
            };
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hh: i64 = digits[..2].parse().ok()?;
            let mm: i64 = digits[2..].parse().ok()?;
            Some(sign * (hh * 3600 + mm * 60))
        }
    }
}

fn civil_to_secs(year: i64, month: u32, day: u32, h: u32, m: u32, s: u32) -> Option<i64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(1..=9999).contains(&year) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s))
}

#[cfg(test)]
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn rfc(s: &str, want: Option<i64>) {
        assert_eq!(parse_rfc2822_ms(s), want, "parse_rfc2822_ms({s:?})");
    }

    #[test]
    fn release_dates() {
        rfc("Sat, 16 May 2026 10:54:28 UTC", Some(1_778_928_868_000));
        rfc("16 May 2026 10:54:28 UTC", Some(1_778_928_868_000));
        rfc("Sat, 6 Jun 2026 00:00:00 +0200", Some(1_780_696_800_000));
        rfc("Thu, 01 Jan 1970 00:00:00 GMT", Some(0));
        rfc("Sat, 16 Foo 2026 10:54:28 UTC", None);
        rfc("Sat, 16 May 2026 25:54:28 UTC", None);
        rfc("garbage", None);
        rfc("", None);
    }

    #[test]
    fn yum_dates() {
        assert_eq!(parse_yum_date_ms("2024-05-01 10:00:00"), Some(1_714_557_600_000));
        assert_eq!(parse_yum_date_ms("2024-05-01 10:00:00 UTC"), Some(1_714_557_600_000));
        assert_eq!(parse_yum_date_ms("2024-05-01T10:00:00Z"), Some(1_714_557_600_000));
        assert_eq!(parse_yum_date_ms("2024-05-01"), Some(1_714_521_600_000));
        assert_eq!(parse_yum_date_ms("1714557600"), Some(1_714_557_600_000));
        assert_eq!(parse_yum_date_ms("yesterday"), None);
        assert_eq!(parse_yum_date_ms("99999999999999999999"), None);
    }

    #[test]
    fn http_dates_round_trip() {
        let s = format_http_date(784_111_777);
        assert_eq!(s, "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_rfc2822_ms(&s), Some(784_111_777_000));
    }
}
