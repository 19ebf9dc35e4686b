//! `--store URL`: the password taken out by racecount's own parser, before anything is shown
//! or handed to a client library.
//!
//! A URL (`scheme://user:password@host/…?password=…`) or a PostgreSQL key=value string
//! (`host=… password=…`) is split into three: what the client library parses (the same
//! string without the password), what may be shown (the password replaced by `***`), and the
//! password, which each store hands its client through the client's own setter. No message
//! of a client library can then hold the password, and nothing is ever masked by searching
//! for the password's text (a password `a` or `postgres` would mask words of the message).
//!
//! A password with `@`, `/`, `?` or `#` written unencoded makes the URL ambiguous: where the
//! authority ends is not where its writer meant, and the "host" would be a piece of the
//! password. Such a URL is refused, and shown as its scheme alone.

/// A store string split by racecount's parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split {
    /// What the client library parses: the string without the password.
    pub(crate) bare: String,
    /// What racecount shows: the string with the password replaced by `***`.
    pub(crate) shown: String,
    /// The password, percent-decoded (unquoted in a key=value string).
    pub(crate) password: Option<String>,
    /// Where the password is written in the string, as given (bytes).
    pub(crate) span: Option<std::ops::Range<usize>>,
}

/// The query parameters that carry a password: libpq's `password`, and the Redis client's
/// `pass` (for `redis+unix://`).
const PASSWORD_PARAMS: [&str; 2] = ["password", "pass"];

/// libpq's connection keywords: a string that starts with one of them and `=` is a key=value
/// connection string (PostgreSQL's other form).
const KEYWORDS: [&str; 22] = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "options",
    "application_name",
    "fallback_application_name",
    "connect_timeout",
    "client_encoding",
    "keepalives",
    "keepalives_idle",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "target_session_attrs",
    "load_balance_hosts",
    "channel_binding",
    "service",
];

/// Whether `text` is a key=value connection string: its first word is a libpq keyword and `=`.
pub(crate) fn is_key_values(text: &str) -> bool {
    let first = text.trim_start();
    let key: String = first
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    KEYWORDS.contains(&key.as_str()) && first[key.len()..].trim_start().starts_with('=')
}

/// Splits `text` (a store URL, or a key=value string) into what the client parses, what is
/// shown and the password. `Err`: a line that shows no piece of the password. `env` names the
/// variable the store's own tools read the password from, for the advice.
pub(crate) fn split(text: &str, env: &str) -> Result<Split, String> {
    if is_key_values(text) {
        return split_key_values(text);
    }
    let Some((scheme, rest)) = text.split_once("://") else {
        return Ok(Split {
            bare: text.to_string(),
            shown: text.to_string(),
            password: None,
            span: None,
        });
    };
    let mut split = split_url(scheme, rest, env)?;
    let offset = scheme.len() + 3;
    split.span = split.span.map(|s| s.start + offset..s.end + offset);
    Ok(split)
}

/// `scheme://[user[:password]@]host[:port][/path][?query][#fragment]`.
fn split_url(scheme: &str, rest: &str, env: &str) -> Result<Split, String> {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (path, query, fragment) = parts(tail);
    let (userinfo, host) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let (user, mut password) = match userinfo.map(|u| u.split_once(':').unwrap_or((u, ""))) {
        Some((user, pw)) if userinfo.is_some_and(|u| u.contains(':')) => {
            (user, Some(percent_decode(pw)))
        }
        Some((user, _)) => (user, None),
        None => ("", None),
    };
    // Offsets in `rest`: the user part starts it; the query follows the path.
    let mut span = userinfo
        .filter(|u| u.contains(':'))
        .map(|u| user.len() + 1..u.len());
    let mut at = authority.len() + path.len() + 1;
    let mut kept = Vec::new();
    let mut masked = Vec::new();
    let mut in_query = false;
    let mut bare_word = false;
    for param in query.iter().flat_map(|q| q.split('&')) {
        let start = at;
        at += param.len() + 1;
        match param.split_once('=') {
            Some((key, value)) if PASSWORD_PARAMS.iter().any(|p| key.eq_ignore_ascii_case(p)) => {
                password = Some(percent_decode(value));
                span = Some(start + key.len() + 1..start + param.len());
                in_query = true;
                masked.push(format!("{key}=***"));
            }
            Some(_) => {
                kept.push(param.to_string());
                masked.push(param.to_string());
            }
            None => {
                bare_word |= !param.is_empty();
                kept.push(param.to_string());
                masked.push(param.to_string());
            }
        }
    }
    let ambiguous = ambiguous(authority, path, query, fragment)
        || (in_query && (bare_word || fragment.is_some_and(|f| f != "insecure")));
    if ambiguous {
        return Err(refusal(scheme, env));
    }
    let user_at = |pw: bool| match (user.is_empty(), pw) {
        (_, true) => format!("{user}:***@"),
        (false, false) => format!("{user}@"),
        (true, false) => String::new(),
    };
    let join = |params: &[String], user_part: String| {
        let mut out = format!("{scheme}://{user_part}{host}{path}");
        if query.is_some() && !params.is_empty() {
            out.push('?');
            out.push_str(&params.join("&"));
        }
        if let Some(f) = fragment {
            out.push('#');
            out.push_str(f);
        }
        out
    };
    let shown_pw = password.is_some() && !in_query;
    Ok(Split {
        bare: join(&kept, user_at(false)),
        shown: join(&masked, user_at(shown_pw)),
        password,
        span,
    })
}

