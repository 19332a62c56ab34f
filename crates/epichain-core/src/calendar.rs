//! Calendar days in China Standard Time (UTC+8), derived only from block time or from dates that
//! reports carry. No clock is read here.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Offset of China Standard Time from UTC, in milliseconds.
pub const CHINA_STANDARD_TIME_OFFSET_MS: i64 = 8 * 3_600_000;

/// Milliseconds per day.
pub const DAY_MS: i64 = 86_400_000;

/// A calendar day: days since 1970-01-01 (proleptic Gregorian), in China Standard Time.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Day(pub u32);

/// A date that is not `YYYY-MM-DD`, or out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date {0:?} (expected YYYY-MM-DD between 1970 and 9999)")]
pub struct DateError(pub String);

impl Day {
    /// The CST calendar day containing a Unix time in milliseconds.
    pub fn from_unix_ms(time_ms: u64) -> Day {
        let local = (time_ms as i64).saturating_add(CHINA_STANDARD_TIME_OFFSET_MS);
        Day(u32::try_from(local.div_euclid(DAY_MS)).unwrap_or(u32::MAX))
    }

    /// Builds a day from a civil date.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Result<Day, DateError> {
        let text = || format!("{year:04}-{month:02}-{day:02}");
        if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(DateError(text()));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(DateError(text()));
        }
        let days = days_from_civil(year, month, day);
        u32::try_from(days).map(Day).map_err(|_| DateError(text()))
    }

    /// The civil date (year, month, day).
    pub fn to_ymd(self) -> (i32, u32, u32) {
        civil_from_days(i64::from(self.0))
    }

    /// ISO week-based weekday, Monday = 0.
    pub fn weekday_monday_zero(self) -> u32 {
        // 1970-01-01 was a Thursday (3 with Monday = 0).
        (self.0 + 3) % 7
    }

    /// Unix milliseconds of the start of this day in CST.
    pub fn start_unix_ms(self) -> i64 {
        i64::from(self.0) * DAY_MS - CHINA_STANDARD_TIME_OFFSET_MS
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Civil date of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.to_ymd();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

impl fmt::Debug for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Day({self})")
    }
}

impl FromStr for Day {
    type Err = DateError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || DateError(text.to_string());
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(error());
        }
        let number = |range: std::ops::Range<usize>| -> Result<u32, DateError> {
            let part = &text[range];
            if part.bytes().all(|byte| byte.is_ascii_digit()) {
                part.parse().map_err(|_| error())
            } else {
                Err(error())
            }
        };
        let year = number(0..4)? as i32;
        Day::from_ymd(year, number(5..7)?, number(8..10)?).map_err(|_| error())
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::encoding::deserialize_from_str(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        assert_eq!(Day::from_ymd(1970, 1, 1), Ok(Day(0)));
        assert_eq!(Day::from_ymd(2000, 3, 1).map(|d| d.0), Ok(11_017));
        assert_eq!(
            "2026-11-25".parse::<Day>().map(|d| d.to_string()),
            Ok("2026-11-25".into())
        );
        assert!("2026-02-29".parse::<Day>().is_err());
        assert!("2024-02-29".parse::<Day>().is_ok());
        assert!("2026-13-01".parse::<Day>().is_err());
        assert!("26-11-25".parse::<Day>().is_err());
        assert!("2026-1a-25".parse::<Day>().is_err());
        // 2026-11-25 is a Wednesday.
        assert_eq!(
            "2026-11-25".parse::<Day>().map(Day::weekday_monday_zero),
            Ok(2)
        );
    }

    #[test]
    fn china_standard_time_boundary() {
        // 2026-11-24T16:00:00Z is midnight of 2026-11-25 in Beijing.
        let midnight_ms = 1_795_536_000_000u64;
        assert_eq!(Day::from_unix_ms(midnight_ms).to_string(), "2026-11-25");
        assert_eq!(Day::from_unix_ms(midnight_ms - 1).to_string(), "2026-11-24");
        let day = Day::from_unix_ms(midnight_ms);
        assert_eq!(day.start_unix_ms(), midnight_ms as i64);
    }

    proptest! {
        #[test]
        fn civil_round_trip(days in 0u32..2_900_000) {
            let day = Day(days);
            let (year, month, dom) = day.to_ymd();
            prop_assume!(year <= 9999);
            prop_assert_eq!(Day::from_ymd(year, month, dom), Ok(day));
            prop_assert_eq!(day.to_string().parse::<Day>(), Ok(day));
        }
    }
}
