//! A store's lock with a time to live (`--lock lease:TTL`), the pause a holder can make while it
//! holds it (`--stall DUR[@P]`), fencing tokens (`--fencing`), and a run shared by several
//! hosts (`--join NAME --hosts N`): what each is, as plain data.

use std::fmt;

use super::units::{format_exact, parse_nanos};

/// `--lock lease:TTL`: a lock kept in the store that expires by itself after `ttl_ns`, whether
/// or not its holder is done (Redis `SET NX PX`, a PostgreSQL row with an expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub ttl_ns: u64,
}

impl Lease {
    /// `lease:TTL` (the `lease:` already recognised by the caller), e.g. `lease:100ms`.
    pub fn parse(ttl: &str) -> Result<Lease, String> {
        let ttl_ns = parse_nanos(ttl).map_err(|e| format!("lease:TTL: {e}"))?;
        if ttl_ns == 0 {
            return Err(
                "lease:TTL: a lease of 0 expires before anyone holds it; give e.g. \
                        lease:100ms"
                    .into(),
            );
        }
        Ok(Lease { ttl_ns })
    }
}

impl fmt::Display for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lease:{}", format_exact(self.ttl_ns))
    }
}

/// `--stall DUR[@P]`: with chance `chance` per increment, the worker holding the lock pauses
/// for `ns` between its read and its write, as a garbage collector's pause or a stopped VM
/// would; once per increment (a refused increment tried again does not pause again).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stall {
    pub ns: u64,
    pub chance: f64,
}

impl Stall {
    pub fn parse(text: &str) -> Result<Stall, String> {
        let (duration, chance) = match text.split_once('@') {
            Some((d, p)) => (d, Some(p)),
            None => (text, None),
        };
        let ns = parse_nanos(duration)?;
        if ns == 0 {
            return Err("a stall of 0 pauses nothing; give e.g. 200ms or 200ms@0.1".into());
        }
        let chance = match chance {
            None => 1.0,
            Some(p) => match p.trim().parse::<f64>() {
                Ok(p) if p > 0.0 && p <= 1.0 => p,
                _ => {
                    return Err(format!(
                        "'@{p}': the chance of a stall per increment is above 0 and at most 1, \
                         e.g. 200ms@0.1"
                    ));
                }
            },
        };
        Ok(Stall { ns, chance })
    }
}

impl fmt::Display for Stall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.chance >= 1.0 {
            write!(f, "{}", format_exact(self.ns))
        } else {
            write!(f, "{}@{}", format_exact(self.ns), self.chance)
        }
    }
}

/// `--join NAME --hosts N`: this racecount is one of `hosts` that run one run together,
/// meeting through the store under `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub name: String,
    pub hosts: u32,
    /// Who took part, by slot (filled once every host has arrived): "alpha pid 4211".
    pub roster: Vec<String>,
}

/// Longest run name: the table `racecount_hosts_<name>` stays within every store's limit.
pub const MAX_JOIN_NAME: usize = 32;

impl Join {
    /// Checks `--join`'s name: lowercase letters and digits, as the table and key names made
    /// from it need (SQL folds case; Redis does not).
    pub fn check_name(name: &str) -> Result<(), String> {
        let ok = !name.is_empty()
            && name.len() <= MAX_JOIN_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ok {
            Ok(())
        } else {
            Err(format!(
                "a run name is 1 to {MAX_JOIN_NAME} lowercase letters and digits (it names a \
                 table or key in the store), e.g. lesson1"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_reads_as_written() {
        let s = Stall::parse("200ms@0.25").unwrap();
        assert_eq!((s.ns, s.chance), (200_000_000, 0.25));
        assert_eq!(s.to_string(), "200ms@0.25");
        assert_eq!(Stall::parse("1s").unwrap().to_string(), "1s");
        assert!(Stall::parse("0").is_err());
        assert!(Stall::parse("1s@0").is_err());
        assert!(Stall::parse("1s@1.5").is_err());
        assert!(Lease::parse("0").is_err());
        assert_eq!(Lease::parse("100ms").unwrap().to_string(), "lease:100ms");
        assert!(Join::check_name("lesson1").is_ok());
        assert!(Join::check_name("Lesson1").is_err());
        assert!(Join::check_name("a_b").is_err());
    }
}
