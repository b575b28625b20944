//! Schema migrations, compiled into the binary so a deployed engine needs no files beside it.
//! Each backend has its own numbered SQL files; sqlx records applied versions (with checksums) in
//! `_sqlx_migrations`, which makes applying them on every open idempotent.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::SqlSafeStr;

/// `(version, description, sql)` of the SQLite migrations, in order.
const SQLITE: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/sqlite/0001_init.sql")),
    (
        2,
        "job_priority",
        include_str!("migrations/sqlite/0002_job_priority.sql"),
    ),
    (
        3,
        "snapshot_peer",
        include_str!("migrations/sqlite/0003_snapshot_peer.sql"),
    ),
    (
        4,
        "admin_listing",
        include_str!("migrations/sqlite/0004_admin_listing.sql"),
    ),
];

/// `(version, description, sql)` of the PostgreSQL migrations, in order.
const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/postgres/0001_init.sql")),
    (
        2,
        "job_priority",
        include_str!("migrations/postgres/0002_job_priority.sql"),
    ),
    (
        3,
        "snapshot_peer",
        include_str!("migrations/postgres/0003_snapshot_peer.sql"),
    ),
    (
        4,
        "admin_listing",
        include_str!("migrations/postgres/0004_admin_listing.sql"),
    ),
];

fn build(list: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// The SQLite migrator.
pub(crate) fn sqlite() -> Migrator {
    build(SQLITE)
}

/// The PostgreSQL migrator.
pub(crate) fn postgres() -> Migrator {
    build(POSTGRES)
}

#[cfg(test)]
mod tests {
    /// The embedded list must match the files on disk, or a new migration would silently not run.
    #[test]
    fn every_migration_file_is_embedded() {
        for (dir, list) in [("sqlite", super::SQLITE), ("postgres", super::POSTGRES)] {
            let path = format!("{}/src/store/migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
            let mut files: Vec<String> = std::fs::read_dir(&path)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n.ends_with(".sql"))
                        .collect()
                })
                .unwrap_or_default();
            files.sort();
            let embedded: Vec<String> = list
                .iter()
                .map(|(v, d, _)| format!("{v:04}_{d}.sql"))
                .collect();
            assert_eq!(files, embedded, "migrations in {path}");
        }
    }
}
