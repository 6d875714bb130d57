//! Where the data lives: `--db` takes a SQLite file path (optionally `sqlite:PATH`) or a
//! PostgreSQL URL (`postgres://user:password@host:port/database`).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use domain::audit::{ChainBreak, ChainHead, Hash};
use store::Store;
use store::postgres::{PgOptions, PgStore};
use store::sqlite::{SqliteOptions, SqliteStore};

#[derive(Clone, Debug)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(text: &str) -> Location {
        if store::postgres::is_url(text) {
            Location::Postgres(text.to_owned())
        } else {
            Location::Sqlite(PathBuf::from(text.strip_prefix("sqlite:").unwrap_or(text)))
        }
    }

    /// Beside a SQLite file (`<db>.keys`); for PostgreSQL, `minsheng.keys` in the working
    /// directory — every application node needs the same file.
    pub fn default_key_file(&self) -> PathBuf {
        match self {
            Location::Sqlite(path) => {
                let mut name = path
                    .file_name()
                    .map(|n| n.to_os_string())
                    .unwrap_or_default();
                name.push(".keys");
                path.with_file_name(name)
            }
            Location::Postgres(_) => PathBuf::from("minsheng.keys"),
        }
    }

    /// Whether the database can be assumed to exist (a SQLite file must; a server is asked).
    pub fn exists(&self) -> bool {
        match self {
            Location::Sqlite(path) => path.exists(),
            Location::Postgres(_) => true,
        }
    }

    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        self.open_with(SqliteOptions::default()).await
    }

    /// Opens the store; `sqlite` says how, if it is a SQLite file.
    pub async fn open_with(&self, sqlite: SqliteOptions) -> anyhow::Result<Arc<dyn Store>> {
        Ok(match self {
            Location::Sqlite(path) => Arc::new(
                SqliteStore::open(path, sqlite)
                    .with_context(|| format!("opening the database {self}"))?,
            ),
            Location::Postgres(url) => Arc::new(
                PgStore::open(url, PgOptions::default())
                    .await
                    .with_context(|| format!("opening the database {self}"))?,
            ),
        })
    }

    /// Verifies the log without opening the store (so it works on a damaged database).
    pub async fn verify(
        &self,
        expected: Option<(u64, Hash)>,
    ) -> anyhow::Result<Result<ChainHead, ChainBreak>> {
        Ok(match self {
            Location::Sqlite(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || SqliteStore::verify_file(&path, expected))
                    .await??
            }
            Location::Postgres(url) => PgStore::verify_url(url, expected).await?,
        })
    }

    pub async fn head(&self) -> anyhow::Result<ChainHead> {
        Ok(match self {
            Location::Sqlite(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || SqliteStore::head_of_file(&path)).await??
            }
            Location::Postgres(url) => PgStore::head_of_url(url).await?,
        })
    }
}

impl fmt::Display for Location {
    /// The path, or the URL with its password hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => {
                let hidden = match (url.find("://"), url.find('@')) {
                    (Some(scheme), Some(at)) if at > scheme => {
                        let credentials = &url[scheme + 3..at];
                        match credentials.split_once(':') {
                            Some((user, _)) => {
                                format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
                            }
                            None => url.clone(),
                        }
                    }
                    _ => url.clone(),
                };
                f.write_str(&hidden)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn paths_and_urls_are_told_apart_and_passwords_hidden() {
        assert!(matches!(Location::parse("city.db"), Location::Sqlite(_)));
        assert!(
            matches!(Location::parse("sqlite:city.db"), Location::Sqlite(p) if p == Path::new("city.db"))
        );
        let pg = Location::parse("postgres://app:s3cret@db.example:5432/hotline");
        assert_eq!(pg.to_string(), "postgres://app:***@db.example:5432/hotline");
        assert_eq!(
            Location::parse("/data/city.db").default_key_file(),
            PathBuf::from("/data/city.db.keys")
        );
        assert_eq!(pg.default_key_file(), PathBuf::from("minsheng.keys"));
    }
}
