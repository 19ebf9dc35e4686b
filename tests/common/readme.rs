//! README.md's code blocks, run against the binary and compared with what it printed.
//!
//! Every fenced block in README.md is one of:
//! - `console`: commands (`$ ` lines; a line ending in `\` continues on the next) each followed
//!   by what it prints. The command runs in bash (stderr joined to stdout, as a terminal shows
//!   them) and must exit 0 (an example of a failure ends in `; echo $?`), and its output must
//!   match the block, see [`matches`].
//! - `sh`: commands to copy, without output. Each must exit 0.
//! - `text`: what some other program printed (a benchmark's last line); the command that
//!   printed it is named in [`NOT_RUN_HERE`].
//!
//! A command starts with `racecount`, or with `cargo run --release --` ("Run it": those run with
//! the same arguments on a pseudo-terminal, by tests/readme.rs), or with one of
//! [`NOT_RUN_HERE`], whose reason says where it is run instead.
//! Commands run in a scratch directory that stands for `/tmp` (every `/tmp/` in a command is
//! replaced by it, and it by `/tmp` in the output), with `docs` reachable as in the checkout,
//! `HOME` in it, `COLUMNS=80` and the binary under test first on `PATH`. A command that names
//! one of [`SERVERS`] (`$RACECOUNT_TEST_POSTGRES`, ...) needs a database server: it runs in
//! `tests/store_servers.rs` (`.ci/run` starts the servers), not in plain `cargo test`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Commands the README shows that these tests do not run, and why (a prefix of the command).
pub const NOT_RUN_HERE: &[(&str, &str)] = &[
    ("cargo test", "the test command itself (.ci/run runs it)"),
    ("cargo build", "builds racecount, as cargo test does first"),
    (
        "cargo install",
        "installs into ~/.cargo/bin; the binary is the one under test",
    ),
    (
        "benches/",
        "a benchmark of minutes; its figures are pasted with the machine named",
    ),
    (
        ".ci/services.sh",
        "starts or stops the servers: .ci/run does, before the server tests",
    ),
    (
        "eval \"$(.ci/services.sh",
        "starts the servers: .ci/run does, before the server tests",
    ),
    (
        "man racecount",
        "needs man-db; the page itself is checked by tests/command_line.rs",
    ),
];

/// How "Run it" starts racecount; those commands run on a pseudo-terminal (tests/readme.rs),
/// with the binary under test in cargo's place.
pub const RUN_IT: &str = "cargo run --release --";

/// The environment variables that name the test servers (`.ci/services.sh start` prints them).
pub const SERVERS: [&str; 7] = [
    "RACECOUNT_TEST_POSTGRES",
    "RACECOUNT_TEST_REDIS",
    "RACECOUNT_TEST_MYSQL",
    "RACECOUNT_TEST_POSTGRES_TLS",
    "RACECOUNT_TEST_REDIS_TLS",
    "RACECOUNT_TEST_MYSQL_TLS",
    "RACECOUNT_TEST_CA",
];

/// A fenced code block of README.md.
#[derive(Debug, Clone)]
pub struct Block {
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The first word of the info string: `console`, `sh`, `text`, ...
    pub kind: String,
    /// Its lines, without the fence's indentation.
    pub lines: Vec<String>,
    /// The heading it sits under.
    pub section: String,
}

/// One command of a block, with what it should print (console blocks).
#[derive(Debug, Clone)]
pub struct Example {
    pub line: usize,
    pub command: String,
    pub expected: Vec<String>,
    pub section: String,
}

pub fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md")
}

