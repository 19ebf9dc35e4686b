//! The explanation of a traced trial as lines of text: lost updates grouped and counted, and
//! the bookkeeping sum (which holds by algebra once the writes chain; see `explain`).

use std::io::{self, Write};

use super::wrap::{words, write_lines};
use crate::analysis::explain::{Collision, Explanation, Tally, WriteKind, WriteRef};
use crate::model::units::format_nanos;

/// Lines listed per kind of loss; the rest are counted in one line.
pub(crate) const MAX_LINES: usize = 10;

/// Writes the explanation of a trial that ended at `total` out of `expected`, each sentence
/// on lines of at most `width` columns.
pub(crate) fn write_explanation(
    x: &Explanation,
    expected: u64,
    total: u64,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    for sentence in sentences(x, expected, total, MAX_LINES) {
        write_lines(out, &words(&sentence.text, width, "  ", "    "))?;
    }
    Ok(())
}

/// One sentence of an explanation, and the writes it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sentence {
    pub text: String,
    /// What it is about: a line of collision episodes, a stale write, a restore; `None` for
    /// the lines about the whole trial (nothing lost, the counts, the sum, "... N more").
    pub about: Option<WriteKind>,
    /// A collision line's every write (each episode's first writer first, in the real order);
    /// a stale write's or a restore's own write; none for the others.
    pub writes: Vec<WriteRef>,
}

impl Sentence {
    fn whole(text: String) -> Sentence {
        Sentence {
            text,
            about: None,
            writes: Vec::new(),
        }
    }
}

/// The explanation's sentences, in order: the losses (collision lines, stale writes,
/// restores; at most `listed` of each, the rest counted in one line), the counts, and the
/// sum. The terminal lists [`MAX_LINES`]; `--export-html` every one.
pub(crate) fn sentences(
    x: &Explanation,
    expected: u64,
    total: u64,
    listed: usize,
) -> Vec<Sentence> {
    let t = x.tally();
    let mut said = Vec::new();
    if t.collisions + t.stale + t.restores == 0 {
        said.push(Sentence::whole(format!(
            "nothing was lost: each of the {} writes replaced the value it had read",
            x.writes
        )));
    }
    let runs = runs(&x.collisions);
    said.extend(runs.iter().take(listed).map(|run| collision_line(run)));
    said.extend(more(
        runs.len(),
        listed,
        "collision lines",
        t.collision_lost,
        "lost",
    ));
    said.extend(x.stale.iter().take(listed).map(|s| Sentence {
        text: format!(
            "worker {} read {}, waited {}, wrote {} over the {} worker {} wrote: {} lost",
            s.worker,
            s.read,
            format_nanos(s.waited_ns),
            s.read + 1,
            s.prev,
            s.overwrote.worker,
            s.lost()
        ),
        about: Some(WriteKind::Stale),
        writes: vec![own(s.worker, s.seq)],
    }));
    said.extend(more(
        x.stale.len(),
        listed,
        "stale writes",
        t.stale_lost,
        "lost",
    ));
    said.extend(x.restores.iter().take(listed).map(|r| {
        let what = match r.overwrote_kind {
            WriteKind::Stale => "stale write",
            WriteKind::Restore => "restore",
            WriteKind::Clean | WriteKind::Collision => "write",
        };
        Sentence {
            text: format!(
                "worker {} read {} and wrote {} over {}, left by worker {}'s {what}: {} restored",
                r.worker,
                r.read,
                r.read + 1,
                r.prev,
                r.overwrote.worker,
                r.restored()
            ),
            about: Some(WriteKind::Restore),
            writes: vec![own(r.worker, r.seq)],
        }
    }));
    said.extend(more(
        x.restores.len(),
        listed,
        "restores",
        t.restored,
        "restored",
    ));
    said.push(Sentence::whole(counts(&t)));
    said.push(Sentence::whole(format!(
        "explained: {} lost = {expected} - {total} (procs x iters - final total)",
        sum(&t)
    )));
    said
}

