//! The stores `--store` can name, told from the URL's scheme (or a PostgreSQL key=value
//! string), and the refusal of a string that names none, which never echoes it.

use super::url;

/// The stores `--store` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Page,
    Sqlite,
    Postgres,
    Redis,
    Mysql,
}

impl Kind {
    /// The name used in every output format.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Page => "page",
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
            Kind::Redis => "redis",
            Kind::Mysql => "mysql",
        }
    }

    /// The environment variable the store's own client reads a password from when the URL
    /// gives none (libpq's, redis-cli's, mysql's), which racecount reads too.
    pub(crate) fn password_variable(self) -> &'static str {
        match self {
            Kind::Page | Kind::Sqlite => "",
            Kind::Postgres => "PGPASSWORD",
            Kind::Redis => "REDISCLI_AUTH",
            Kind::Mysql => "MYSQL_PWD",
        }
    }

    /// The cargo feature that builds this store in.
    pub(crate) fn feature(self) -> &'static str {
        match self {
            Kind::Page => "",
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
            Kind::Redis => "redis",
            Kind::Mysql => "mysql",
        }
    }
}

/// The store a URL names, from its scheme; `None` for an unknown scheme.
pub(crate) fn kind_of(url: &str) -> Option<Kind> {
    if url == "page" {
        return Some(Kind::Page);
    }
    if url::is_key_values(url) {
        return Some(Kind::Postgres);
    }
    let scheme = url.split_once(':')?.0.to_ascii_lowercase();
    match scheme.as_str() {
        "sqlite" => Some(Kind::Sqlite),
        "postgres" | "postgresql" => Some(Kind::Postgres),
        "redis" | "rediss" | "redis+unix" | "unix" => Some(Kind::Redis),
        "mysql" | "mariadb" => Some(Kind::Mysql),
        _ => None,
    }
}

/// Why `url` names no store, without echoing it: an unknown string may hold a password
/// (`host=… password=…`), so only a scheme is named, and a store written without its `:`.
pub(super) fn unknown_store(url: &str) -> String {
    const USE: &str =
        "use page, sqlite:PATH, postgres://…, redis://…, redis+unix://…, rediss://… or mysql://…";
    let bare = url.trim().to_ascii_lowercase();
    let words = [
        "page",
        "sqlite",
        "postgres",
        "postgresql",
        "redis",
        "rediss",
        "mysql",
        "mariadb",
    ];
    let word = words.iter().copied().find(|w| *w == bare);
    if let Some(word) = word.or_else(|| crate::model::words::closest(&bare, &words)) {
        let example = match word {
            "page" => "page".to_string(),
            "sqlite" => "sqlite:PATH, e.g. sqlite:/tmp/lesson.db".to_string(),
            other => format!("{other}://HOST/…"),
        };
        return format!("--store: not a store URL; did you mean {example}? ({USE})");
    }
    let scheme = url.split_once("://").map(|(s, _)| s).filter(|s| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    match scheme {
        Some(scheme) => {
            let hint = crate::model::words::closest(scheme, &words)
                .map_or(String::new(), |w| format!("; did you mean '{w}://'?"));
            format!("--store: unknown scheme '{scheme}'{hint} ({USE})")
        }
        None => format!("--store: not a store URL ({USE})"),
    }
}
