//! The command line as people type it: clap's "did you mean", case-insensitive words,
//! hints for common slips, the last of a repeated option wins, and options this run cannot
//! use are said on stderr.

mod common;
use common::*;

/// racecount's one error line for `line`, after checking it is one line and status 2.
fn refusal(line: &str) -> String {
    let out = run(&args(line));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{line}: {err}");
    assert!(out.stdout.is_empty(), "{line}");
    assert_eq!(err.lines().count(), 1, "{line}: {err}");
    err.trim_end()
        .strip_prefix("racecount: error: ")
        .unwrap_or_else(|| panic!("{err}"))
        .strip_suffix(" (see racecount --help)")
        .unwrap_or_else(|| panic!("{err}"))
        .to_string()
}

#[test]
fn a_near_miss_gets_did_you_mean() {
    assert_eq!(
        refusal("--mode unlock"),
        "invalid value 'unlock' for '--mode <LIST>'; did you mean 'unlocked'?"
    );
    assert_eq!(
        refusal("--trails 3"),
        "unexpected argument '--trails' found; did you mean '--trials'?"
    );
    assert_eq!(
        refusal("-f jsn"),
        "invalid value 'jsn' for '--format <FORMAT>'; did you mean 'json'?"
    );
    // Nothing near: the accepted values instead.
    assert!(refusal("--mode spin").contains("[possible values: all, unlocked,"));
}