/// One line for a run of collision episodes (see [`runs`]).
fn collision_line(run: &[&Collision]) -> Sentence {
    let c = run[0];
    let both = if c.workers.len() == 2 { "both" } else { "all" };
    let lost: u64 = run.iter().map(|c| c.lost).sum();
    let text = if run.len() == 1 {
        format!(
            "workers {} {both} read {} and wrote {}: {lost} lost",
            list(&c.workers),
            c.read,
            c.read + 1,
        )
    } else {
        format!(
            "workers {} {both} read v and wrote v+1, for every v from {} to {}: {lost} lost",
            list(&c.workers),
            c.read,
            run[run.len() - 1].read,
        )
    };
    Sentence {
        text,
        about: Some(WriteKind::Collision),
        writes: run.iter().flat_map(|c| c.writes.iter().copied()).collect(),
    }
}

fn own(worker: u32, seq: u64) -> WriteRef {
    WriteRef { worker, seq }
}

/// Collisions of the same workers on consecutive values, losing the same each time: workers
/// in lockstep collide on every value, and one line says so.
fn runs(collisions: &[Collision]) -> Vec<Vec<&Collision>> {
    let mut runs: Vec<Vec<&Collision>> = Vec::new();
    for c in collisions {
        match runs.last_mut() {
            Some(run)
                if run[run.len() - 1].read + 1 == c.read
                    && run[0].workers == c.workers
                    && run[0].lost == c.lost =>
            {
                run.push(c)
            }
            _ => runs.push(vec![c]),
        }
    }
    runs
}

/// One line for a trial not shown in full.
pub(crate) fn write_tally(
    label: &str,
    t: &Tally,
    expected: u64,
    total: Option<u64>,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rhs = total.map_or(String::new(), |total| format!(" = {expected} - {total}"));
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let line = format!(
        "{label}: explained: {} lost{rhs} ({}, {} stale, {})",
        sum(t),
        plural(t.collisions, "collision", "collisions"),
        t.stale,
        plural(t.restores, "restore", "restores"),
    );
    write_lines(out, &words(&line, width, "  ", "    "))
}

fn counts(t: &Tally) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![
        format!(
            "{} ({} lost)",
            plural(t.collisions, "collision", "collisions"),
            t.collision_lost
        ),
        format!(
            "{} ({} lost)",
            plural(t.stale, "stale write", "stale writes"),
            t.stale_lost
        ),
    ];
    if t.restores > 0 {
        parts.push(format!(
            "{} ({} restored)",
            plural(t.restores, "restore", "restores"),
            t.restored
        ));
    }
    parts.join(", ")
}

/// `4 + 8 - 7 = 5`, or just the collision and stale parts when nothing was restored.
fn sum(t: &Tally) -> String {
    let mut s = format!("{} + {}", t.collision_lost, t.stale_lost);
    if t.restores > 0 {
        s.push_str(&format!(" - {}", t.restored));
    }
    format!("{s} = {}", t.lost())
}

/// "... 4 more stale writes (all 14 together: 30 lost)", when more were found than the
/// `listed`; `what` is the plural, its last letter dropped for one.
fn more(shown: usize, listed: usize, what: &str, amount: u64, verb: &str) -> Option<Sentence> {
    (shown > listed).then(|| {
        let left = shown - listed;
        let what = if left == 1 {
            &what[..what.len() - 1]
        } else {
            what
        };
        Sentence::whole(format!(
            "... {left} more {what} (all {shown} together: {amount} {verb})"
        ))
    })
}

