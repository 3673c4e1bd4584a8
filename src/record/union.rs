//! Several CSV bodies as one: the header is the union of their columns (first-seen order), and
//! each record's fields are copied as their raw bytes into their column, empty where its body
//! lacks the column. The shape Splunk gives a chunk, for local runs over several files.

use std::collections::HashMap;

use super::{FieldSpan, Scanner, write_field};
use crate::error::CsvError;

/// Which body a [`CsvError`] came from (0-based).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{source}")]
pub struct UnionError {
    pub body: usize,
    pub source: CsvError,
}

/// Joins `bodies` (each with its header row) into one body.
pub fn union(bodies: &[Vec<u8>]) -> Result<Vec<u8>, UnionError> {
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut maps: Vec<Vec<usize>> = Vec::with_capacity(bodies.len());
    let mut spans: Vec<FieldSpan> = Vec::new();
    for (b, body) in bodies.iter().enumerate() {
        let mut scanner = Scanner::new(body);
        let mut map = Vec::new();
        if scanner.next_record(&mut spans).map_err(|source| UnionError { body: b, source })?.is_some() {
            for span in &spans {
                let name = span.value(body).into_owned();
                let at = *index.entry(name.clone()).or_insert_with(|| {
                    names.push(name);
                    names.len() - 1
                });
                map.push(at);
            }
        }
        maps.push(map);
    }
    let total: usize = bodies.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total + total / 8);
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_field(&mut out, name);
    }
    out.push(b'\n');
    let mut cells: Vec<Option<&[u8]>> = vec![None; names.len()];
    for (b, (body, map)) in bodies.iter().zip(&maps).enumerate() {
        let mut scanner = Scanner::new(body);
        let err = |source| UnionError { body: b, source };
        if scanner.next_record(&mut spans).map_err(err)?.is_none() {
            continue;
        }
        loop {
            let offset = scanner.position();
            if scanner.next_record(&mut spans).map_err(err)?.is_none() {
                break;
            }
            if spans.len() != map.len() {
                let record = scanner.records_read() - 1;
                return Err(err(CsvError::Ragged { record, offset, expected: map.len(), found: spans.len() }));
            }
            cells.fill(None);
            for (span, &at) in spans.iter().zip(map) {
                cells[at] = Some(span.raw(body));
            }
            for (i, cell) in cells.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(cell.unwrap_or(b""));
            }
            out.push(b'\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_united_and_bytes_kept() {
        let a = b"EventCode,CommandLine\n1,\"a,\"\"b\"\"\"\n".to_vec();
        let b = b"Task_Name,EventCode\n\\x,4698\n".to_vec();
        let joined = union(&[a, b]).unwrap();
        assert_eq!(joined, b"EventCode,CommandLine,Task_Name\n1,\"a,\"\"b\"\"\",\n4698,,\\x\n");
        let ragged = union(&[b"a,b\n1\n".to_vec()]).unwrap_err();
        assert_eq!(ragged.body, 0);
    }
}
