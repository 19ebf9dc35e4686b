//! Where the counter lives, as the renderers show it, and the isolation levels a database store
//! runs its transactions at. Plain data: the password is already masked.

use std::fmt;

use clap::ValueEnum;

use super::mode::InDatabase;

/// `--isolation`: the level of the workers' transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Isolation {
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl Isolation {
    /// As SQL writes it.
    pub fn sql(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "READ COMMITTED",
            Isolation::RepeatableRead => "REPEATABLE READ",
            Isolation::Serializable => "SERIALIZABLE",
        }
    }

    /// As the command line writes it.
    pub fn name(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "read-committed",
            Isolation::RepeatableRead => "repeatable-read",
            Isolation::Serializable => "serializable",
        }
    }
}

impl fmt::Display for Isolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// What the database said about itself when the run's counter was made: read from it, not
/// assumed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The level the workers' transactions run at, as the database names it ("read
    /// committed"); none for Redis.
    pub isolation: Option<String>,
    /// SQLite's journal mode ("wal", "delete", ...).
    pub journal_mode: Option<String>,
}

/// The store as the renderers show it: plain data, the password already masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLabel {
    /// page, sqlite, postgres, redis or mysql.
    pub kind: &'static str,
    /// The URL, password masked ("page" for the shared page).
    pub url: String,
    /// Where this run's counter lives, once it has been made.
    pub counter: Option<String>,
    /// `--isolation`, as asked.
    pub isolation: Option<Isolation>,
    /// What the database said once the counter was made.
    pub facts: Facts,
    /// What a worker runs for each database shape (`t` the table, `k` the key).
    pub statements: Vec<(InDatabase, &'static str)>,
}

impl StoreLabel {
    /// The shared page.
    pub fn page() -> StoreLabel {
        StoreLabel {
            kind: "page",
            url: "page".into(),
            counter: None,
            isolation: None,
            facts: Facts::default(),
            statements: Vec::new(),
        }
    }

    /// Whether the counter lives in a database (and retries are worth showing).
    pub fn is_db(&self) -> bool {
        self.kind != "page"
    }

    /// The statements a worker runs for `shape`, when the counter is in a database.
    pub fn statements_for(&self, shape: InDatabase) -> Option<&'static str> {
        self.statements
            .iter()
            .find(|(s, _)| *s == shape)
            .map(|(_, text)| *text)
    }
}
