//! TLS for the server stores, read from the URL as each database's own tools read it, and made
//! with rustls and ring (no OpenSSL is linked).
//!
//! | store | in the URL | what is checked |
//! |---|---|---|
//! | PostgreSQL | `sslmode=prefer\|require\|verify-ca\|verify-full`, `sslrootcert=PATH\|system` | as libpq: `prefer` and `require` encrypt without checking (`require` with `sslrootcert` checks the chain, as libpq does when it has a root certificate), `verify-ca` the chain, `verify-full` the chain and the host name |
//! | Redis | `rediss://…`, `?cacert=PATH`, `#insecure` | the chain (to `cacert`, else Mozilla's roots) and the host name; `#insecure`: nothing |
//! | MySQL | `ssl-mode=required\|verify_ca\|verify_identity`, `ssl-ca=PATH` | as `mysql --ssl-mode`: nothing, the chain (to `ssl-ca` and Mozilla's roots), the chain and the host name |
//!
//! Without one of them a connection is not encrypted, as before: libpq's default `prefer` and
//! mysql's `PREFERRED` would try TLS unchecked; racecount does only what the URL asks, so that
//! a trial's connections cost what the user chose. A Unix socket is never encrypted (libpq
//! ignores `sslmode` there). Verification needs a CA: `verify-ca`/`verify-full` without
//! `sslrootcert` read `~/.postgresql/root.crt`, as libpq does. Certificates are read when the
//! URL is checked, so a missing or unreadable CA is bad input (exit 2), not a failed trial.

// Each store uses its own parser; a build with only some stores leaves the others unused.
#![cfg_attr(
    not(all(feature = "postgres", feature = "redis", feature = "mysql")),
    allow(dead_code, unused_imports)
)]

use std::path::{Path, PathBuf};

use super::url::percent_decode;

/// How much of the server's certificate a client checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verify {
    /// Encrypt, but accept any certificate (`require`, `required`, `#insecure`).
    Nothing,
    /// The chain up to a trusted root, whatever host name it names (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`, `verify_identity`, `rediss://`).
    ChainAndName,
}

/// Takes the query parameters named in `names` out of `url`: the URL without them, and their
/// percent-decoded values in order (the last of a repeated name wins, as in libpq).
pub(super) fn take_params(url: &str, names: &[&str]) -> (String, Vec<(String, String)>) {
    let (body, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let Some((base, query)) = body.split_once('?') else {
        return (url.to_string(), Vec::new());
    };
    let mut taken = Vec::new();
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| match p.split_once('=') {
            Some((k, v)) if names.contains(&k) => {
                taken.push((k.to_string(), percent_decode(v)));
                false
            }
            _ => !p.is_empty(),
        })
        .collect();
    let mut out = base.to_string();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    (out, taken)
}

fn last<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Where the trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Roots {
    File(PathBuf),
    /// The system's store (`sslrootcert=system`; Redis without `cacert`).
    System,
}

/// What a PostgreSQL URL asks for: `None` for no TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PgAsk {
    /// `require` and stronger: fail rather than talk in the clear.
    pub(super) required: bool,
    pub(super) verify: Verify,
    pub(super) roots: Option<Roots>,
}

/// Reads `sslmode` and `sslrootcert` out of a PostgreSQL URL (the client library knows only
/// disable, prefer and require): the URL without them, and what they ask for.
pub(super) fn postgres_params(url: &str, shown: &str) -> Result<(String, Option<PgAsk>), String> {
    let (rest, params) = take_params(url, &["sslmode", "sslrootcert"]);
    let root = last(&params, "sslrootcert").map(|r| {
        if r == "system" {
            Roots::System
        } else {
            Roots::File(PathBuf::from(r))
        }
    });
    let mode = last(&params, "sslmode").unwrap_or(match root {
        // libpq: sslrootcert=system defaults to, and needs, verify-full.
        Some(Roots::System) => "verify-full",
        _ => "disable",
    });
    let bad = |why: &str| format!("--store {shown}: {why}");
    let default_root = || {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let file = home.map(|h| h.join(".postgresql/root.crt"));
        match file {
            Some(f) if f.exists() => Ok(Roots::File(f)),
            _ => Err(bad(&format!(
                "sslmode={mode} checks the server's certificate and needs the CA's: add \
                 sslrootcert=PATH (or sslrootcert=system for the system's roots, or put it in \
                 ~/.postgresql/root.crt)"
            ))),
        }
    };
    let ask = match mode {
        "disable" => None,
        "prefer" => Some(PgAsk {
            required: false,
            verify: Verify::Nothing,
            roots: None,
        }),
        "require" => Some(PgAsk {
            required: true,
            verify: if root.is_some() {
                Verify::Chain
            } else {
                Verify::Nothing
            },
            roots: root.clone(),
        }),
        "verify-ca" | "verify-full" => Some(PgAsk {
            required: true,
            verify: if mode == "verify-ca" {
                Verify::Chain
            } else {
                Verify::ChainAndName
            },
            roots: Some(match root.clone() {
                Some(r) => r,
                None => default_root()?,
            }),
        }),
        "allow" => {
            return Err(bad(
                "sslmode=allow is not supported; use disable, prefer, require, verify-ca or verify-full",
            ));
        }
        other => {
            return Err(bad(&format!(
                "sslmode={other}: use disable, prefer, require, verify-ca or verify-full"
            )));
        }
    };
    if root == Some(Roots::System) && mode != "verify-full" {
        return Err(bad(&format!(
            "sslrootcert=system needs sslmode=verify-full, not {mode} (as in libpq)"
        )));
    }
    if let Some(PgAsk {
        roots: Some(Roots::File(path)),
        ..
    }) = &ask
    {
        check_pem(path).map_err(|e| bad(&e))?;
    }
    Ok((rest, ask))
}

