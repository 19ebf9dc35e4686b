//! `--store URL`: how to show it without its password.
//!
//! Each store's own client parses the URL (so that racecount accepts exactly what `psql` and
//! `redis-cli` users write). Masking happens before anything
//! is shown: the password in the user part (`user:secret@host`) and a `password=` query
//! parameter become `***`, and [`Secret::scrub`] removes the password from any message a
//! client library writes.

/// A password taken out of a URL, to scrub from messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Secret(Option<String>);

impl Secret {
    /// Replaces every occurrence of the password (raw and percent-encoded) with `***`.
    pub(crate) fn scrub(&self, message: &str) -> String {
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
pub(crate) fn mask(url: &str) -> (String, Secret) {
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

pub(super) fn percent_decode(text: &str) -> String {
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
