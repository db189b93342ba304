//! The two migration folders must describe one schema: the same tables,
//! columns, kinds of type, nullability and unique constraints.

use std::collections::BTreeSet;

use crate::common::*;
use switchyard::store::Db;

/// (table, column, kind, not null) and (table, sorted unique column list).
type Shape = (BTreeSet<(String, String, &'static str, bool)>, BTreeSet<(String, String)>);

fn kind(declared: &str) -> &'static str {
    let declared = declared.to_ascii_lowercase();
    if declared.contains("int") {
        "integer"
    } else if declared.contains("char") || declared.contains("text") {
        "text"
    } else if declared.contains("bool") {
        "boolean"
    } else if declared.contains("bytea") || declared.contains("blob") {
        "bytes"
    } else {
        panic!("a column type this test does not know: {declared}")
    }
}

fn sorted_columns(columns: impl IntoIterator<Item = String>) -> String {
    let mut columns: Vec<String> = columns.into_iter().collect();
    columns.sort();
    columns.join(",")
}

fn only<T: Ord + Clone>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> Vec<T> {
    a.difference(b).cloned().collect()
}

async fn shape(db: &Db) -> Shape {
    let mut columns = BTreeSet::new();
    let mut uniques = BTreeSet::new();
    match db {
        Db::Postgres(pool) => {
            let rows: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
                 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
            ).fetch_all(pool).await.unwrap();
            for (table, column, data_type, nullable) in rows {
                columns.insert((table, column, kind(&data_type), nullable == "NO"));
            }
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT t.relname::text, (SELECT string_agg(a.attname::text, ',') FROM pg_attribute a \
                   WHERE a.attrelid = t.oid AND a.attnum = ANY(ix.indkey)) \
                 FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
                 WHERE n.nspname = current_schema() AND ix.indisunique AND t.relname <> '_sqlx_migrations'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            for (table, cols) in rows {
                uniques.insert((table, sorted_columns(cols.split(',').map(str::to_string))));
            }
        }
        Db::Sqlite(db) => {
            let pool = &db.read;
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
            ).fetch_all(pool).await.unwrap();
            for table in tables {
                let info: Vec<(String, String, i64, i64)> =
                    sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info($1)")
                        .bind(&table)
                        .fetch_all(pool)
                        .await
                        .unwrap();
                let mut primary = Vec::new();
                for (column, declared, not_null, pk) in info {
                    // An INTEGER PRIMARY KEY is never null, though SQLite reports notnull = 0.
                    columns.insert((table.clone(), column.clone(), kind(&declared), not_null == 1 || pk > 0));
                    if pk > 0 {
                        primary.push(column);
                    }
                }
                if !primary.is_empty() {
                    uniques.insert((table.clone(), sorted_columns(primary)));
                }
                let indexes: Vec<(String, i64, String)> =
                    sqlx::query_as("SELECT name, \"unique\", origin FROM pragma_index_list($1)")
                        .bind(&table)
                        .fetch_all(pool)
                        .await
                        .unwrap();
                for (index, unique, origin) in indexes {
                    if unique == 1 && origin != "pk" {
                        let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_index_info($1)")
                            .bind(&index)
                            .fetch_all(pool)
                            .await
                            .unwrap();
                        uniques.insert((table.clone(), sorted_columns(cols)));
                    }
                }
            }
        }
    }
    (columns, uniques)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_schemas_match() {
    if !postgres_enabled().await {
        return;
    }
    let sqlite = TestApp::spawn(Backend::Sqlite).await;
    let postgres = TestApp::spawn(Backend::Postgres).await;
    let (sqlite_columns, sqlite_uniques) = shape(sqlite.store()).await;
    let (pg_columns, pg_uniques) = shape(postgres.store()).await;
    assert!(sqlite_columns.len() > 10, "the introspection found too little: {sqlite_columns:?}");
    assert_eq!(only(&sqlite_columns, &pg_columns), vec![], "columns only SQLite has (or differs in)");
    assert_eq!(only(&pg_columns, &sqlite_columns), vec![], "columns only PostgreSQL has (or differs in)");
    assert_eq!(only(&sqlite_uniques, &pg_uniques), vec![], "unique constraints only SQLite has");
    assert_eq!(only(&pg_uniques, &sqlite_uniques), vec![], "unique constraints only PostgreSQL has");
    assert!(pg_uniques.contains(&("people".to_string(), "username".to_string())));
}
