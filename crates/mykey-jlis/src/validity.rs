//! How long JPKI certificates last: until the holder's fifth birthday after issuance
//! (docs/jpki.md §10), ending at the close of that day in Japan (23:59:59 JST).

use mykey_pki::UnixTime;
use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

/// The end of validity for a certificate issued at `issued` to someone born on `birth`.
/// A 29 February birthday falls on 28 February in common years.
pub fn certificate_not_after(birth: Date, issued: UnixTime) -> UnixTime {
    let jst = UtcOffset::from_hms(9, 0, 0).expect("+09:00 is a valid offset");
    let issued_day = OffsetDateTime::from_unix_timestamp(issued.as_secs() as i64)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(jst)
        .date();
    let birthday_in = |year: i32| {
        Date::from_calendar_date(year, birth.month(), birth.day())
            .or_else(|_| Date::from_calendar_date(year, Month::February, 28))
            .expect("28 February exists every year")
    };
    // The first birthday strictly after the day of issue, then four more.
    let first = if birthday_in(issued_day.year()) > issued_day {
        issued_day.year()
    } else {
        issued_day.year() + 1
    };
    let fifth = birthday_in(first + 4);
    let end = fifth
        .with_time(Time::from_hms(23, 59, 59).expect("valid time"))
        .assume_offset(jst);
    UnixTime::from_secs(end.unix_timestamp().max(0) as u64)
}

/// Age in whole years on `day`.
pub(crate) fn age_on(birth: Date, day: Date) -> i32 {
    let mut age = day.year() - birth.year();
    if (day.month() as u8, day.day()) < (birth.month() as u8, birth.day()) {
        age -= 1;
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn at(t: OffsetDateTime) -> UnixTime {
        UnixTime::from_secs(t.unix_timestamp() as u64)
    }

    #[test]
    fn fifth_birthday_after_issue() {
        // Issued 2026-01-10, birthday 15 June: first birthday after is 2026-06-15, fifth 2030-06-15.
        let end = certificate_not_after(date!(1985 - 06 - 15), at(datetime!(2026-01-10 03:00 UTC)));
        assert_eq!(end, at(datetime!(2030-06-15 23:59:59 +09:00)));
        // Issued on the birthday itself: that day does not count.
        let end = certificate_not_after(
            date!(1985 - 06 - 15),
            at(datetime!(2026-06-15 03:00 +09:00)),
        );
        assert_eq!(end, at(datetime!(2031-06-15 23:59:59 +09:00)));
    }

    #[test]
    fn leap_day_birthdays_end_on_28_february() {
        let end = certificate_not_after(date!(2000 - 02 - 29), at(datetime!(2026-03-01 00:00 UTC)));
        assert_eq!(end, at(datetime!(2031-02-28 23:59:59 +09:00)));
    }

    #[test]
    fn ages() {
        assert_eq!(age_on(date!(2011 - 06 - 15), date!(2026 - 06 - 14)), 14);
        assert_eq!(age_on(date!(2011 - 06 - 15), date!(2026 - 06 - 15)), 15);
    }
}
