//! Durations as people write them (`0`, `100ns`, `1us`, `2ms`, `1.5s`), parsed and printed.

use std::time::Duration;

/// Parses a duration such as `0`, `250ns`, `1us`, `1µs`, `2ms`, `1.5s` into nanoseconds.
pub fn parse_nanos(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("expected a duration such as 0, 100ns, 1us, 2ms".to_string());
    }
    if text.bytes().all(|b| b == b'0') {
        return Ok(0);
    }
    if text.starts_with('-') {
        return Err(format!(
            "'{text}' is negative; expected a duration such as 0, 100ns, 1us, 2ms"
        ));
    }
    let normal = text.replace('µ', "u");
    let parsed = parse_decimal(&normal).or_else(|| humantime::parse_duration(&normal).ok());
    let duration = parsed.ok_or_else(|| {
        format!("'{text}' is not a duration; expected e.g. 0, 100ns, 1us, 2ms, 1.5s")
    })?;
    u64::try_from(duration.as_nanos())
        .map_err(|_| format!("'{text}' is too long (at most {} ns)", u64::MAX))
}

/// `1.5ms`-style decimals, which humantime does not take.
fn parse_decimal(text: &str) -> Option<Duration> {
    let unit_at = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(unit_at);
    if !number.contains('.') {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let scale = match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return None,
    };
    let nanos = value * scale;
    (nanos.is_finite() && nanos >= 0.0 && nanos < u64::MAX as f64)
        .then(|| Duration::from_nanos(nanos.round() as u64))
}

/// Formats nanoseconds compactly: `0`, `100ns`, `1us`, `2.50ms`, `1.20s` (three significant
/// digits when not a whole number of the unit).
pub fn format_nanos(ns: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    if ns == 0 {
        return "0".to_string();
    }
    for (scale, unit) in UNITS {
        if ns >= scale {
            let whole = ns / scale;
            let frac = ns % scale;
            if frac == 0 {
                return format!("{whole}{unit}");
            }
            let value = ns as f64 / scale as f64;
            return if value >= 100.0 {
                format!("{value:.0}{unit}")
            } else if value >= 10.0 {
                format!("{value:.1}{unit}")
            } else {
                format!("{value:.2}{unit}")
            };
        }
    }
    unreachable!("ns >= 1")
}

/// A duration that parses back to exactly `ns`: in the largest unit that divides it.
pub fn format_exact(ns: u64) -> String {
    let units = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")];
    match units
        .iter()
        .find(|(scale, _)| ns != 0 && ns.is_multiple_of(*scale))
    {
        Some((scale, unit)) => format!("{}{unit}", ns / scale),
        None if ns == 0 => "0".to_string(),
        None => format!("{ns}ns"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_examples() {
        assert_eq!(parse_nanos("0"), Ok(0));
        assert_eq!(parse_nanos("100ns"), Ok(100));
        assert_eq!(parse_nanos("1us"), Ok(1_000));
        assert_eq!(parse_nanos("1µs"), Ok(1_000));
        assert_eq!(parse_nanos("2ms"), Ok(2_000_000));
        assert_eq!(parse_nanos("1.5ms"), Ok(1_500_000));
        assert_eq!(parse_nanos("10ms"), Ok(10_000_000));
    }

    #[test]
    fn rejects_bad_durations_with_a_reason() {
        for bad in [
            "",
            "-1us",
            "abc",
            "1 parsec",
            "1.5xs",
            "99999999999999999999s",
        ] {
            assert!(parse_nanos(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn formats_round_numbers_exactly() {
        assert_eq!(format_nanos(0), "0");
        assert_eq!(format_nanos(100), "100ns");
        assert_eq!(format_nanos(1_000), "1us");
        assert_eq!(format_nanos(2_500_000), "2.50ms");
        assert_eq!(format_nanos(1_000_000_000), "1s");
    }
}
