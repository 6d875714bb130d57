//! Fuzzing the parsers of outside input with proptest (cargo-fuzz needs a nightly compiler, which
//! this project does not use): each parser gets arbitrary input and mutations of real input — the
//! shipped taxonomy, holiday and division tables, real-looking phone numbers and messages — and
//! must answer with a value or an error, never a panic. Failures proptest finds are kept in
//! `fuzz.proptest-regressions` beside this file and replayed first on every run; `CORPUS` keeps
//! inputs known to be awkward. A longer run: `PROPTEST_CASES=30000 cargo nextest run -p
//! minsheng-domain --test fuzz` (about a minute).

use domain::calendar::parse_holiday_csv;
use domain::category::Taxonomy;
use domain::division::parse_divisions_csv;
use domain::ids::{CategoryCode, DivisionCode, TicketNo, UnitId, UserId};
use domain::kpi::Period;
use domain::media::photo_type;
use domain::numbers::{Masking, find, mask_texts};
use domain::phone::PhoneNumber;
use proptest::prelude::*;

const TAXONOMY: &str = include_str!("../../../data/taxonomy/db44t2479-2024_appendix_a.csv");
const HOLIDAYS: &str = include_str!("../../../data/holidays/cn_holiday_adjustments_2019_2026.csv");
const CITIES: &str = include_str!("../../../data/divisions/cities.csv");

/// Inputs that have tripped parsers elsewhere: empty, BOMs, stray quotes and separators, NULs,
/// very long runs, lone surrogates' replacement, full-width digits, mixed line ends.
const CORPUS: &[&str] = &[
    "",
    "\u{feff}",
    "\u{feff}code,name\r\n",
    "\"",
    "\"\"\"",
    ",,,,\n,,,\n",
    "\0\0\0",
    "\r\r\n\n\r",
    "１３８１２３４１２３４",
    "+86 138-1234-1234",
    "0086 (0731) 8888 8888 转 123",
    "13812341234138123412341381234123413812341234",
    "11010519491231002X",
    "9999-99",
    "2026-13",
    "-0001-01",
    "030501:",
    "\u{fffd}\u{fffd}",
    "日期,类型,说明\n2026-02-30,休,春节\n",
];

/// `seed` with up to `edits` random byte-level changes (replace, insert, delete), as text.
fn mutated(seed: &'static str, max_edits: usize) -> impl Strategy<Value = String> {
    let len = seed.len().max(1);
    prop::collection::vec((0..len, 0u8..3, any::<u8>()), 0..=max_edits).prop_map(move |edits| {
        let mut bytes = seed.as_bytes().to_vec();
        for (at, op, byte) in edits {
            let at = at.min(bytes.len());
            match op {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.push(byte),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Arbitrary text, a corpus entry, or a corpus entry with edits.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9０-９+()\\- 转ext,\"\n\r]{0,40}",
        prop::sample::select(CORPUS).prop_map(str::to_owned),
        prop::sample::select(CORPUS).prop_flat_map(|seed| mutated(seed, 4)),
    ]
}

fn every_small_parser(input: &str) {
    let _ = PhoneNumber::parse(input);
    let _ = CategoryCode::parse(input);
    let _ = DivisionCode::parse(input);
    let _ = TicketNo::parse(input);
    let _ = UnitId::parse(input);
    let _ = UserId::parse(input);
    let _ = domain::audit::Hash::parse(input);
    let _ = Period::parse_month(input, &jiff::tz::TimeZone::UTC);
    let _ = parse_divisions_csv(input);
    let _ = parse_holiday_csv(input);
    let _ = Taxonomy::parse_csv("fuzz", input);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // Kept beside this file (`fuzz.proptest-regressions`) and replayed first on every run.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn small_parsers_answer_any_text(input in text()) {
        every_small_parser(&input);
    }

    #[test]
    fn numbers_in_any_text_are_found_and_masked_without_panic(input in text(), full in any::<bool>()) {
        let found = find(&input);
        for number in &found {
            prop_assert!(input.is_char_boundary(number.start) && input.is_char_boundary(number.end));
        }
        let mut owned = input.clone();
        let masking = if full { Masking::Full } else { Masking::Partial };
        let written = mask_texts(vec![("description", &mut owned)], masking);
        // Each number once, however often it was written; none left in the masked text.
        let mut distinct: Vec<&str> = found.iter().map(|f| &input[f.start..f.end]).collect();
        distinct.sort_unstable();
        distinct.dedup();
        prop_assert_eq!(written.len(), distinct.len());
        prop_assert!(find(&owned).is_empty(), "left in {:?}", owned);
    }

    #[test]
    fn the_shipped_taxonomy_with_edits_never_panics(input in mutated(TAXONOMY, 12)) {
        let _ = Taxonomy::parse_csv("fuzz", &input);
    }

    #[test]
    fn the_shipped_holidays_with_edits_never_panic(input in mutated(HOLIDAYS, 12)) {
        let _ = parse_holiday_csv(&input);
    }

    #[test]
    fn the_shipped_cities_with_edits_never_panic(input in mutated(CITIES, 12)) {
        let _ = parse_divisions_csv(&input);
    }

    #[test]
    fn photo_headers_of_any_bytes_are_judged_without_panic(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            prop::collection::vec(any::<u8>(), 0..16).prop_map(|tail| [&b"\xff\xd8\xff"[..], &tail].concat()),
            prop::collection::vec(any::<u8>(), 0..16).prop_map(|tail| [&b"\x89PNG\r\n\x1a\n"[..], &tail].concat()),
            prop::collection::vec(any::<u8>(), 0..16).prop_map(|tail| [&b"RIFF\0\0\0\0WEBP"[..], &tail].concat()),
        ]
    ) {
        let _ = photo_type(&bytes);
    }
}

#[test]
fn the_corpus_is_answered() {
    for input in CORPUS {
        every_small_parser(input);
    }
}
