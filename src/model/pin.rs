//! `--pin`: which CPU each worker runs on, as the command line says it. The worker applies it
//! itself (sched_setaffinity) before it passes the start gate (`race::runner`).

use std::fmt;

/// How workers are placed on CPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// Wherever the kernel puts them.
    None,
    /// Round robin over the CPUs racecount may use.
    Spread,
    /// All on one CPU (the first racecount may use): only preemption can interleave them.
    Same,
    /// Round robin over these CPUs.
    List(Vec<usize>),
}

impl Pin {
    /// Parses `none`, `spread`, `same` or a CPU list such as `0,2` or `0-3`.
    pub fn parse(text: &str) -> Result<Pin, String> {
        match text.trim() {
            "none" => Ok(Pin::None),
            "spread" => Ok(Pin::Spread),
            "same" => Ok(Pin::Same),
            list => {
                let mut cpus = Vec::new();
                for part in list.split(',') {
                    let number = |s: &str| {
                        s.trim().parse::<usize>().map_err(|_| {
                            let words = ["none", "spread", "same"];
                            let hint = super::words::closest(text, &words)
                                .map_or(String::new(), |w| format!("; did you mean '{w}'?"));
                            format!("expected none, spread, same or a CPU list like 0,2-3{hint}")
                        })
                    };
                    match part.split_once('-') {
                        Some((a, b)) => {
                            let (a, b) = (number(a)?, number(b)?);
                            if a > b {
                                return Err(format!("the CPU range '{part}' runs backwards"));
                            }
                            cpus.extend(a..=b);
                        }
                        None => cpus.push(number(part)?),
                    }
                }
                let mut seen = Vec::new();
                cpus.retain(|c| {
                    let new = !seen.contains(c);
                    seen.push(*c);
                    new
                });
                Ok(Pin::List(cpus))
            }
        }
    }

    /// The CPUs the workers go round robin over, from the CPUs racecount may use; empty for
    /// no pinning. A listed CPU outside `allowed` is an error naming it.
    pub fn cpus(&self, allowed: &[usize]) -> Result<Vec<usize>, String> {
        match self {
            Pin::None => Ok(Vec::new()),
            Pin::Spread => Ok(allowed.to_vec()),
            Pin::Same => Ok(allowed.first().into_iter().copied().collect()),
            Pin::List(list) => match list.iter().find(|c| !allowed.contains(c)) {
                Some(cpu) => Err(format!(
                    "--pin: CPU {cpu} is not one racecount may use (allowed: {})",
                    cpu_list(allowed)
                )),
                None => Ok(list.clone()),
            },
        }
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pin::None => f.write_str("none"),
            Pin::Spread => f.write_str("spread"),
            Pin::Same => f.write_str("same"),
            Pin::List(cpus) => f.write_str(&cpu_list(cpus)),
        }
    }
}

/// `0,1,5`.
pub fn cpu_list(cpus: &[usize]) -> String {
    cpus.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_lists_parse() {
        assert_eq!(Pin::parse("same"), Ok(Pin::Same));
        assert_eq!(Pin::parse("0,2-4,2"), Ok(Pin::List(vec![0, 2, 3, 4])));
        assert!(Pin::parse("4-2").is_err());
        assert!(Pin::parse("x").is_err());
    }

    #[test]
    fn a_cpu_outside_the_allowed_set_is_refused() {
        let allowed = [0, 1];
        assert_eq!(Pin::List(vec![1]).cpus(&allowed), Ok(vec![1]));
        assert!(
            Pin::List(vec![2])
                .cpus(&allowed)
                .unwrap_err()
                .contains("CPU 2")
        );
        assert_eq!(Pin::Same.cpus(&allowed), Ok(vec![0]));
        assert_eq!(Pin::Spread.cpus(&allowed), Ok(vec![0, 1]));
        assert_eq!(Pin::None.cpus(&allowed), Ok(vec![]));
    }
}
