//! HTML building blocks: escaping, the page shell, times and durations.
//!
//! Every value that did not come from this file goes through [`esc`] before it reaches the
//! page — job metadata, suffixes, grader text, event messages, metric keys, even ids the store
//! generated (an id is data, and data is escaped; the rule has no exceptions to remember). The
//! Content-Security-Policy ([`super::CSP`]) forbids inline scripts, so a missed escape still
//! could not run code; escaping is what keeps the page's structure intact.

pub(crate) use gradekit_chart::esc;

/// The page shell: head (the stylesheet, no inline style or script), a header with the
/// project and a sign-out form when signed in, `body`, and the one script.
pub(crate) fn page(title: &str, project: Option<&str>, signed_in: bool, body: &str) -> String {
    let mut who = String::new();
    if let Some(p) = project {
        who.push_str(&format!(
            "<span class=\"project\" id=\"project\">project {}</span>",
            esc(p)
        ));
    }
    if signed_in {
        who.push_str(
            "<form method=\"post\" action=\"/logout\" class=\"logout\">\
             <button type=\"submit\">Sign out</button></form>",
        );
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"same-origin\">\
         <title>{} · gradekit</title><link rel=\"stylesheet\" href=\"/assets/dashboard.css\"></head>\
         <body><header class=\"top\"><a class=\"brand\" href=\"/\">gradekit · fine-tuning jobs</a>{who}</header>\
         <main>{body}</main><script src=\"/assets/dashboard.js\" defer></script></body></html>\n",
        esc(title)
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar (Howard
/// Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Unix seconds as `2026-12-05 03:41:01` (UTC; the page says so once).
pub(crate) fn time(t: i64) -> String {
    // Out-of-range values (a corrupt row) print as the number itself.
    if !(0..=253_402_300_799).contains(&t) {
        return t.to_string();
    }
    let (y, m, d) = civil(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// A duration in seconds as `1h 02m`, `3m 05s`, `42s`.
pub(crate) fn duration(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 86_400 {
        format!("{}d {:02}h", s / 86_400, s / 3600 % 24)
    } else if s >= 3600 {
        format!("{}h {:02}m", s / 3600, s / 60 % 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_utc() {
        assert_eq!(time(0), "1970-01-01 00:00:00");
        assert_eq!(time(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(time(1_796_441_261), "2026-12-05 03:27:41");
        assert_eq!(time(-5), "-5");
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(185), "3m 05s");
        assert_eq!(duration(3720), "1h 02m");
        assert_eq!(duration(90_000), "1d 01h");
        assert_eq!(duration(-3), "0s");
    }

    #[test]
    fn the_shell_escapes_its_inputs() {
        let p = page("<t>", Some("p\"<x>"), true, "<p>body</p>");
        assert!(p.contains("<title>&lt;t&gt; · gradekit</title>"));
        assert!(p.contains("project p&quot;&lt;x&gt;"));
        assert!(p.contains("<p>body</p>"));
        assert!(!p.contains("<script>"), "no inline script");
        assert!(p.contains("<script src=\"/assets/dashboard.js\" defer></script>"));
    }
}