/// What a MySQL URL asks for: how much to check, and the CA (`ssl-ca`) if one is named.
pub(super) type MysqlAsk = (Verify, Option<PathBuf>);

/// What a MySQL URL asks for: the URL without `ssl-mode` and `ssl-ca`, and `None` for no TLS.
pub(super) fn mysql_params(url: &str, shown: &str) -> Result<(String, Option<MysqlAsk>), String> {
    let (rest, params) = take_params(url, &["ssl-mode", "ssl-ca"]);
    let ca = last(&params, "ssl-ca").map(PathBuf::from);
    let bad = |why: &str| format!("--store {shown}: {why}");
    let mode = last(&params, "ssl-mode").map(str::to_ascii_lowercase);
    let verify = match mode.as_deref() {
        None if ca.is_some() => Some(Verify::ChainAndName),
        None | Some("disabled") => None,
        Some("required") => Some(Verify::Nothing),
        Some("verify_ca") => Some(Verify::Chain),
        Some("verify_identity") => Some(Verify::ChainAndName),
        Some("preferred") => {
            return Err(bad(
                "ssl-mode=preferred is not supported: racecount encrypts only when asked; use disabled, required, verify_ca or verify_identity",
            ));
        }
        Some(other) => {
            return Err(bad(&format!(
                "ssl-mode={other}: use disabled, required, verify_ca or verify_identity"
            )));
        }
    };
    if let Some(path) = &ca {
        check_pem(path).map_err(|e| bad(&e))?;
    }
    Ok((rest, verify.map(|v| (v, ca))))
}

/// Reads `cacert` out of a `rediss://` URL: the URL without it, and the CA's PEM.
pub(super) fn redis_params(url: &str, shown: &str) -> Result<(String, Option<Vec<u8>>), String> {
    let (rest, params) = take_params(url, &["cacert"]);
    let Some(path) = last(&params, "cacert") else {
        return Ok((rest, None));
    };
    if !url.to_ascii_lowercase().starts_with("rediss://") {
        return Err(format!(
            "--store {shown}: cacert= applies to rediss:// (Redis over TLS)"
        ));
    }
    let pem = check_pem(Path::new(path)).map_err(|e| format!("--store {shown}: {e}"))?;
    Ok((rest, Some(pem)))
}

/// The file's bytes, if it holds at least one PEM certificate.
fn check_pem(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!("{}: holds no PEM certificate", path.display()));
    }
    Ok(bytes)
}

#[cfg(feature = "tls")]
mod config;
#[cfg(feature = "tls")]
pub(super) use config::client_config;

/// Without the `tls` feature, asking for TLS is refused when the URL is checked.
#[cfg(not(feature = "tls"))]
pub(super) fn missing(shown: &str) -> String {
    format!("--store {shown}: this racecount was built without TLS (cargo feature \"tls\")")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_and_the_rest_kept() {
        let (rest, taken) = take_params(
            "postgres://a:pw@h/db?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.crt",
            &["sslmode", "sslrootcert"],
        );
        assert_eq!(rest, "postgres://a:pw@h/db?application_name=x");
        assert_eq!(
            taken,
            [
                ("sslmode".to_string(), "verify-full".to_string()),
                ("sslrootcert".to_string(), "/tmp/ca.crt".to_string())
            ]
        );
        let (rest, _) = take_params("rediss://h:1?cacert=/ca#insecure", &["cacert"]);
        assert_eq!(rest, "rediss://h:1#insecure");
        let (rest, taken) = take_params("mysql://h/db", &["ssl-mode"]);
        assert_eq!((rest.as_str(), taken.len()), ("mysql://h/db", 0));
    }

    #[test]
    fn sslmodes_mean_what_libpq_says() {
        let ask = |q: &str| postgres_params(&format!("postgres://h/db{q}"), "x");
        assert_eq!(ask("").unwrap().1, None);
        assert_eq!(ask("?sslmode=disable").unwrap().1, None);
        let require = ask("?sslmode=require").unwrap().1.unwrap();
        assert_eq!((require.required, require.verify), (true, Verify::Nothing));
        let prefer = ask("?sslmode=prefer").unwrap().1.unwrap();
        assert!(!prefer.required);
        assert!(ask("?sslmode=allow").is_err());
        assert!(ask("?sslmode=bogus").unwrap_err().contains("sslmode=bogus"));
        assert!(ask("?sslmode=verify-ca&sslrootcert=/no/such/ca.crt").is_err());
        assert!(ask("?sslrootcert=system&sslmode=require").is_err());
        let system = ask("?sslrootcert=system").unwrap().1.unwrap();
        assert_eq!(system.verify, Verify::ChainAndName);
    }

    #[test]
    fn mysql_ssl_modes_mean_what_the_mysql_client_says() {
        let ask = |q: &str| mysql_params(&format!("mysql://h/db{q}"), "x");
        assert_eq!(ask("").unwrap(), ("mysql://h/db".to_string(), None));
        assert_eq!(
            ask("?ssl-mode=REQUIRED").unwrap().1,
            Some((Verify::Nothing, None))
        );
        assert!(ask("?ssl-mode=preferred").is_err());
        assert!(ask("?ssl-mode=verify_ca&ssl-ca=/no/such").is_err());
    }
}
