//! `cfg(no_store)`: set when racecount is built without any database store
//! (`--no-default-features`), where the store plumbing stays in the build but nothing uses it.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_store)");
    let stores = ["SQLITE", "POSTGRES", "REDIS", "MYSQL"];
    let any = stores
        .iter()
        .any(|s| std::env::var_os(format!("CARGO_FEATURE_{s}")).is_some());
    if !any {
        println!("cargo::rustc-cfg=no_store");
    }
}
