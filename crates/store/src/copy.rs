//! Moving a whole installation from SQLite to PostgreSQL: the log row for row (so every hash still
//! verifies and the head is the same), the projections, and the secrets beside the log (sealed
//! contacts keep their ids and ciphertext, so the same key file opens them).

use std::path::Path;

use domain::audit::ChainHead;
use rusqlite::{Connection, OpenFlags, Row};
use sqlx::{Connection as _, PgConnection, Postgres, Transaction};

use crate::postgres::{ContactColumns, TicketColumns};
use crate::{StoreError, StoreResult};

/// Rows per multi-row insert.
const CHUNK: usize = 5_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    pub log_entries: u64,
    pub tickets: u64,
    pub contacts: u64,
    /// The target's head after verification: the same as the source's.
    pub head: ChainHead,
}

/// Copies the SQLite database at `from` into the empty PostgreSQL database at `to`, in one
/// transaction on each side: a consistent snapshot is read, and the target gets either everything
/// or nothing. The copied log is verified inside the target's transaction and must end at the
/// source's head, or nothing is committed.
pub async fn sqlite_to_postgres(from: &Path, to: &str) -> StoreResult<CopyReport> {
    if !from.exists() {
        return Err(StoreError::Database(format!(
            "there is no database at {}",
            from.display()
        )));
    }
    // A source from an older minsheng is brought up to date first, as opening it would, so what
    // is copied is what this version would have written.
    crate::sqlite::upgrade_file(from)?;
    let source = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    source.execute_batch("BEGIN")?;
    let source_head = crate::sqlite::head_of(&source)?;
    let (last_at,): (i64,) =
        (source.query_row("SELECT COALESCE(MAX(at), 0) FROM log", [], |r| r.get(0))?,);
    let options: sqlx::postgres::PgConnectOptions = to
        .parse()
        .map_err(|e| StoreError::Database(format!("not a PostgreSQL URL: {e}")))?;
    let mut target = PgConnection::connect_with(&options).await?;
    crate::postgres::migrate(&mut target, &options).await?;
    let mut tx = target.begin().await?;
    let (existing,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM log")
        .fetch_one(&mut *tx)
        .await?;
    if existing > 0 {
        return Err(StoreError::Conflict(format!(
            "the target already holds {existing} log entries; copy into an empty database"
        )));
    }

    let log_entries = copy(
        &source,
        &mut tx,
        "SELECT seq, at, actor, ticket, kind, body, prev, hash FROM log ORDER BY seq",
        insert_log,
    )
    .await?;
    let tickets = copy(
        &source,
        &mut tx,
        "SELECT no, status, category, lead_unit, received_at, due_at, updated_at, contact_id, version, state FROM tickets ORDER BY no",
        insert_tickets,
    )
    .await?;
    copy(
        &source,
        &mut tx,
        "SELECT unit, no, lead, status, due_at FROM ticket_units",
        insert_units,
    )
    .await?;
    let contacts = copy(
        &source,
        &mut tx,
        "SELECT id, key_id, nonce, ciphertext, phone_index FROM contacts",
        insert_contacts,
    )
    .await?;
    copy(
        &source,
        &mut tx,
        "SELECT day, last FROM day_counters",
        insert_counters,
    )
    .await?;
    copy(
        &source,
        &mut tx,
        "SELECT user, password_hash, updated_at FROM credentials",
        insert_credentials,
    )
    .await?;
    copy(
        &source,
        &mut tx,
        "SELECT id, hash, user, label, created_at, expires_at, revoked_at FROM tokens",
        insert_tokens,
    )
    .await?;
    // Messages not yet delivered and citizens' photos travel with the city (the upgrade above
    // gave an older source these tables).
    copy(
        &source,
        &mut tx,
        "SELECT id, ticket, key_id, nonce, ciphertext, content_type FROM photos",
        insert_photos,
    )
    .await?;
    copy(
        &source,
        &mut tx,
        "SELECT id, ticket, seq, key_id, nonce, ciphertext FROM written_numbers",
        insert_numbers,
    )
    .await?;
    copy(
        &source,
        &mut tx,
        "SELECT seq, ticket, notice, contact_id, created_at, attempts, next_at, sent_at, failed_at, last_error FROM outbox",
        insert_outbox,
    )
    .await?;
    sqlx::query("UPDATE chain_head SET seq = $1, hash = $2, at = $3 WHERE id = 1")
        .bind(source_head.seq as i64)
        .bind(source_head.hash.to_hex())
        .bind(last_at)
        .execute(&mut *tx)
        .await?;
    // Verified before the commit, so a copy that does not verify leaves the target empty.
    let head = match crate::postgres::verify_connection(&mut tx, None).await? {
        Ok(head) => head,
        Err(broken) => {
            return Err(StoreError::Corrupt(format!(
                "the copied log does not verify: {broken}; nothing was written to the target"
            )));
        }
    };
    if head != source_head {
        return Err(StoreError::Corrupt(format!(
            "the copy ends at {head}, the source at {source_head}; nothing was written to the target"
        )));
    }
    tx.commit().await?;
    let _ = target.close().await;
    Ok(CopyReport {
        log_entries,
        tickets,
        contacts,
        head,
    })
}

/// Streams a query's rows from SQLite (each read as the tuple `T`) and inserts them in chunks;
/// returns how many.
async fn copy<T, I>(
    source: &Connection,
    tx: &mut Transaction<'_, Postgres>,
    sql: &str,
    insert: I,
) -> StoreResult<u64>
where
    T: for<'r> TryFrom<&'r Row<'r>, Error = rusqlite::Error>,
    I: AsyncFnInsert<T>,
{
    let mut stmt = source.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let (mut chunk, mut count) = (Vec::with_capacity(CHUNK), 0u64);
    while let Some(row) = rows.next()? {
        chunk.push(T::try_from(row)?);
        if chunk.len() == CHUNK {
            count += chunk.len() as u64;
            insert.insert(tx, std::mem::take(&mut chunk)).await?;
        }
    }
    if !chunk.is_empty() {
        count += chunk.len() as u64;
        insert.insert(tx, chunk).await?;
    }
    Ok(count)
}

/// An insert of one chunk of rows into the target.
trait AsyncFnInsert<T> {
    async fn insert(&self, tx: &mut Transaction<'_, Postgres>, rows: Vec<T>) -> StoreResult<()>;
}

impl<T, F> AsyncFnInsert<T> for F
where
    F: AsyncFn(&mut Transaction<'_, Postgres>, Vec<T>) -> StoreResult<()>,
{
    async fn insert(&self, tx: &mut Transaction<'_, Postgres>, rows: Vec<T>) -> StoreResult<()> {
        self(tx, rows).await
    }
}

type LogRow = (
    i64,
    i64,
    String,
    Option<i64>,
    String,
    String,
    String,
    String,
);

async fn insert_log(tx: &mut Transaction<'_, Postgres>, rows: Vec<LogRow>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO log (seq, at, actor, ticket, kind, body, prev, hash)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[])",
    )
    .bind(rows.iter().map(|r| r.0).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.3).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.4.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.5.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.6.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.7.clone()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_tickets(
    tx: &mut Transaction<'_, Postgres>,
    rows: Vec<TicketColumns>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tickets (no, status, category, lead_unit, received_at, due_at, updated_at, contact_id, version, state)
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[])",
    )
    .bind(rows.iter().map(|r| r.0).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.3.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.4).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.5).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.6).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.7).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.8).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.9.clone()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_units(
    tx: &mut Transaction<'_, Postgres>,
    rows: Vec<(String, i64, bool, String, Option<i64>)>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO ticket_units (unit, no, lead, status, due_at)
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::boolean[], $4::text[], $5::bigint[])",
    )
    .bind(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.3.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.4).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_contacts(
    tx: &mut Transaction<'_, Postgres>,
    rows: Vec<ContactColumns>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO contacts (id, key_id, nonce, ciphertext, phone_index)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[])",
    )
    .bind(rows.iter().map(|r| r.0).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.3.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.4.clone()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_counters(
    tx: &mut Transaction<'_, Postgres>,
    rows: Vec<(String, i64)>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO day_counters (day, last) SELECT * FROM UNNEST($1::text[], $2::bigint[])",
    )
    .bind(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_credentials(
    tx: &mut Transaction<'_, Postgres>,
    rows: Vec<(String, String, i64)>,
) -> StoreResult<()> {
    sqlx::query(r#"INSERT INTO credentials ("user", password_hash, updated_at) SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])"#)
        .bind(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.2).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

type TokenRow = (
    String,
    Vec<u8>,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);

async fn insert_tokens(tx: &mut Transaction<'_, Postgres>, rows: Vec<TokenRow>) -> StoreResult<()> {
    sqlx::query(
        r#"INSERT INTO tokens (id, hash, "user", label, created_at, expires_at, revoked_at)
           SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[])"#,
    )
    .bind(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.3.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.4).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.5).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.6).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

type OutboxRow = (
    i64,
    i64,
    String,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

async fn insert_outbox(
    tx: &mut Transaction<'_, Postgres>,
    rows: Vec<OutboxRow>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (seq, ticket, notice, contact_id, created_at, attempts, next_at, sent_at, failed_at, last_error)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::int[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[])",
    )
    .bind(rows.iter().map(|r| r.0).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.3).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.4).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.5 as i32).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.6).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.7).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.8).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.9.clone()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

type NumbersRow = (i64, i64, i64, i64, Vec<u8>, Vec<u8>);

async fn insert_numbers(
    tx: &mut Transaction<'_, Postgres>,
    rows: Vec<NumbersRow>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO written_numbers (id, ticket, seq, key_id, nonce, ciphertext)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bytea[], $6::bytea[])",
    )
    .bind(rows.iter().map(|r| r.0).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.3).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.4.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.5.clone()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

type PhotoRow = (i64, i64, i64, Vec<u8>, Vec<u8>, String);

async fn insert_photos(tx: &mut Transaction<'_, Postgres>, rows: Vec<PhotoRow>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO photos (id, ticket, key_id, nonce, ciphertext, content_type)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bytea[], $5::bytea[], $6::text[])",
    )
    .bind(rows.iter().map(|r| r.0).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.3.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.4.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.5.clone()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
