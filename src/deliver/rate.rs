//! Send rates as the editor writes them (`60/min`, `2/s`, `1000/h`), for `[delivery] rate`
//! and `send --rate`: one reading, so both accept and refuse the same text.

/// Parses a rate such as `60/min`, `2/s` or `1000/h` into messages per minute.
pub fn parse_rate(text: &str) -> Option<f64> {
    let (n, unit) = text.trim().split_once('/')?;
    let n: f64 = n.trim().parse().ok()?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => 60.0,
        "m" | "min" | "minute" => 1.0,
        "h" | "hour" => 1.0 / 60.0,
        _ => return None,
    };
    let per_minute = n * per;
    // Fewer than one an hour is surely a typo; so is a rate no float can hold.
    (per_minute.is_finite() && per_minute >= 1.0 / 60.0).then_some(per_minute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_absurd_ones_are_refused() {
        assert_eq!(parse_rate("60/min"), Some(60.0));
        assert_eq!(parse_rate("2/s"), Some(120.0));
        assert_eq!(parse_rate("600/h"), Some(10.0));
        for bad in [
            "", "60", "0/min", "-5/s", "1e-9/h", "1e308/s", "NaN/s", "5/day",
        ] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }
}