pub fn blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut section = String::new();
    let mut open: Option<(usize, usize, Block)> = None;
    for (n, line) in readme.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut open {
            Some((_, fence_indent, block)) => {
                if trimmed == "```" {
                    let (_, _, block) = open.take().unwrap();
                    blocks.push(block);
                } else {
                    let cut = line
                        .char_indices()
                        .take_while(|(i, c)| *i < *fence_indent && *c == ' ')
                        .count();
                    block.lines.push(line[cut..].to_string());
                }
            }
            None => {
                if let Some(heading) = line.strip_prefix('#') {
                    section = heading.trim_start_matches('#').trim().to_string();
                } else if let Some(info) = trimmed.strip_prefix("```") {
                    let kind = info.split_whitespace().next().unwrap_or("").to_string();
                    let block = Block {
                        line: n + 1,
                        kind,
                        lines: Vec::new(),
                        section: section.clone(),
                    };
                    open = Some((n + 1, indent, block));
                }
            }
        }
    }
    assert!(open.is_none(), "README.md: a fence is never closed");
    blocks
}

/// Lines of README.md that would make an indented code block (four spaces after a blank line,
/// outside a fence and a list): the test wants every block fenced with its kind.
pub fn indented_blocks(readme: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut in_fence = false;
    let mut previous_blank = true;
    let mut in_list = false;
    for (n, line) in readme.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            if trimmed.starts_with("- ") || trimmed.starts_with("| ") {
                in_list = true;
            } else if line.is_empty() {
                // A list goes on after a blank line only with indented text.
            } else if !line.starts_with(' ') {
                in_list = false;
            }
            if previous_blank && line.starts_with("    ") && !trimmed.is_empty() && !in_list {
                found.push(n + 1);
            }
        }
        previous_blank = line.trim().is_empty();
    }
    found
}

/// The commands of a `console` or `sh` block, each with the output that follows it.
pub fn examples(block: &Block) -> Vec<Example> {
    let mut examples: Vec<Example> = Vec::new();
    let mut continuing = false;
    for (i, line) in block.lines.iter().enumerate() {
        let line_no = block.line + 1 + i;
        if continuing {
            let example = examples.last_mut().unwrap();
            example.command.push('\n');
            example.command.push_str(line);
            continuing = line.ends_with('\\');
            continue;
        }
        let command = match block.kind.as_str() {
            "console" => line.strip_prefix("$ "),
            "sh" => Some(line.as_str())
                .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')),
            _ => None,
        };
        match command {
            Some(command) => {
                continuing = command.ends_with('\\');
                examples.push(Example {
                    line: line_no,
                    command: command.to_string(),
                    expected: Vec::new(),
                    section: block.section.clone(),
                });
            }
            None if block.kind == "console" => match examples.last_mut() {
                Some(example) => example.expected.push(line.clone()),
                None => panic!("README.md:{line_no}: a console block starts with a `$ ` line"),
            },
            None => {}
        }
    }
    examples
}

/// Why `command` is not run here, if it is one of [`NOT_RUN_HERE`].
pub fn not_run_here(command: &str) -> Option<&'static str> {
    NOT_RUN_HERE
        .iter()
        .find(|(prefix, _)| command.starts_with(prefix))
        .map(|(_, why)| *why)
}

/// The servers `command` needs, by their environment variables.
pub fn servers_of(command: &str) -> Vec<&'static str> {
    SERVERS
        .iter()
        .copied()
        .filter(|v| command.contains(&format!("${v}")) || command.contains(&format!("${{{v}}}")))
        .collect()
}

/// A directory that stands for `/tmp` while README commands run, and the binary first on PATH.
pub struct Sandbox {
    pub dir: PathBuf,
    /// More environment for the commands: the servers' URLs.
    pub env: Vec<(String, String)>,
}

