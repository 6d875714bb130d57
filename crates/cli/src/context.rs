//! Opening an installation: the store, the vault and the use cases over them.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use app::App;
use app::clock::SystemClock;
use app::vault::Vault;
use store::Store;

use crate::DbArgs;
use crate::location::Location;

pub struct Installation {
    pub app: Arc<App>,
    pub store: Arc<dyn Store>,
    pub key_file: PathBuf,
    /// The key file was created just now.
    pub new_keys: bool,
}

impl Installation {
    /// Opens (creating if needed) the database and its key file, and loads the defaults into a
    /// new database.
    pub async fn open(args: &DbArgs) -> anyhow::Result<Installation> {
        let installation = Self::open_uninitialised(args).await?;
        installation.app.initialise(installation.app.now()).await?;
        Ok(installation)
    }

    /// Opens without loading the defaults into a new database: for the demo city, whose history
    /// (defaults included) starts in the past.
    pub async fn open_uninitialised(args: &DbArgs) -> anyhow::Result<Installation> {
        let location = args.location();
        let key_file = args
            .key_file
            .clone()
            .unwrap_or_else(|| location.default_key_file());
        let store = location.open_with(args.sqlite_options()).await?;
        let empty = store.audit_head().await?.seq == 0;
        if !empty && !key_file.exists() {
            bail!(
                "the key file {} is missing. The database {} holds sealed contacts that only this key can open: \
                 restore the key file from your backup, or pass --key-file",
                key_file.display(),
                args.location()
            );
        }
        let (vault, new_keys) = Vault::open_or_create(&key_file)?;
        if new_keys {
            tracing::info!(path = %key_file.display(), "created a new key file (mode 0600); back it up apart from the database");
        }
        let app = Arc::new(App::new(
            store.clone(),
            Arc::new(vault),
            Arc::new(SystemClock),
        ));
        Ok(Installation {
            app,
            store,
            key_file,
            new_keys,
        })
    }

    /// Opens an existing database only.
    pub async fn open_existing(args: &DbArgs) -> anyhow::Result<Installation> {
        if !args.location().exists() {
            bail!("there is no database at {}; check --db", args.location());
        }
        Self::open(args).await
    }

    /// Opens an existing database for reports that never unseal a citizen's contact (KPIs): no
    /// key file is read, so a reporting host beside a read replica never holds the key. Writes
    /// nothing, not even the defaults.
    pub async fn open_for_reports(location: &Location) -> anyhow::Result<Installation> {
        if !location.exists() {
            bail!("there is no database at {location}; check --db");
        }
        let store = location.open().await?;
        // A key no one keeps: anything sealed with it could never be read back, and reports
        // seal nothing.
        let vault = Vault::generate()?;
        let app = Arc::new(App::new(
            store.clone(),
            Arc::new(vault),
            Arc::new(SystemClock),
        ));
        Ok(Installation {
            app,
            store,
            key_file: PathBuf::new(),
            new_keys: false,
        })
    }

    pub async fn close(self) {
        self.store.close().await;
    }
}
