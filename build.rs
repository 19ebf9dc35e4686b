//! Two things the build decides:
//!
//! - `cfg(no_store)`: set when racecount is built without any database store
//!   (`--no-default-features`), where the store plumbing stays in the build but nothing uses it.
//! - The unwinder linked statically on Linux with glibc, where the C compiler has it, as C
//!   programs do with `-static-libgcc`.
//!
//! Rust's standard library links the unwinder dynamically there (`libgcc_s.so.1`), and every
//! forked worker then inherits five more mappings to duplicate at fork and tear down at exit.
//! With `libgcc_eh.a` named before the standard library's `-lgcc_s`, the linker finds the
//! unwinder in the archive, and `--as-needed` leaves `libgcc_s.so.1` out. Measured, -m atomic
//! -p 10 -i 1 -t 300, 21 alternating runs against benches/baseline.c (load 6-8): 1.19x the C
//! program's CPU with libgcc_s mapped, 1.16x without. Where the archive is not found (another
//! C library, a compiler without it, cross-compiling), nothing changes.
//!
//! `rustc-link-lib`, not `rustc-link-arg-bins`: arguments come after the libraries on the
//! link line, where `libgcc_s.so.1` has already provided the symbols. The library is attached
//! to racecount's own library crate, and so to every binary that links it (racecount, its
//! tests and benches), never to a dependency or a proc-macro.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    no_store();
    static_unwinder();
}

/// `cfg(no_store)` when no store feature is on.
fn no_store() {
    println!("cargo::rustc-check-cfg=cfg(no_store)");
    let stores = ["SQLITE", "POSTGRES", "REDIS", "MYSQL"];
    let any = stores
        .iter()
        .any(|s| std::env::var_os(format!("CARGO_FEATURE_{s}")).is_some());
    if !any {
        println!("cargo::rustc-cfg=no_store");
    }
}

/// `libgcc_eh.a` linked where the C compiler has it (native Linux with glibc).
fn static_unwinder() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native = var("TARGET") == var("HOST");
    if !(native && var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu") {
        return;
    }
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let Ok(out) = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    // The compiler prints the bare name back when it has no such file.
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !(out.status.success() && path.is_absolute() && path.is_file()) {
        return;
    }
    if let Some(dir) = path.parent() {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
    }
}
