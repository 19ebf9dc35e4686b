//! `--store URL`: which store a URL names, and how to show it without its password.
//!
//! Only the scheme is read here; each store's own client parses the rest (so that racecount
//! accepts exactly what `psql` and `redis-cli` users write). Masking happens before anything
//! is shown: the password in the user part (`user:secret@host`) and a `password=` query
//! parameter become `***`, and [`Secret::scrub`] removes the password from any message a
//! client library writes.

/// The stores `--store` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Page,
    Sqlite,
    Postgres,
    Redis,
}

impl Kind {
    /// The name used in every output format.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Page => "page",
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
            Kind::Redis => "redis",
        }
    }

    /// The cargo feature that builds this store in.
    pub fn feature(self) -> &'static str {
        match self {
            Kind::Page => "",
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
            Kind::Redis => "redis",
        }
    }
}

/// The store a URL names, from its scheme; `None` for an unknown scheme.
pub fn kind_of(url: &str) -> Option<Kind> {
    if url == "page" {
        return Some(Kind::Page);
    }
    let scheme = url.split_once(':')?.0.to_ascii_lowercase();
    match scheme.as_str() {
        "sqlite" => Some(Kind::Sqlite),
        "postgres" | "postgresql" => Some(Kind::Postgres),
        "redis" | "rediss" | "redis+unix" | "unix" => Some(Kind::Redis),
        _ => None,
    }
}

/// A password taken out of a URL, to scrub from messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secret(Option<String>);

impl Secret {
    /// Replaces every occurrence of the password (raw and percent-encoded) with `***`.
    pub fn scrub(&self, message: &str) -> String {
        let mut out = message.to_string();
        if let Some(secret) = self.0.as_deref().filter(|s| !s.is_empty()) {
            out = out.replace(secret, "***");
            let decoded = percent_decode(secret);
            if !decoded.is_empty() {
                out = out.replace(&decoded, "***");
            }
        }
        out
    }
}

/// The URL as it may be shown, and the password it held.
pub fn mask(url: &str) -> (String, Secret) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), Secret(None));
    };
    let mut secret = None;
    // The authority ends at the first '/', '?' or '#'; the user part at its last '@'.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, password)) => {
                secret = Some(password.to_string());
                format!("{name}:***@{host}")
            }
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, v)) if k.eq_ignore_ascii_case("password") => {
                        secret = Some(v.to_string());
                        format!("{k}=***")
                    }
                    _ => p.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    (format!("{scheme}://{authority}{tail}"), Secret(secret))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        if bytes[i] == b'%'
            && let Some(Ok(b)) = hex.map(|h| u8::from_str_radix(h, 16))
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_name_their_store() {
        assert_eq!(kind_of("page"), Some(Kind::Page));
        assert_eq!(kind_of("sqlite:/tmp/x.db"), Some(Kind::Sqlite));
        assert_eq!(kind_of("postgres://u@h/db"), Some(Kind::Postgres));
        assert_eq!(kind_of("postgresql://h"), Some(Kind::Postgres));
        assert_eq!(kind_of("redis://127.0.0.1:6379/0"), Some(Kind::Redis));
        assert_eq!(kind_of("mysql://h"), None);
        assert_eq!(kind_of("lesson.db"), None);
    }

    #[test]
    fn passwords_never_show() {
        let (shown, secret) = mask("postgres://ann:s3cr%40t@db.example:5432/app?sslmode=disable");
        assert_eq!(
            shown,
            "postgres://ann:***@db.example:5432/app?sslmode=disable"
        );
        assert_eq!(
            secret.scrub("auth failed for s3cr%40t and s3cr@t"),
            "auth failed for *** and ***"
        );
        let (shown, _) = mask("redis://:hunter2@127.0.0.1:6379/0");
        assert_eq!(shown, "redis://:***@127.0.0.1:6379/0");
        let (shown, secret) = mask("postgres://h/db?user=a&password=pw1&x=y");
        assert_eq!(shown, "postgres://h/db?user=a&password=***&x=y");
        assert_eq!(secret.scrub("pw1"), "***");
        let (shown, secret) = mask("postgres://ann@h/db");
        assert_eq!(shown, "postgres://ann@h/db");
        assert_eq!(secret.scrub("ann"), "ann");
    }
}
