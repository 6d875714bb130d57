//! `minsheng bench numbers`: how well `domain::numbers` finds phone and ID numbers in free text,
//! measured on real citizens' messages and the government's replies to them (the TipDM 2020
//! board in `shared/data/requests-zh`, read in place: that data may not be copied here).
//!
//! The candidates are every run of seven or more digits (separators allowed); each was labelled
//! by reading it in its context, and the labels (`data/eval/numbers-in-text.tsv`: file, column,
//! message id, the run's place in the message, label — no text) are compiled in. A run counts as
//! found when a number the detector reports overlaps it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};

const LABELS: &str = include_str!("../../../../data/eval/numbers-in-text.tsv");

/// The files and the columns of free text measured in each.
const SOURCES: [(&str, &str); 4] = [
    ("labelled_train_400.csv", "留言详情"),
    ("unlabelled_messages_4326.csv", "留言详情"),
    ("messages_with_replies_2816.csv", "留言详情"),
    ("messages_with_replies_2816.csv", "答复意见"),
];

/// What a reader decided a run of digits is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Label {
    /// A phone number or an ID number: must be masked.
    Personal,
    /// Anything else (an amount, a date range, a certificate's number, a standard's code).
    Other,
    /// Already masked by the publisher (`４３０３２２１９５６０*******`): not counted.
    AlreadyMasked,
}

impl std::str::FromStr for Label {
    type Err = String;
    fn from_str(s: &str) -> Result<Label, String> {
        match s {
            "phone" | "id" => Ok(Label::Personal),
            "other" => Ok(Label::Other),
            "masked" => Ok(Label::AlreadyMasked),
            _ => Err(format!("unknown label {s:?}")),
        }
    }
}

/// One run of digits in one text.
struct Run {
    id: String,
    nth: usize,
    context: String,
    found: bool,
}

#[derive(Default)]
struct Tally {
    runs: usize,
    found_right: usize,
    false_alarms: Vec<String>,
    missed: Vec<String>,
}

pub fn run(data: &Path, show: bool) -> anyhow::Result<ExitCode> {
    let labels = labels()?;
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut used = 0;
    let (mut texts, mut bytes, mut spent) = (0usize, 0usize, std::time::Duration::ZERO);
    for (file, column) in SOURCES {
        let path = data.join(file);
        let mut reader = csv::Reader::from_path(&path).with_context(|| {
            format!(
                "reading {} (give --data the requests-zh folder)",
                path.display()
            )
        })?;
        let headers = reader.headers()?.clone();
        let find = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .with_context(|| format!("{} has no column {name}", path.display()))
        };
        let (id_at, text_at) = (find("留言编号")?, find(column)?);
        let tally = tallies.entry(column).or_default();
        for record in reader.records() {
            let record = record?;
            let text = &record[text_at];
            let started = std::time::Instant::now();
            let found = domain::numbers::find(text);
            spent += started.elapsed();
            (texts, bytes) = (texts + 1, bytes + text.len());
            for run in runs(&record[id_at], text, &found) {
                let key = (file.to_owned(), column.to_owned(), run.id.clone(), run.nth);
                let Some(label) = labels.get(&key) else {
                    bail!(
                        "{file} {column} message {} run {} has no label",
                        run.id,
                        run.nth
                    );
                };
                used += 1;
                let line = format!("{file} #{} run {}: {}", run.id, run.nth, run.context);
                tally.runs += 1;
                match (label, run.found) {
                    (Label::Personal, true) => tally.found_right += 1,
                    (Label::Personal, false) => tally.missed.push(line),
                    (Label::Other, true) => tally.false_alarms.push(line),
                    _ => {}
                }
            }
        }
    }
    if used != labels.len() {
        bail!(
            "{} labels match no run of digits: the data is not the one labelled",
            labels.len().abs_diff(used)
        );
    }
    for (column, tally) in &tallies {
        let who = if *column == "答复意见" {
            "units' replies (答复意见)"
        } else {
            "citizens' messages (留言详情)"
        };
        let (right, alarms, missed) = (
            tally.found_right,
            tally.false_alarms.len(),
            tally.missed.len(),
        );
        println!(
            "{who}: {} runs of 7+ digits, {} phone or ID numbers; found {right}, missed {missed}, false alarms {alarms}: precision {:.1}%, recall {:.1}%",
            tally.runs,
            right + missed,
            percent(right, right + alarms),
            percent(right, right + missed),
        );
        if show {
            for line in &tally.missed {
                println!("  missed       {line}");
            }
            for line in &tally.false_alarms {
                println!("  false alarm  {line}");
            }
        }
    }
    println!(
        "Speed: {texts} texts ({:.1} MB) searched in {:.1} ms, {:.1} µs per text ({:.0} MB/s, one core).",
        bytes as f64 / 1e6,
        spent.as_secs_f64() * 1e3,
        spent.as_secs_f64() * 1e6 / texts.max(1) as f64,
        bytes as f64 / 1e6 / spent.as_secs_f64().max(1e-9),
    );
    Ok(ExitCode::SUCCESS)
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 100.0;
    }
    100.0 * part as f64 / whole as f64
}

type Key = (String, String, String, usize);

fn labels() -> anyhow::Result<BTreeMap<Key, Label>> {
    let mut out = BTreeMap::new();
    for (i, line) in LABELS.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [file, column, id, nth, label] = fields[..] else {
            bail!("numbers-in-text.tsv line {}: five fields expected", i + 1);
        };
        let nth = nth.parse().context("a run's place is a number")?;
        let label: Label = label.parse().map_err(anyhow::Error::msg)?;
        if out
            .insert((file.into(), column.into(), id.into(), nth), label)
            .is_some()
        {
            bail!("numbers-in-text.tsv line {}: labelled twice", i + 1);
        }
    }
    Ok(out)
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// Every run of seven or more digits in `text` (digits with hyphens, dashes, brackets or spaces
/// between them), with a little context and whether the detector found a number there.
fn runs(id: &str, text: &str, found: &[domain::numbers::Found]) -> Vec<Run> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_digit(chars[i].1) {
            i += 1;
            continue;
        }
        let (mut j, mut digits) = (i, 0);
        while j < chars.len() && (is_digit(chars[j].1) || "- －—()（）".contains(chars[j].1)) {
            digits += usize::from(is_digit(chars[j].1));
            j += 1;
        }
        if digits >= 7 {
            let start = chars[i].0;
            let end = chars.get(j).map_or(text.len(), |c| c.0);
            let from = chars[i.saturating_sub(12)].0;
            let to = chars.get(j + 6).map_or(text.len(), |c| c.0);
            out.push(Run {
                id: id.to_owned(),
                nth: out.len(),
                context: text[from..to].replace(['\n', '\r', '\t'], " "),
                found: found.iter().any(|f| f.start < end && f.end > start),
            });
        }
        i = j;
    }
    out
}