impl Sandbox {
    pub fn new(name: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!(
            "racecount-readme-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::create_dir_all(dir.join("home")).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_racecount"), dir.join("bin/racecount"))
            .unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::os::unix::fs::symlink(root.join("docs"), dir.join("docs")).unwrap();
        Sandbox {
            dir,
            env: Vec::new(),
        }
    }

    /// Runs `command` as the README shows it: the exit status and stdout and stderr together.
    pub fn run(&self, command: &str) -> (Option<i32>, String) {
        let tmp = format!("{}/", self.dir.display());
        let command = command.replace("/tmp/", &tmp);
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("bash")
            .args(["-c", &format!("exec 2>&1\nset -o pipefail\n{command}")])
            .current_dir(&self.dir)
            .env("PATH", path)
            .env("HOME", self.dir.join("home"))
            .env("COLUMNS", "80")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env_remove("NO_COLOR")
            .env_remove("LINES")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("bash runs");
        let text = String::from_utf8_lossy(&out.stdout)
            .replace(&tmp, "/tmp/")
            .replace(&self.dir.display().to_string(), "/tmp");
        (out.status.code(), text)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs one block's commands in order, in a sandbox of its own with `env`; a message for each
/// that failed.
pub fn check_block(block: &[Example], env: &[(String, String)]) -> Vec<String> {
    let mut sandbox = Sandbox::new("block");
    sandbox.env = env.to_vec();
    let mut failures = Vec::new();
    for example in block {
        let (status, output) = sandbox.run(&example.command);
        let place = format!(
            "README.md:{} ({}): $ {}",
            example.line, example.section, example.command
        );
        if status != Some(0) {
            failures.push(format!("{place}\nexit status {status:?}:\n{output}"));
            continue;
        }
        if example.expected.is_empty() {
            continue;
        }
        let compare = Compare::of(&example.command);
        if let Err(why) = matches(&example.expected, &output, compare) {
            failures.push(format!(
                "{place}\ncompared by {compare:?}; {why}\nprinted:\n{output}"
            ));
        }
    }
    failures
}

/// The README's blocks as lists of the commands to run: those that need the servers in
/// `servers` (and no other), or those that need none when `servers` is empty; and how many
/// commands were left out because [`NOT_RUN_HERE`] names them.
pub fn runnable(servers: &[&str]) -> (Vec<Vec<Example>>, usize) {
    let mut queue = Vec::new();
    let mut not_run = 0;
    for block in blocks(&readme()) {
        let mut run = Vec::new();
        for example in examples(&block) {
            let needs = servers_of(&example.command);
            if not_run_here(example.command.trim_start()).is_some() {
                not_run += 1;
            } else if example.command.starts_with(RUN_IT) {
                // Run on a terminal instead, by tests/readme.rs's test of "Run it".
            } else if servers.is_empty() == needs.is_empty()
                && needs.iter().all(|n| servers.contains(n))
            {
                run.push(example);
            }
        }
        if !run.is_empty() {
            queue.push(run);
        }
    }
    (queue, not_run)
}

/// Runs `blocks` two at a time; every failure's message.
pub fn check_blocks(blocks: Vec<Vec<Example>>, env: &[(String, String)]) -> Vec<String> {
    let queue = std::sync::Mutex::new(blocks);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let Some(block) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let found = check_block(&block, env);
                    failures.lock().unwrap().extend(found);
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

/// What a command's output is compared as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compare {
    /// A race on the hardware: only the words are the same from run to run. Every number
    /// stands for any number, `Never`, `Sometimes (k/N)` and `Always` for one another, and the
    /// paragraphs that the measurements decide (the relative speeds, the note on few lost
    /// updates) are left out on both sides; lines may break elsewhere.
    Words,
    /// A race under `--schedule` or `--replay`, or no race: every number as printed, but for
    /// the measurements of time and load (a number with a time unit, the CPU pressure, the
    /// last two columns of the summary table) and a timeline's lanes, which the clock draws.
    Numbers,
}

impl Compare {
    pub fn of(command: &str) -> Compare {
        let racing = command.contains("racecount") || command.contains("cargo run");
        let fixed = [
            "--schedule",
            "--replay",
            "--help",
            "--completions",
            "--man",
            "-h",
        ]
        .iter()
        .any(|o| command.split_whitespace().any(|w| w == *o));
        if racing && !fixed && !command.contains("$?") {
            Compare::Words
        } else {
            Compare::Numbers
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Num(String),
    /// Any one number.
    AnyNum,
    /// A bar of a histogram, of any length.
    Bar,
    /// `Never`, `Sometimes (k/N)` or `Always`.
    Verdict,
    /// racecount's name for a run's table or key, `racecount_<pid>_<random>`.
    Name,
    /// How busy the CPUs were: `CPU pressure N%`, `load average N` or `no load figures`.
    Load,
    Newline,
    Paragraph,
    /// `...` alone on a line: any lines.
    Skip,
    /// `[..]` or `…`: anything up to the end of the line (in a comparison by words, of the
    /// paragraph).
    Rest,
}

/// Paragraphs whose presence and words depend on what was measured.
const MEASURED: &[&str] = &["speed (", "Few lost updates"];

const TIME_UNITS: &[&str] = &["ns", "us", "µs", "ms", "s"];

/// What a time unit after a number becomes, on both sides, when compared by numbers: a
/// duration may be printed in any unit.
const TIME: &str = "<time>";

/// `12` `us,` becomes `12` `<time>,`.
fn time_units(toks: &mut [Tok]) {
    for k in 1..toks.len() {
        if !matches!(toks[k - 1], Tok::Num(_)) {
            continue;
        }
        if let Tok::Word(w) = &toks[k] {
            let unit = TIME_UNITS.iter().find(|u| {
                w.strip_prefix(**u)
                    .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_punctuation()))
            });
            if let Some(unit) = unit {
                toks[k] = Tok::Word(format!("{TIME}{}", &w[unit.len()..]));
            }
        }
    }
}

fn tokens(text: &str, compare: Compare, expected: bool) -> Vec<Tok> {
    let mut text = text.to_string();
    if compare == Compare::Words {
        // json's verdict, as the human one.
        for verdict in ["never", "sometimes", "always"] {
            text = text.replace(&format!("\"verdict\":\"{verdict}\""), "\"verdict\":Never");
        }
    }
    let mut out = Vec::new();
    let mut in_table = false;
    let mut first_paragraph_line = true;
    // Leaving out a measured passage: to the paragraph's end, or while its lines are
    // indented deeper than its first.
    let mut skipping: Option<Option<usize>> = None;
    let mut in_lanes = false;
    for line in text.lines() {
        let trimmed = line.trim();
        let indent = line.len() - line.trim_start().len();
        if trimmed.is_empty() {
            if !matches!(out.last(), None | Some(Tok::Paragraph)) {
                out.push(Tok::Paragraph);
            }
            in_table = false;
            first_paragraph_line = true;
            skipping = None;
            continue;
        }
        // A timeline is drawn by the clock: its lanes, the row of idle stretches cut out and
        // the scale are where the clock put them, so compared by numbers only its axis and
        // its last line are.
        if compare == Compare::Numbers {
            if trimmed.starts_with("time ") {
                in_lanes = true;
            } else if in_lanes && trimmed.starts_with("where writes share a column") {
                in_lanes = false;
            } else if in_lanes {
                continue;
            }
        }
        // By words, a timeline's row of idle stretches and the scale's note on them are
        // there only when the clock found some.
        let idle_cut = trimmed.starts_with("idle ") || trimmed == "idle";
        if compare == Compare::Words && idle_cut {
            continue;
        }
        let trimmed = match trimmed.split_once("; ~ cuts out") {
            Some((scale, _)) if compare == Compare::Words && scale.starts_with("one column") => {
                scale
            }
            _ => trimmed,
        };
        if let Some(Some(deeper_than)) = skipping
            && indent <= deeper_than
        {
            skipping = None;
        }
        if skipping.is_none()
            && compare == Compare::Words
            && MEASURED.iter().any(|m| trimmed.starts_with(m))
        {
            skipping = Some((!first_paragraph_line).then_some(indent));
        }
        first_paragraph_line = false;
        if skipping.is_some() {
            continue;
        }
        if expected && trimmed == "..." {
            out.push(Tok::Skip);
            continue;
        }
        let mut line_toks = line_tokens(trimmed, expected);
        time_units(&mut line_toks);
        normalize(&mut line_toks, compare);
        if compare == Compare::Numbers && expected {
            measured_numbers(&mut line_toks, in_table);
        }
        if trimmed.contains("trials/s") {
            in_table = true;
        }
        out.extend(line_toks);
        if compare == Compare::Numbers {
            out.push(Tok::Newline);
        }
    }
    while matches!(out.last(), Some(Tok::Paragraph | Tok::Newline)) {
        out.pop();
    }
    out
}

fn line_tokens(line: &str, expected: bool) -> Vec<Tok> {
    let mut toks = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut word = String::new();
    let flush = |word: &mut String, toks: &mut Vec<Tok>| {
        if !word.is_empty() {
            toks.push(Tok::Word(std::mem::take(word)));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let rest: String = chars[i..].iter().collect();
        if expected && (rest.starts_with("[..]") || (c == '…' && alone(&chars, i))) {
            flush(&mut word, &mut toks);
            toks.push(Tok::Rest);
            i += if c == '…' { 1 } else { 4 };
        } else if let Some(len) = run_name(&rest) {
            flush(&mut word, &mut toks);
            toks.push(Tok::Name);
            i += len;
        } else if c.is_whitespace() {
            flush(&mut word, &mut toks);
            i += 1;
        } else if SEPARATORS.contains(c) {
            flush(&mut word, &mut toks);
            toks.push(Tok::Word(c.to_string()));
            i += 1;
        } else if c.is_ascii_digit() {
            flush(&mut word, &mut toks);
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (chars[i] == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            toks.push(Tok::Num(chars[start..i].iter().collect()));
        } else if c == '█' {
            flush(&mut word, &mut toks);
            while i < chars.len() && chars[i] == '█' {
                i += 1;
            }
            toks.push(Tok::Bar);
        } else {
            word.push(c);
            i += 1;
        }
    }
    flush(&mut word, &mut toks);
    toks
}

/// Characters that are words of their own (json's punctuation, brackets): `"kernel":"…"`
/// leaves the `…` alone between them.
const SEPARATORS: &str = ",;:\"{}[]()=";

/// Whether the `…` at `i` stands alone: between spaces or [`SEPARATORS`], not inside a word.
fn alone(chars: &[char], i: usize) -> bool {
    let apart = |c: &char| c.is_whitespace() || SEPARATORS.contains(*c);
    (i == 0 || apart(&chars[i - 1])) && chars.get(i + 1).is_none_or(apart)
}

/// The length of `racecount_<digits>_<hex>` at the start of `text`.
fn run_name(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("racecount_")?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let rest = rest[digits..].strip_prefix('_')?;
    let hex = rest.chars().take_while(char::is_ascii_hexdigit).count();
    (digits > 0 && hex > 0).then_some("racecount_".len() + digits + 1 + hex)
}

fn normalize(toks: &mut Vec<Tok>, compare: Compare) {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let word = |k: usize, w: &str| matches!(toks.get(i + k), Some(Tok::Word(x)) if x == w);
        let num = |k: usize| matches!(toks.get(i + k), Some(Tok::Num(_)));
        // The machine's state at the start: how many CPUs racecount may use and how busy they
        // were, whichever figure the kernel gives.
        if num(0) && (word(1, "CPU") || word(1, "CPUs")) && word(2, "available") {
            out.extend([Tok::AnyNum, Tok::Word("CPUs".into())]);
            i += 2;
        } else if word(0, "CPU") && word(1, "pressure") && num(2) && word(3, "%") {
            out.push(Tok::Load);
            i += 4;
        } else if (word(0, "load") && word(1, "average") && num(2))
            || (word(0, "no") && word(1, "load") && word(2, "figures"))
        {
            out.push(Tok::Load);
            i += 3;
        } else if compare == Compare::Words && (word(0, "Never") || word(0, "Always")) {
            out.push(Tok::Verdict);
            i += 1;
        } else if compare == Compare::Words
            && word(0, "Sometimes")
            && word(1, "(")
            && word(3, "/")
            && word(5, ")")
        {
            out.push(Tok::Verdict);
            i += 6;
        } else if compare == Compare::Words && word(0, "<") && num(1) {
            // A share too small to print (`<0.1%`) is a measured number like any other.
            out.push(Tok::AnyNum);
            i += 2;
        } else {
            out.push(match &toks[i] {
                Tok::Num(_) if compare == Compare::Words => Tok::AnyNum,
                t => t.clone(),
            });
            i += 1;
        }
    }
    *toks = out;
}

/// In an expected line compared by numbers, the numbers that measure time or load.
fn measured_numbers(toks: &mut [Tok], in_table: bool) {
    for k in 0..toks.len() {
        let unit = matches!(toks.get(k + 1), Some(Tok::Word(w)) if w.starts_with(TIME));
        if matches!(toks[k], Tok::Num(_)) && unit {
            toks[k] = Tok::AnyNum;
        }
    }
    if in_table {
        let numbers: Vec<usize> = (0..toks.len())
            .filter(|k| matches!(toks[*k], Tok::Num(_)))
            .collect();
        for k in numbers.iter().rev().take(2) {
            toks[*k] = Tok::AnyNum;
        }
    }
}

fn same(expected: &Tok, actual: &Tok) -> bool {
    match (expected, actual) {
        (Tok::AnyNum, Tok::Num(_) | Tok::AnyNum) => true,
        (e, a) => e == a,
    }
}

/// Whether `actual` is what the README's `expected` lines show for a command compared as
/// `compare`; else where they part.
pub fn matches(expected: &[String], actual: &str, compare: Compare) -> Result<(), String> {
    let expected = expected.join("\n");
    let actual = elisions(&expected, actual);
    let e = tokens(&expected, compare, true);
    let a = tokens(&actual, compare, false);
    let mut failed = std::collections::HashSet::new();
    let mut furthest = (0, 0);
    if walk(&e, &a, 0, 0, &mut failed, &mut furthest) {
        return Ok(());
    }
    let show = |toks: &[Tok], at: usize| {
        toks[at.saturating_sub(8)..(at + 8).min(toks.len())]
            .iter()
            .map(|t| format!("{t:?}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    Err(format!(
        "they part here:\n  README:  … {}\n  printed: … {}",
        show(&e, furthest.0),
        show(&a, furthest.1)
    ))
}

/// `actual` with each word that an expected word such as `/tmp/servers.…/pg` stands for
/// (the same start and end, anything between) written as that word.
fn elisions(expected: &str, actual: &str) -> String {
    let mut actual = actual.to_string();
    for word in expected.split_whitespace() {
        let chars: Vec<char> = word.chars().collect();
        let Some(at) = chars.iter().position(|c| *c == '…') else {
            continue;
        };
        if alone(&chars, at) {
            continue;
        }
        let (start, end) = word.split_once('…').unwrap();
        if start.is_empty() && end.is_empty() {
            continue;
        }
        let found: Vec<String> = actual
            .split_whitespace()
            .filter(|w| {
                w.len() > start.len() + end.len() && w.starts_with(start) && w.ends_with(end)
            })
            .map(str::to_string)
            .collect();
        for w in found {
            actual = actual.replace(&w, word);
        }
    }
    actual
}

fn walk(
    e: &[Tok],
    a: &[Tok],
    i: usize,
    j: usize,
    failed: &mut std::collections::HashSet<(usize, usize)>,
    furthest: &mut (usize, usize),
) -> bool {
    if failed.contains(&(i, j)) {
        return false;
    }
    if i > furthest.0 || (i == furthest.0 && j > furthest.1) {
        *furthest = (i, j);
    }
    let ok = match e.get(i) {
        None => j == a.len(),
        Some(Tok::Skip) => (j..=a.len()).any(|k| walk(e, a, i + 1, k, failed, furthest)),
        Some(Tok::Rest) => {
            let end = a[j..]
                .iter()
                .position(|t| matches!(t, Tok::Newline | Tok::Paragraph))
                .map_or(a.len(), |p| j + p);
            (j..=end).any(|k| walk(e, a, i + 1, k, failed, furthest))
        }
        Some(t) => {
            a.get(j).is_some_and(|x| same(t, x)) && walk(e, a, i + 1, j + 1, failed, furthest)
        }
    };
    if !ok {
        failed.insert((i, j));
    }
    ok
}
