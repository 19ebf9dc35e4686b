//! The password of `--store`, overwritten in the process's own command line (as the mysql
//! client does), so that `ps` and /proc/PID/cmdline show `x`s instead, for racecount and for
//! every worker it forks after (they share its memory image). Linux: the arguments' bytes lie
//! between the `arg_start` and `arg_end` of /proc/self/stat, and /proc/self/mem writes them.
//! Best effort: a kernel that refuses the write leaves them as they were.

use std::fs::OpenOptions;
use std::ops::Range;
use std::os::unix::fs::FileExt;

/// Overwrites `span` of every argument equal to `value` (or `--store=` and `value`) with `x`.
/// Whether anything was overwritten.
pub(crate) fn hide(value: &str, span: Range<usize>) -> bool {
    let Some(start) = arg_start() else {
        return false;
    };
    let Ok(cmdline) = std::fs::read("/proc/self/cmdline") else {
        return false;
    };
    let Ok(mem) = OpenOptions::new().write(true).open("/proc/self/mem") else {
        return false;
    };
    let mask = vec![b'x'; span.len()];
    let mut hidden = false;
    let mut offset = 0usize;
    for arg in cmdline.split(|&b| b == 0) {
        let at = if arg == value.as_bytes() {
            Some(offset)
        } else if arg.strip_prefix(b"--store=") == Some(value.as_bytes()) {
            Some(offset + "--store=".len())
        } else {
            None
        };
        if let Some(at) = at {
            let address = start + (at + span.start) as u64;
            hidden |= mem.write_all_at(&mask, address).is_ok();
        }
        offset += arg.len() + 1;
    }
    hidden
}

/// Where the command line starts in this process's memory (field 48 of /proc/self/stat).
fn arg_start() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(48 - 3)?.parse().ok()
}
