//! Multi-row `INSERT`s for the seed tool: many rows per statement, many statements per
//! transaction, on either backend.

use crate::storage::{Backend, Tx};

/// One column value.
#[derive(Debug, Clone)]
pub enum Val {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Real(f64),
}

/// Rows for one table, written [`params_per_statement`] values at a time.
pub struct Batch {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Val>>,
}

/// Values per statement (whole rows): enough to save round trips, few enough that the
/// statement stays cheap to prepare (and is prepared once, since every full chunk has the
/// same text) and to bind. SQLite finds each `$n` by a linear search of the statement's
/// parameters, so binding costs the square of their number: 64 rows of a dictation (1,920
/// values) spent more than half of a seed's time there. PostgreSQL has no such cost, and
/// each statement is a round trip.
pub fn params_per_statement(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 256,
        Backend::Postgres => 8192,
    }
}

impl Batch {
    pub fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        Batch { table, columns, rows: Vec::new() }
    }

    pub fn push(&mut self, row: Vec<Val>) {
        debug_assert_eq!(row.len(), self.columns.len(), "{}", self.table);
        self.rows.push(row);
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes every row and empties the batch.
    pub async fn flush(&mut self, tx: &mut Tx, backend: Backend) -> Result<(), sqlx::Error> {
        let rows = std::mem::take(&mut self.rows);
        for chunk in rows.chunks((params_per_statement(backend) / self.columns.len()).max(1)) {
            let mut sql = format!("INSERT INTO {} ({}) VALUES ", self.table, self.columns.join(", "));
            let mut n = 0;
            for (i, _) in chunk.iter().enumerate() {
                sql.push_str(if i == 0 { "(" } else { ", (" });
                for c in 0..self.columns.len() {
                    n += 1;
                    sql.push_str(&format!("{}${n}", if c == 0 { "" } else { ", " }));
                }
                sql.push(')');
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                for v in row {
                    q = match v {
                        Val::Text(s) => q.bind(s.clone()),
                        Val::OptText(s) => q.bind(s.clone()),
                        Val::Int(i) => q.bind(*i),
                        Val::OptInt(i) => q.bind(*i),
                        Val::Real(f) => q.bind(*f),
                    };
                }
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}
