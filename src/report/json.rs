//! `--output json`: the report model serialized as it is (design §5.3, schema version 1).

use crate::probe::Report;

pub fn render(report: &Report) -> String {
    let report = &super::clean(report);
    let text = serde_json::to_string_pretty(report).expect("the report model always serializes");
    super::finish(&text) + "\n"
}