/// A URL's tail split into path, query and fragment.
fn parts(tail: &str) -> (&str, Option<&str>, Option<&str>) {
    let (body, fragment) = match tail.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (tail, None),
    };
    match body.split_once('?') {
        Some((path, query)) => (path, Some(query), fragment),
        None => (body, None, fragment),
    }
}

/// Whether an `@` past the host says the authority ended early: one in the path, the
/// fragment, or a query parameter's name, after an authority with a user part or a port
/// (where an unencoded password would have cut it). An `@` in a query value is the value's.
fn ambiguous(authority: &str, path: &str, query: Option<&str>, fragment: Option<&str>) -> bool {
    if !authority.contains(['@', ':']) {
        return false;
    }
    let in_query = query.is_some_and(|q| {
        q.split('&').any(|p| match p.split_once('=') {
            Some((key, _)) => key.contains('@'),
            None => p.contains('@'),
        })
    });
    path.contains('@') || fragment.is_some_and(|f| f.contains('@')) || in_query
}

/// The line that refuses an ambiguous URL. Where the password ends is what is unknown, so no
/// part of the URL past its scheme is shown: any of it may be a piece of the password.
fn refusal(scheme: &str, env: &str) -> String {
    format!(
        "--store {scheme}://…: the password seems to hold '@', '/', '?', '#' or '&' unencoded \
         (an '@' past the host, or a word without '=' in the query), so where it ends is \
         unclear; write them %40 %2F %3F %23 %26 (and '%' as %25, ':' as %3A), or leave the \
         password out of the URL and give it in {env}"
    )
}

/// `key=value …` (libpq's other form): values bare or in single quotes, with `\'` and `\\`.
fn split_key_values(text: &str) -> Result<Split, String> {
    let mut bare = Vec::new();
    let mut shown = Vec::new();
    let mut password = None;
    let mut span = None;
    let mut chars = text.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            return Err(format!(
                "--store: a key=value string needs '=' after each key ('{key}' has none)"
            ));
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let value_start = chars.peek().map_or(text.len(), |&(i, _)| i);
        let value = read_value(&mut chars)?;
        let end = chars.peek().map_or(text.len(), |&(i, _)| i);
        if key == "password" {
            password = Some(value);
            span = Some(value_start..end);
            shown.push("password=***".to_string());
        } else {
            let token = text[start..end].to_string();
            bare.push(token.clone());
            shown.push(token);
        }
    }
    Ok(Split {
        bare: bare.join(" "),
        shown: shown.join(" "),
        password,
        span,
    })
}