#[test]
fn words_are_accepted_in_any_case() {
    let out = run(&args("-m Mutex,ATOMIC -p 2 -i 3 -t 1 -f TSV --color Never"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let modes: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(modes, ["mutex", "atomic"]);
}

#[test]
fn common_slips_get_a_message_about_what_was_meant() {
    assert_eq!(
        refusal("--window 1 us"),
        "unexpected argument 'us' after '1': write a duration with its unit and no space, as \
         in 1us"
    );
    let seed = refusal("--seed -1");
    assert!(
        seed.contains("a seed is a whole number from 0 to"),
        "{seed}"
    );
    assert!(!seed.contains("invalid digit"), "{seed}");
    for line in [
        "--mode mutex,,atomic",
        "-m mutex,",
        "-p 1,,2",
        "-w 1us,,2us",
    ] {
        let option = args(line)[0].to_string();
        let message = refusal(line);
        assert!(
            message.starts_with("empty item in the list for '"),
            "{line}: {message}"
        );
        assert!(
            message.contains(option.trim_start_matches('-')),
            "{line}: {message}"
        );
    }
    assert_eq!(
        refusal("--timeout 0"),
        "invalid value '0' for '--timeout <DUR>': must be longer than 0"
    );
}

#[test]
fn a_repeated_option_counts_once_the_last_time() {
    // As a shell alias needs: `alias rc='racecount -p 10 -q'`, then `rc -p 4 -q`.
    let out = run(&args(
        "-p 10 -m atomic -i 3 -t 2 -f totals -p 4 -q -q -t 1 --check --check",
    ));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "12\n", "4 procs x 3 iters, 1 trial");
    // A list is one value: a later list replaces it, it does not sweep with it.
    let out = run(&args("-p 1,2 -p 3 -m atomic -i 3 -t 1 -f totals"));
    assert_eq!(stdout(&out), "9\n");
}

#[test]
fn options_this_run_cannot_use_are_said() {
    let out = run(&args(
        "-m atomic -p 2 -i 3 -t 1 -f csv --trace --seed 4 --color always",
    ));
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    let warnings: Vec<&str> = err.lines().collect();
    assert_eq!(warnings.len(), 3, "{err}");
    assert!(
        warnings[0]
            .starts_with("racecount: warning: --format csv does not show what --trace finds")
    );
    assert!(warnings[1].starts_with("racecount: warning: --seed only drives --jitter"));
    assert!(warnings[2].starts_with("racecount: warning: --color applies to human output only"));
    // Where they are used, nothing is said.
    let out = run(&args(
        "-m atomic -p 2 -i 3 -t 1 --trace --seed 4 --jitter 1us --color always",
    ));
    assert_eq!(stderr(&out), "");
}

#[test]
fn a_run_of_more_than_10_minutes_is_announced_before_it_starts() {
    // 11 minutes in one window: announced, then stopped with Ctrl-C.
    let run = Running::start("-m atomic -p 1 -i 1 -t 1 -w 11min -f totals");
    run.workers(1);
    run.signal(nix::sys::signal::Signal::SIGINT);
    let end = run.end();
    assert_eq!(end.shell_status(), 130);
    let first = end.stderr.lines().next().unwrap_or_default().to_string();
    assert_eq!(
        first,
        "racecount: warning: this run takes at least 0h 11m (from --window, --sleep and \
         --jitter); Ctrl-C stops it and shows the trials that finished"
    );
    // The lesson is not announced.
    let out = run_quiet("-m atomic -p 2 -i 3 -t 1 -f totals");
    assert_eq!(out, "");
}

fn run_quiet(line: &str) -> String {
    stderr(&run(&args(line)))
}

/// What bash's completion offers for the words typed so far, from racecount's own script,
/// run in a directory holding a file (which a numeric option must not offer).
fn bash_completes(words: &str) -> String {
    let script = stdout(&run(&["--completions", "bash"]));
    let dir = std::env::temp_dir().join(format!("racecount-complete-{}", unique_seed()));
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a-file"), "").unwrap();
    let test = r#"
        eval "$SCRIPT"
        read -ra COMP_WORDS <<< "$WORDS"
        [[ "$WORDS" == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _racecount racecount "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}" 2>/dev/null
        echo "${COMPREPLY[*]}"
    "#;
    let out = std::process::Command::new("bash")
        .args(["-c", test])
        .env("SCRIPT", script)
        .env("WORDS", words)
        .current_dir(&dir)
        .output()
        .expect("bash runs");
    std::fs::remove_dir_all(&dir).unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn bash_completes_the_next_mode_of_a_list_and_no_file_after_a_number_option() {
    assert_eq!(
        bash_completes("racecount --mode unlocked,m"),
        "unlocked,mutex"
    );
    assert_eq!(
        bash_completes("racecount -m mutex,"),
        "mutex,all mutex,unlocked mutex,per-access mutex,atomic",
        "a mode already in the list is not offered again"
    );
    assert_eq!(
        bash_completes("racecount --schedule "),
        "random pct:2 pct:3 lockstep worst serial"
    );
    assert_eq!(
        bash_completes("racecount --mode "),
        "all unlocked per-access mutex atomic"
    );
    for option in [
        "--procs", "--iters", "--trials", "--window", "--sleep", "--seed",
    ] {
        let offered = bash_completes(&format!("racecount {option} "));
        assert!(!offered.contains("a-file"), "{option}: {offered}");
    }
    // A file option still completes file names.
    assert_eq!(bash_completes("racecount --export-csv a-"), "a-file");
}

#[test]
fn short_help_fits_an_80_by_24_terminal_with_one_line_per_option() {
    let out = racecount().arg("-h").env("COLUMNS", "80").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    assert!(
        help.lines().count() <= 24,
        "{} lines:\n{help}",
        help.lines().count()
    );
    for line in help.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line:?}");
        // A wrapped option or example goes on under its text, far from the left edge.
        assert!(
            !line.starts_with(&" ".repeat(10)),
            "wrapped: {line:?}\n{help}"
        );
    }
    assert!(help.contains("\n  -p, --procs <N>"), "{help}");
    assert!(help.contains("\nExamples:\n  racecount "), "{help}");
}

#[test]
fn the_man_page_has_a_synopsis_with_values_and_the_sections_users_look_for() {
    let man = stdout(&run(&["--man"]));
    assert!(man.contains(r"[\fB\-p\fR \fIN\fR[,\fIN\fR...]]"), "{man}");
    for section in [
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH \"OUTPUT FORMATS\"",
        ".SH \"EXIT STATUS\"",
        ".SH EXAMPLES",
    ] {
        assert!(man.contains(section), "{section} missing");
    }
    assert!(
        man.contains(r"\fB\-\-completions\fR \fI<SHELL>\fR"),
        "{man}"
    );
    assert!(man.contains("Print the man page (roff) and exit"));
    // Examples one per line: each command its own .TP entry.
    assert_eq!(man.matches("\n\\fBracecount \\-").count(), 5, "{man}");
}
