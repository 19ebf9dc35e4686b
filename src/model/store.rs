//! Where the counter lives, as the renderers show it, and the isolation levels a database store
//! runs its transactions at. Plain data: the password is already masked.

use std::fmt;

use clap::ValueEnum;

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

/// The store as the renderers show it: plain data, the password already masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLabel {
    /// page, sqlite, postgres or redis.
    pub kind: &'static str,
    /// The URL, password masked ("page" for the shared page).
    pub url: String,
    /// Where this run's counter lives, for a database.
    pub counter: Option<String>,
    pub isolation: Option<Isolation>,
}

impl StoreLabel {
    /// The shared page.
    pub fn page() -> StoreLabel {
        StoreLabel {
            kind: "page",
            url: "page".into(),
            counter: None,
            isolation: None,
        }
    }

    /// Whether the counter lives in a database (and retries are worth showing).
    pub fn is_db(&self) -> bool {
        self.counter.is_some()
    }
}
