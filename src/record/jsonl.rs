//! JSON lines (as exported by collectors or `| outputjson`) turned into a CSV body, so local
//! runs use the same record path as Splunk. Nested objects become dotted names
//! (`winlog.event_data.CommandLine`), arrays become multivalue fields.

use std::collections::BTreeMap;

use super::write_field;

/// A line that is not a JSON object.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {detail}")]
pub struct JsonlError {
    pub line: usize,
    pub detail: String,
}

/// Converts JSON lines to a CSV body whose header is the union of every object's keys (as
/// Splunk's chunks are: a key an object lacks is an empty value). Errors name the line.
pub fn to_csv(text: &str) -> Result<Vec<u8>, JsonlError> {
    let mut rows: Vec<BTreeMap<String, String>> = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| JsonlError { line: i + 1, detail: format!("not JSON: {e}") })?;
        let serde_json::Value::Object(obj) = value else {
            return Err(JsonlError { line: i + 1, detail: "not a JSON object".into() });
        };
        let mut row = BTreeMap::new();
        flatten("", &serde_json::Value::Object(obj), &mut row);
        for k in row.keys() {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
        rows.push(row);
    }
    let mut out = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_field(&mut out, c.as_bytes());
    }
    out.push(b'\n');
    for row in &rows {
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_field(&mut out, row.get(c).map(String::as_bytes).unwrap_or(b""));
        }
        out.push(b'\n');
    }
    Ok(out)
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        Value::Array(items) => {
            let joined: Vec<String> = items.iter().map(scalar).collect();
            out.insert(prefix.to_string(), joined.join("\n"));
        }
        v => {
            out.insert(prefix.to_string(), scalar(v));
        }
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn flattens_nested_objects() {
        let csv = super::to_csv("{\"EventID\":4688,\"winlog\":{\"event_data\":{\"CommandLine\":\"a, b\"}}}\n").unwrap();
        assert_eq!(String::from_utf8(csv).unwrap(), "EventID,winlog.event_data.CommandLine\n4688,\"a, b\"\n");
        assert_eq!(super::to_csv("[1]").unwrap_err().to_string(), "line 1: not a JSON object");
    }
}
