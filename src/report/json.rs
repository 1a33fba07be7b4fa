//! `--output json`: the report model serialized as it is (design §5.3, schema version 1), plus
//! the outcome vocabulary the other formats use: each cell's `outcome` and the run's `outcomes`
//! (fields added within version 1; `verdict`, `met` and `summary` keep their meaning).

use super::{Outcome, Tally, outcome};
use crate::probe::Report;

pub fn render(report: &Report) -> String {
    let report = &super::clean(report);
    let mut value = serde_json::to_value(report).expect("the report model always serializes");
    if let Some(cells) = value.get_mut("cells").and_then(|c| c.as_array_mut()) {
        for (json, cell) in cells.iter_mut().zip(&report.cells) {
            if let Some(obj) = json.as_object_mut() {
                obj.insert("outcome".into(), outcome_key(outcome(cell)).into());
            }
        }
    }
    let tally = Tally::of(report);
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "outcomes".into(),
            serde_json::json!({
                "as_expected": tally.met,
                "not_as_expected": tally.not_met,
                "skipped": tally.skipped,
                "inconclusive": tally.inconclusive,
            }),
        );
    }
    let text = serde_json::to_string_pretty(&value).expect("a JSON value always serializes");
    super::finish(&text) + "\n"
}

fn outcome_key(o: Outcome) -> &'static str {
    match o {
        Outcome::Met => "as_expected",
        Outcome::NotMet => "not_as_expected",
        Outcome::Skipped => "skipped",
        Outcome::Inconclusive => "inconclusive",
    }
}