/// One value of a key=value string, unquoted.
fn read_value(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
) -> Result<String, String> {
    let mut value = String::new();
    if chars.next_if(|(_, c)| *c == '\'').is_some() {
        loop {
            match chars.next() {
                Some((_, '\\')) => value.extend(chars.next().map(|(_, c)| c)),
                Some((_, '\'')) => return Ok(value),
                Some((_, c)) => value.push(c),
                None => {
                    return Err(
                        "--store: a quoted value of the key=value string has no closing \
                                quote"
                            .into(),
                    );
                }
            }
        }
    }
    while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
        if c == '\\' {
            value.extend(chars.next().map(|(_, c)| c));
        } else {
            value.push(c);
        }
    }
    Ok(value)
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

    fn ok(text: &str) -> Split {
        split(text, "PGPASSWORD").unwrap()
    }

    #[test]
    fn the_password_is_taken_out_of_the_user_part_and_the_query() {
        let text = "postgres://ann:s3cr%40t@db.example:5432/app?sslmode=disable";
        let s = ok(text);
        assert_eq!(&text[s.span.clone().unwrap()], "s3cr%40t");
        assert_eq!(
            s.shown,
            "postgres://ann:***@db.example:5432/app?sslmode=disable"
        );
        assert_eq!(s.bare, "postgres://ann@db.example:5432/app?sslmode=disable");
        assert_eq!(s.password.as_deref(), Some("s3cr@t"));
        let s = ok("redis://:hunter2@127.0.0.1:6379/0");
        assert_eq!(s.shown, "redis://:***@127.0.0.1:6379/0");
        assert_eq!(s.bare, "redis://127.0.0.1:6379/0");
        let text = "postgres://h/db?user=a&password=pw1&x=y";
        let s = ok(text);
        assert_eq!(&text[s.span.clone().unwrap()], "pw1");
        assert_eq!(s.shown, "postgres://h/db?user=a&password=***&x=y");
        assert_eq!(s.bare, "postgres://h/db?user=a&x=y");
        assert_eq!(s.password.as_deref(), Some("pw1"));
        let s = ok("redis+unix:///run/redis.sock?db=1&pass=pw2");
        assert_eq!(s.shown, "redis+unix:///run/redis.sock?db=1&pass=***");
        assert_eq!(s.bare, "redis+unix:///run/redis.sock?db=1");
        let s = ok("postgres://ann@h/db");
        assert_eq!(
            (s.shown.as_str(), s.password),
            ("postgres://ann@h/db", None)
        );
        // An empty password is a password: shown masked, handed over empty.
        let s = ok("mysql://ann:@h/db");
        assert_eq!(s.shown, "mysql://ann:***@h/db");
        assert_eq!(s.password.as_deref(), Some(""));
    }

    #[test]
    fn a_password_that_is_a_word_of_the_url_masks_only_itself() {
        for pw in ["a", "postgres", "h", "db"] {
            let s = ok(&format!("postgres://postgres:{pw}@h/db"));
            assert_eq!(s.shown, "postgres://postgres:***@h/db");
            assert_eq!(s.password.as_deref(), Some(pw));
        }
    }

    #[test]
    fn an_unencoded_password_is_refused_without_a_piece_of_it() {
        for url in [
            "postgres://alice:p@ss:w/rd?#%&x@host/db",
            "redis://:p@ss:w/rd?#%&x@host:6379/0",
            "mysql://alice:pw/rd@host/db",
            "postgres://alice:12/34@host/db",
            "postgres://h/db?password=a&b",
        ] {
            let err = split(url, "PGPASSWORD").unwrap_err();
            for piece in ["ss:w", "w/rd", "rd?", "#%&", "pw/", "34", "&b"] {
                assert!(!err.contains(piece), "{url}: {err}");
            }
            assert!(err.contains("PGPASSWORD"), "{err}");
        }
        let err = split("postgres://alice:p@ss:w/rd?#%&x@host/db", "PGPASSWORD").unwrap_err();
        assert!(err.starts_with("--store postgres://…: "), "{err}");
        // An '@' in a query value is the value's.
        let s = ok("postgres://host:5432/db?user=a@b");
        assert_eq!(s.shown, "postgres://host:5432/db?user=a@b");
        assert_eq!(s.password, None);
    }

    #[test]
    fn key_value_strings_lose_their_password_value_quoted_or_not() {
        let s = ok("host=127.0.0.1 port=5432 password=kvsecret user=ann");
        assert_eq!(s.shown, "host=127.0.0.1 port=5432 password=*** user=ann");
        assert_eq!(s.bare, "host=127.0.0.1 port=5432 user=ann");
        assert_eq!(s.password.as_deref(), Some("kvsecret"));
        let text = "host=h password = 'p w\\'s' dbname=x";
        let s = ok(text);
        assert_eq!(&text[s.span.clone().unwrap()], "'p w\\'s'");
        assert_eq!(s.shown, "host=h password=*** dbname=x");
        assert_eq!(s.password.as_deref(), Some("p w's"));
        let err = split("host=h password='open", "PGPASSWORD").unwrap_err();
        assert!(!err.contains("open"), "{err}");
        assert!(is_key_values("host=/tmp dbname=x"));
        assert!(!is_key_values("lesson.db"));
        assert!(!is_key_values("sqlite:/tmp/x=y"));
    }
}
