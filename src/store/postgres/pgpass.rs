//! The password of a PostgreSQL URL that gives none, found as libpq finds it: `PGPASSWORD`,
//! else the first line of the password file (`PGPASSFILE`, else `~/.pgpass`) that matches
//! `host:port:database:user:password`, each field `*` or equal (`\:` and `\\` escaped). Like
//! libpq, a file that its group or others may read is ignored, with a warning.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use postgres::config::Host;

/// What libpq would connect as: host (a socket directory in libpq's default place matches
/// `localhost`), port, database and user, in the file's order.
fn fields(config: &postgres::Config) -> [Vec<String>; 4] {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => vec![name.clone()],
        Some(Host::Unix(dir)) => {
            let dir = dir.display().to_string();
            let default = ["/var/run/postgresql", "/run/postgresql", "/tmp"];
            if default.contains(&dir.as_str()) {
                vec![dir, "localhost".into()]
            } else {
                vec![dir]
            }
        }
        None => vec!["localhost".into()],
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config
        .get_user()
        .map(str::to_string)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default();
    let database = config.get_dbname().map_or(user.clone(), str::to_string);
    [host, vec![port], vec![database], vec![user]]
}

/// The password for `config`, and a warning when a password file was ignored.
pub(super) fn password(config: &postgres::Config) -> (Option<String>, Option<String>) {
    if let Ok(password) = std::env::var("PGPASSWORD") {
        return (Some(password), None);
    }
    let file = match std::env::var_os("PGPASSFILE") {
        Some(file) => PathBuf::from(file),
        None => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".pgpass"),
            None => return (None, None),
        },
    };
    let Ok(meta) = std::fs::metadata(&file) else {
        return (None, None);
    };
    if !meta.is_file() {
        return (None, None);
    }
    if meta.permissions().mode() & 0o077 != 0 {
        let warning = format!(
            "password file {} has group or world access and is ignored (as libpq does); \
             permissions should be u=rw (0600) or less",
            file.display()
        );
        return (None, Some(warning));
    }
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    (find(&text, &fields(config)), None)
}

/// The password of the first line of `text` that matches `wanted`.
fn find(text: &str, wanted: &[Vec<String>; 4]) -> Option<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .find_map(|line| {
            let parts = split_fields(line);
            let [host, port, db, user, password] = parts.as_slice() else {
                return None;
            };
            let matches = [host, port, db, user]
                .iter()
                .zip(wanted)
                .all(|(field, want)| field.as_str() == "*" || want.contains(field));
            matches.then(|| password.clone())
        })
}

/// A line's fields, split at unescaped `:`, with `\:` and `\\` unescaped.
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(field)) = (chars.next(), fields.last_mut()) {
                    field.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_line_gives_the_password() {
        let text = "# comment\n\
                    other:5432:*:ann:nope\n\
                    db.example:5432:app:ann:p\\:w\\\\d:x\n\
                    *:*:*:ann:fallback\n";
        let want = |host: &str, db: &str| {
            [
                vec![host.to_string()],
                vec!["5432".to_string()],
                vec![db.to_string()],
                vec!["ann".to_string()],
            ]
        };
        assert_eq!(
            find(text, &want("db.example", "app")).as_deref(),
            Some("p:w\\d:x")
        );
        assert_eq!(
            find(text, &want("elsewhere", "app")).as_deref(),
            Some("fallback")
        );
        assert_eq!(find("h:1:d:u", &want("h", "d")), None);
    }
}