/// `3`, `3 and 7`, `1, 3 and 7`.
fn list(workers: &[u32]) -> String {
    let names: Vec<String> = workers.iter().map(u32::to_string).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::explain::{Restore, StaleWrite};

    fn w(worker: u32, seq: u64) -> WriteRef {
        WriteRef { worker, seq }
    }

    #[test]
    fn collisions_stale_writes_and_restores_add_up_on_the_last_line() {
        let x = Explanation {
            writes: 40,
            clean: 33,
            collisions: vec![
                Collision {
                    read: 41,
                    workers: vec![3, 7],
                    lost: 1,
                    writes: vec![w(7, 20), w(3, 21)],
                },
                Collision {
                    read: 5,
                    workers: vec![0, 1, 2],
                    lost: 2,
                    writes: vec![w(1, 2), w(0, 3), w(2, 1)],
                },
            ],
            stale: vec![StaleWrite {
                worker: 2,
                seq: 4,
                read: 17,
                prev: 25,
                waited_ns: 8_100,
                overwrote: w(0, 9),
                read_from: Some(w(0, 1)),
            }],
            restores: vec![Restore {
                worker: 1,
                seq: 9,
                read: 24,
                prev: 18,
                overwrote: w(2, 4),
                overwrote_kind: WriteKind::Stale,
            }],
            order: vec![],
        };
        let mut out = Vec::new();
        write_explanation(&x, 40, 35, 80, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "  workers 3 and 7 both read 41 and wrote 42: 1 lost\n\
             \x20 workers 0, 1 and 2 all read 5 and wrote 6: 2 lost\n\
             \x20 worker 2 read 17, waited 8.10us, wrote 18 over the 25 worker 0 wrote: 8 lost\n\
             \x20 worker 1 read 24 and wrote 25 over 18, left by worker 2's stale write: 6\n\
             \x20   restored\n\
             \x20 2 collisions (3 lost), 1 stale write (8 lost), 1 restore (6 restored)\n\
             \x20 explained: 3 + 8 - 6 = 5 lost = 40 - 35 (procs x iters - final total)\n"
        );
    }

    #[test]
    fn each_sentence_names_the_writes_it_is_about_and_html_lists_them_all() {
        let c = |read, writes: Vec<WriteRef>| Collision {
            read,
            workers: vec![2, 3],
            lost: 1,
            writes,
        };
        let stale = |seq| StaleWrite {
            worker: 1,
            seq,
            read: 0,
            prev: 3,
            waited_ns: 900,
            overwrote: w(3, 5),
            read_from: None,
        };
        let x = Explanation {
            writes: 40,
            clean: 8,
            collisions: vec![c(13, vec![w(2, 5), w(3, 4)]), c(14, vec![w(3, 5), w(2, 6)])],
            stale: (0..12).map(stale).collect(),
            restores: vec![],
            order: vec![],
        };
        let all = sentences(&x, 40, 0, usize::MAX);
        assert_eq!(
            all.len(),
            1 + 12 + 2,
            "one lockstep line, every stale write, the sums"
        );
        assert_eq!(all[0].about, Some(WriteKind::Collision));
        assert_eq!(all[0].writes, [w(2, 5), w(3, 4), w(3, 5), w(2, 6)]);
        assert_eq!(
            all[1].text,
            "worker 1 read 0, waited 900ns, wrote 1 over the 3 worker 3 wrote: 3 lost"
        );
        assert_eq!(
            (all[12].about, &all[12].writes),
            (Some(WriteKind::Stale), &vec![w(1, 11)])
        );
        assert_eq!((all[13].about, all[13].writes.len()), (None, 0));
        let listed = sentences(&x, 40, 0, MAX_LINES);
        assert_eq!(listed.len(), 1 + 10 + 1 + 2);
        assert_eq!(
            listed[11].text,
            "... 2 more stale writes (all 12 together: 36 lost)"
        );
        assert_eq!(listed[11].about, None);
    }

    #[test]
    fn lockstep_collisions_take_one_line() {
        let c = |read| Collision {
            read,
            workers: vec![2, 3],
            lost: 1,
            writes: vec![w(2, read), w(3, read)],
        };
        let x = Explanation {
            writes: 40,
            clean: 27,
            collisions: vec![c(13), c(14), c(15), c(20)],
            stale: vec![],
            restores: vec![],
            order: vec![],
        };
        let mut out = Vec::new();
        write_explanation(&x, 40, 36, 80, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "  workers 2 and 3 both read v and wrote v+1, for every v from 13 to 15: 3 lost"
        );
        assert_eq!(
            lines[1],
            "  workers 2 and 3 both read 20 and wrote 21: 1 lost"
        );
    }

    #[test]
    fn nothing_lost_says_so_with_the_same_accounting() {
        let x = Explanation {
            writes: 40,
            clean: 40,
            collisions: vec![],
            stale: vec![],
            restores: vec![],
            order: vec![],
        };
        let mut out = Vec::new();
        write_explanation(&x, 40, 40, 80, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("  nothing was lost: each of the 40 writes"));
        assert!(
            text.ends_with("explained: 0 + 0 = 0 lost = 40 - 40 (procs x iters - final total)\n")
        );
    }
}
