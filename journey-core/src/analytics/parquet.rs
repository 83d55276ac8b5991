//! Reading events and identity links from Parquet files (feature `parquet`).
//!
//! Row groups are decoded in parallel; low-cardinality string columns (event, channel,
//! department) are read as dictionaries, so they are interned once per distinct value.
//!
//! Expected columns (the benchmark kit's layout): events `ts` (int64 µs or timestamp),
//! `seq` (optional; default = row position), `customer_key` (or `key`), `event`, `channel`,
//! `department` (nullable, optional), `csat` (nullable, optional; or `nps`, or `rating` as a
//! raw score); links `key_a`, `key_b`, `ts` (optional).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};

use crate::error::{Error, Result};

use super::columns::EventTable;

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Storage { message: format!("{}: {e}", path.display()), source: None }
}

/// Reads the named columns (those present) of a Parquet file, decoding row groups in
/// parallel; string columns named in `dictionary` are read as dictionaries.
pub fn read_batches(path: &Path, columns: &[&str], dictionary: &[&str]) -> Result<Vec<RecordBatch>> {
    read_batches_with(path, columns, dictionary, &[])
}

/// As [`read_batches`], with the string columns named in `views` read as `Utf8View`
/// (no copy of the strings out of the decoded pages).
pub fn read_batches_with(path: &Path, columns: &[&str], dictionary: &[&str], views: &[&str]) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    let plain = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| io_err(path, e))?;
    // the file's schema with the chosen string columns as dictionaries
    let fields: Vec<Field> = plain
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let dict = dictionary.contains(&f.name().as_str()) && matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8);
            if dict {
                Field::new(f.name(), DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)), f.is_nullable())
            } else if views.contains(&f.name().as_str()) && matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
                Field::new(f.name(), DataType::Utf8View, f.is_nullable())
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let meta = ArrowReaderMetadata::try_new(plain.metadata().clone(), ArrowReaderOptions::new().with_schema(schema)).map_err(|e| io_err(path, e))?;
    let pq = meta.metadata().clone();
    let groups = pq.num_row_groups();
    let mask = ProjectionMask::columns(pq.file_metadata().schema_descr(), columns.iter().copied());
    let batch: usize = std::env::var("JC_BATCH").ok().and_then(|b| b.parse().ok()).unwrap_or(BATCH_ROWS);
    let rows: Vec<usize> = (0..groups).map(|g| pq.row_group(g).num_rows() as usize).collect();
    let mut cum = vec![0usize];
    for r in &rows {
        cum.push(cum.last().unwrap() + r);
    }
    let parts = super::par::split_run(groups, *cum.last().unwrap(), |i| cum[i], |range| -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        for g in range {
            // a file of its own per reader: clones of one handle share the read position
            let f = File::open(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(f, meta.clone())
                .with_row_groups(vec![g])
                .with_projection(mask.clone())
                .with_batch_size(batch.min(rows[g]).max(1))
                .build()
                .map_err(|e| io_err(path, e))?;
            for b in reader {
                out.push(b.map_err(|e| io_err(path, e))?);
            }
        }
        Ok(out)
    });
    let mut all = Vec::new();
    for p in parts {
        all.extend(p?);
    }
    Ok(all)
}

/// Rows per decoded batch (`$JC_BATCH` overrides it).
pub const BATCH_ROWS: usize = 1 << 20;

/// The columns [`read_events`] reads.
pub const EVENT_COLUMNS: [&str; 10] = super::arrow::EVENT_COLUMN_NAMES;

/// Reads an events file into Arrow batches (see the module docs for the columns).
pub fn read_events(path: &Path) -> Result<Vec<RecordBatch>> {
    // identity keys stay plain `Utf8`: measured faster here than `Utf8View` (decode and interning)
    read_batches(path, &EVENT_COLUMNS, &["event", "channel", "department"])
}

/// Reads a links file into Arrow batches.
pub fn read_links(path: &Path) -> Result<Vec<RecordBatch>> {
    read_batches(path, &["key_a", "key_b", "ts"], &[])
}

/// Builds an event table from event batches (as [`read_events`] gives them) and link batches.
pub fn table_from_batches(events: &[RecordBatch], links: &[RecordBatch]) -> Result<EventTable> {
    let missing = |c: &str| Error::BadEvent { index: None, field: c.into(), message: "missing column".into() };
    let cols = events.iter().map(super::arrow::event_columns).collect::<Result<Vec<_>>>()?;
    let mut table = EventTable::from_arrow_batches(&cols)?;
    for b in links {
        let col = |n: &str| b.column_by_name(n).map(|a| a.as_ref());
        table.append_arrow_links(col("key_a").ok_or_else(|| missing("key_a"))?, col("key_b").ok_or_else(|| missing("key_b"))?, col("ts"))?;
    }
    Ok(table)
}

/// Reads an events file and, optionally, a links file into an event table.
pub fn read_table(events: &Path, links: Option<&Path>) -> Result<EventTable> {
    let ev = read_events(events)?;
    let li = match links {
        Some(p) => read_links(p)?,
        None => Vec::new(),
    };
    table_from_batches(&ev, &li)
}
