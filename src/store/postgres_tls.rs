//! `sslmode=` and `sslrootcert=` for `--store postgres://…` (see [`super::tls`] for what each
//! mode checks). The client library knows only disable, prefer and require and no root
//! certificate: racecount takes both parameters out of the URL, builds the rustls
//! configuration once, in the parent, and every connection (the parent's and each worker's)
//! uses it.

use postgres::config::{Host, SslMode};
use postgres::{Client, Config, NoTls};

/// How a PostgreSQL connection is made: in the clear, or over TLS.
#[derive(Clone)]
pub(super) struct Tls {
    /// None: in the clear (no sslmode, disable, or a Unix socket).
    with: Option<(SslMode, Connector)>,
}

#[cfg(feature = "tls")]
type Connector = tokio_postgres_rustls::MakeRustlsConnect;
#[cfg(not(feature = "tls"))]
type Connector = std::convert::Infallible;

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.with {
            None => f.write_str("Tls(off)"),
            Some((mode, _)) => write!(f, "Tls({mode:?})"),
        }
    }
}

/// Takes the TLS parameters out of `url`: the URL the client library parses, and how to
/// connect.
pub(super) fn parse(url: &str, shown: &str) -> Result<(String, Tls), String> {
    let (rest, ask) = super::tls::postgres_params(url, shown)?;
    let Some(ask) = ask else {
        return Ok((rest, Tls { with: None }));
    };
    let mode = if ask.required {
        SslMode::Require
    } else {
        SslMode::Prefer
    };
    #[cfg(feature = "tls")]
    {
        let config = super::tls::client_config(ask.verify, ask.roots.as_ref())
            .map_err(|e| format!("--store {shown}: {e}"))?;
        let connector = tokio_postgres_rustls::MakeRustlsConnect::new(config);
        Ok((
            rest,
            Tls {
                with: Some((mode, connector)),
            },
        ))
    }
    #[cfg(not(feature = "tls"))]
    {
        let _ = (mode, rest);
        Err(super::tls::missing(shown))
    }
}

impl Tls {
    /// Connects as `config` says, over TLS when the URL asked for it and the host is not a
    /// Unix socket (where libpq ignores sslmode too).
    pub(super) fn connect(&self, config: &Config) -> Result<Client, postgres::Error> {
        #[cfg_attr(not(feature = "tls"), allow(unused_variables))]
        let socket = config
            .get_hosts()
            .iter()
            .all(|h| matches!(h, Host::Unix(_)));
        match &self.with {
            #[cfg(feature = "tls")]
            Some((mode, connector)) if !socket => {
                let mut config = config.clone();
                config.ssl_mode(*mode);
                config.connect(connector.clone())
            }
            _ => config.connect(NoTls),
        }
    }
}
