//! Phone and ID numbers written into free text (a description, a note, a reply): found so they
//! can be sealed like a contact and masked in what is stored and shown. A citizen often writes
//! "联系电话 13812341234" into the description itself, where no field would have kept it apart.
//!
//! What counts: mainland mobiles (`1[3-9]` + 9 digits, optionally `+86`, spaces or hyphens in the
//! 3-4-4 places), fixed lines with an area code (`0` + 2–3 digits, a hyphen, space or brackets,
//! 7–8 digits), 400/800 service numbers, local numbers of 7–8 digits in a clause that says
//! "phone" before them (电话, 手机, 拨打, 致电, 热线, 联系, 号码) or right after them (打电话), and
//! 18-digit resident ID numbers whose birth date is a date and whose check character is right
//! (GB 11643). Digits may be full-width (１３８…).
//!
//! What does not: a number glued to more digits, Latin letters or a decimal point (an order
//! number, a standard's code, an amount), or followed by 元 (an amount) or 号 (a document's
//! number); and a fixed-line-shaped number labelled as another kind of number just before it
//! (证书编号, 发票号, 用户号, QQ…), which a handling unit needs to do its work. A mobile-shaped
//! number is masked whatever its label: an "account number" that is a mobile is usually the
//! person's phone, and a needless mask costs a reveal while a missed one leaks.
//!
//! Measured on every run of seven or more digits in real citizens' messages and the replies to
//! them (`minsheng bench numbers`; figures in docs/privacy.md).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NumberKind {
    Mobile,
    FixedLine,
    IdCard,
}

/// A number found in a text: where (byte offsets into the text) and what it is, in ASCII digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub kind: NumberKind,
    pub start: usize,
    pub end: usize,
    pub digits: String,
}

/// Every number in `text`, in order, not overlapping.
pub fn find(text: &str) -> Vec<Found> {
    // The shortest number has seven digits: most texts are done here.
    if text.chars().filter(|c| digit(*c).is_some()).take(7).count() < 7 {
        return Vec::new();
    }
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        // Every number starts with a digit, a bracket (an area code) or a plus (+86), in a run
        // of digits and separators holding at least seven digits; the context is read only
        // there.
        let (span, digits) = run_at(&chars[i..]);
        if digits < 7 {
            i += span.max(1);
            continue;
        }
        if i > 0 && glued_before(&chars[..i]) {
            i += 1;
            continue;
        }
        let before = &text[..chars[i].0];
        let listed = found
            .last()
            .is_some_and(|f: &Found| continues_list(&text[f.end..chars[i].0]));
        let context = if listed {
            Context::Phone
        } else {
            context_of(before)
        };
        let number = number_at(&chars[i..])
            .filter(|(kind, _, _)| {
                *kind != NumberKind::FixedLine || context != Context::OtherNumber
            })
            .or_else(|| local_number(context, &chars[i..]));
        if let Some((kind, len, digits)) = number
            && !glued_after(&chars[i + len..], context)
        {
            let start = chars[i].0;
            let end = chars.get(i + len).map_or(text.len(), |c| c.0);
            found.push(Found {
                kind,
                start,
                end,
                digits,
            });
            i += len;
            continue;
        }
        i += 1;
    }
    found
}

/// A number masked out of a text as the log records it: which field it was in and how it
/// shows now. The number itself is sealed beside the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SealedNumber {
    pub field: String,
    pub kind: NumberKind,
    /// `138****1234`: what the text shows in the number's place.
    pub masked: String,
}

/// A number as it was written, which only a sealed record and a logged reveal hold.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenNumber {
    #[serde(flatten)]
    pub sealed: SealedNumber,
    pub written: String,
}

impl std::fmt::Debug for WrittenNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("WrittenNumber").field(&self.sealed).finish()
    }
}

/// How much of a number its mask keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Masking {
    /// The ends, as a contact is masked (`138****1234`): enough to tell two numbers apart.
    Partial,
    /// Nothing (`***********`): on a confidential (保密) ticket, whose handling unit must not
    /// learn even part of who asked.
    Full,
}

/// Whether any of the texts holds a number.
pub fn any_in<'a>(texts: impl IntoIterator<Item = &'a str>) -> bool {
    texts.into_iter().any(|t| !find(t).is_empty())
}

/// Masks every number in each named text, in place (`138****1234`, `0571****5678`,
/// `110***********123X`, or only asterisks with `Masking::Full`); returns the numbers as
/// written, in order, each once (a title repeating the description's number lists it once).
pub fn mask_texts<'a>(
    texts: impl IntoIterator<Item = (&'static str, &'a mut String)>,
    masking: Masking,
) -> Vec<WrittenNumber> {
    let mut numbers = Vec::new();
    for (field, text) in texts {
        let found = find(text);
        if found.is_empty() {
            continue;
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in found {
            out.push_str(&text[at..f.start]);
            let shown = match masking {
                Masking::Partial => masked(&f),
                Masking::Full => "*".repeat(f.digits.len()),
            };
            out.push_str(&shown);
            let written = &text[f.start..f.end];
            at = f.end;
            if numbers.iter().any(|n: &WrittenNumber| n.written == written) {
                continue;
            }
            numbers.push(WrittenNumber {
                sealed: SealedNumber {
                    field: field.to_owned(),
                    kind: f.kind,
                    masked: shown,
                },
                written: written.to_owned(),
            });
        }
        out.push_str(&text[at..]);
        *text = out;
    }
    numbers
}

fn masked(f: &Found) -> String {
    let d = &f.digits;
    let n = d.len();
    match f.kind {
        NumberKind::Mobile => format!("{}****{}", &d[n - 11..n - 8], &d[n - 4..]),
        // With an area code: the area code (010 and 02x have three digits, the others four)
        // and the last four. A 400/800 number: its prefix and the last four. A local number
        // without its area code: only the last three, so at least four digits stay hidden.
        NumberKind::FixedLine if d.starts_with('0') => {
            let area = if matches!(d.as_bytes()[1], b'1' | b'2') {
                3
            } else {
                4
            };
            format!("{}****{}", &d[..area], &d[n - 4..])
        }
        NumberKind::FixedLine if n >= 10 => format!("{}****{}", &d[..3], &d[n - 4..]),
        NumberKind::FixedLine => format!("****{}", &d[n - 3..]),
        NumberKind::IdCard => format!("{}{}{}", &d[..3], "*".repeat(11), &d[14..]),
    }
}

/// How many characters the run of digits and separators at `chars[0]` spans, and how many
/// digits it holds.
fn run_at(chars: &[(usize, char)]) -> (usize, usize) {
    let mut digits = 0;
    let span = chars
        .iter()
        .take_while(|(_, c)| {
            let is_digit = digit(*c).is_some();
            digits += usize::from(is_digit);
            is_digit
                || matches!(
                    c,
                    ' ' | '-' | '－' | '—' | '(' | ')' | '（' | '）' | '+' | '＋'
                )
        })
        .count();
    (span, digits)
}

fn digit(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '０'..='９' => Some((c as u32 - '０' as u32) as u8),
        _ => None,
    }
}

/// Whether what comes before a run of digits makes it part of something longer: a digit, a
/// Latin letter, or a decimal point after a digit.
fn glued_before(before: &[(usize, char)]) -> bool {
    match before {
        [.., (_, d), (_, '.')] if digit(*d).is_some() => true,
        [.., (_, c)] => digit(*c).is_some() || c.is_ascii_alphabetic(),
        [] => false,
    }
}

/// Whether what follows makes the run something else: more digits always; letters, a decimal
/// part, 元 (an amount) or 号 (a document's number) unless the clause says it is a phone number
/// ("电话0731-88886666.2019年5月", "致电0731-88886666B市公安局").
fn glued_after(after: &[(usize, char)], context: Context) -> bool {
    match after {
        [(_, c), ..] if digit(*c).is_some() => true,
        _ if context == Context::Phone => false,
        [(_, '.'), (_, d), ..] if digit(*d).is_some() => true,
        [(_, c), ..] => c.is_ascii_alphabetic() || matches!(c, '元' | '号'),
        [] => false,
    }
}

/// Words that make a bare 7–8 digit number in the same clause a phone number.
const PHONE_WORDS: [&str; 7] = ["电话", "手机", "拨打", "致电", "热线", "联系", "号码"];

/// Labels that say the number after them is some other kind of number.
const OTHER_NUMBER_LABELS: [&str; 18] = [
    "编号",
    "证书",
    "证号",
    "发票",
    "用户号",
    "户号",
    "账号",
    "帐号",
    "卡号",
    "单号",
    "工号",
    "警号",
    "qq",
    "微信号",
    "房产证",
    "权证",
    "信用代码",
    "备案",
];

/// What the clause before a number says it is: the later of a phone word and another number's
/// label wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Context {
    Phone,
    OtherNumber,
    Unsaid,
}

/// How far back a clause is searched for a word, in characters.
const CLAUSE_REACH: usize = 16;

/// The end of the clause `before` ends in: up to `CLAUSE_REACH` characters, stopping at a
/// clause's punctuation.
fn clause_before(before: &str) -> String {
    let mut clause: Vec<char> = before
        .chars()
        .rev()
        .take(CLAUSE_REACH)
        .take_while(|c| !matches!(c, '，' | '。' | '；' | '！' | '？' | ',' | ';' | '\n'))
        .collect();
    clause.reverse();
    clause.into_iter().collect::<String>().to_lowercase()
}

fn context_of(before: &str) -> Context {
    let clause = clause_before(before);
    let last = |words: &[&str]| words.iter().filter_map(|w| clause.rfind(w)).max();
    match (last(&OTHER_NUMBER_LABELS), last(&PHONE_WORDS)) {
        (Some(label), Some(phone)) if label > phone => Context::OtherNumber,
        (Some(_), None) => Context::OtherNumber,
        (_, Some(_)) => Context::Phone,
        (None, None) => Context::Unsaid,
    }
}

/// Whether what lies between the number found before and the next one makes the next one more
/// of the same list ("电话：8805667，8805670", "12319或0731-88886666").
fn continues_list(between: &str) -> bool {
    matches!(
        between.trim(),
        "，" | "," | "、" | "/" | "；" | ";" | "或" | "或者" | "和" | "及"
    )
}

/// A local number without its area code, when its clause says it is a phone number: a phone
/// word before it (or it continues a list of numbers), or 打电话 / 电话 right after it.
fn local_number(context: Context, chars: &[(usize, char)]) -> Option<(NumberKind, usize, String)> {
    let mut digits = String::new();
    for (_, c) in chars.iter().take(9) {
        match digit(*c) {
            Some(d) => digits.push((b'0' + d) as char),
            None => break,
        }
    }
    if !(7..=8).contains(&digits.len()) || digits.starts_with(['0', '1']) {
        return None;
    }
    let said_before = context == Context::Phone;
    let after: String = chars[digits.len()..].iter().take(3).map(|c| c.1).collect();
    let said_after = after.starts_with("打电话") || after.starts_with("电话");
    (said_before || said_after).then_some((NumberKind::FixedLine, digits.len(), digits))
}

/// The number that starts at `chars[0]`, if any: its kind, how many characters it spans, and its
/// digits.
fn number_at(chars: &[(usize, char)]) -> Option<(NumberKind, usize, String)> {
    id_card(chars)
        .or_else(|| mobile(chars))
        .or_else(|| fixed_line(chars))
        .or_else(|| service_line(chars))
}

/// A 400 or 800 number (企业服务号码): `400-889-3333`, `400 889 3333`, `4008893333`.
fn service_line(chars: &[(usize, char)]) -> Option<(NumberKind, usize, String)> {
    let (used, digits) = groups(chars, &[3, 3, 4], &['-', ' '])?;
    (digits.starts_with("400") || digits.starts_with("800")).then_some((
        NumberKind::FixedLine,
        used,
        digits,
    ))
}

/// Reads digits and the separators allowed between groups: returns (characters used, digits).
fn groups(
    chars: &[(usize, char)],
    sizes: &[usize],
    separators: &[char],
) -> Option<(usize, String)> {
    let mut used = 0;
    let mut digits = String::new();
    for (g, size) in sizes.iter().enumerate() {
        if g > 0
            && let Some((_, c)) = chars.get(used)
            && separators.contains(c)
        {
            used += 1;
        }
        for _ in 0..*size {
            let d = digit(chars.get(used)?.1)?;
            digits.push((b'0' + d) as char);
            used += 1;
        }
    }
    Some((used, digits))
}

fn mobile(chars: &[(usize, char)]) -> Option<(NumberKind, usize, String)> {
    // An optional +86 / 86 in front.
    let mut skip = 0;
    let texts: String = chars.iter().take(4).map(|c| c.1).collect();
    if texts.starts_with("+86") || texts.starts_with("＋86") {
        skip = 3;
    }
    if skip > 0 && matches!(chars.get(skip).map(|c| c.1), Some(' ' | '-')) {
        skip += 1;
    }
    let rest = &chars[skip.min(chars.len())..];
    let (used, digits) =
        groups(rest, &[3, 4, 4], &[' ', '-']).or_else(|| groups(rest, &[11], &[]))?;
    let bytes = digits.as_bytes();
    (bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1]))
        .then(|| (NumberKind::Mobile, skip + used, digits))
}

fn fixed_line(chars: &[(usize, char)]) -> Option<(NumberKind, usize, String)> {
    let bracketed = matches!(chars.first()?.1, '(' | '（');
    let start = usize::from(bracketed);
    let rest = &chars[start..];
    for area_len in [4, 3] {
        let Some((mut used, area)) = groups(rest, &[area_len], &[]) else {
            continue;
        };
        let next = rest.get(used).map(|c| c.1);
        let separated = if bracketed {
            matches!(next, Some(')' | '）'))
        } else {
            matches!(next, Some('-' | '－' | '—' | ' '))
        };
        if !area.starts_with('0') || !separated {
            continue;
        }
        used += 1;
        // "0745—3322454", "0731——88886666": a dash typed as one or two em dashes.
        if next == Some('—') && rest.get(used).map(|c| c.1) == Some('—') {
            used += 1;
        }
        if bracketed && rest.get(used).map(|c| c.1) == Some(' ') {
            used += 1;
        }
        let mut local = String::new();
        while let Some(d) = rest.get(used).and_then(|c| digit(c.1)) {
            local.push((b'0' + d) as char);
            used += 1;
        }
        if (7..=8).contains(&local.len()) {
            return Some((NumberKind::FixedLine, start + used, area + &local));
        }
    }
    None
}

fn id_card(chars: &[(usize, char)]) -> Option<(NumberKind, usize, String)> {
    let (used, mut digits) = groups(chars, &[17], &[])?;
    let last = chars.get(used)?.1;
    let check = match last {
        'X' | 'x' | 'Ｘ' | 'ｘ' => 'X',
        c => (b'0' + digit(c)?) as char,
    };
    digits.push(check);
    let d = digits.as_bytes();
    if !(b'1'..=b'8').contains(&d[0]) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| digits[range].parse::<u32>().ok();
    let (year, month, day) = (number(6..10)?, number(10..12)?, number(12..14)?);
    if !(1900..=2100).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = d[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let expected = b"10X98765432"[(sum % 11) as usize] as char;
    (expected == check).then(|| (NumberKind::IdCard, used + 1, digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(NumberKind, String)> {
        find(text).into_iter().map(|f| (f.kind, f.digits)).collect()
    }

    #[test]
    fn phones_and_ids_are_found_in_every_way_people_write_them() {
        use NumberKind::*;
        assert_eq!(
            kinds("联系电话：13812341234，或 138 1234 5678、+86 139-8765-4321"),
            [
                (Mobile, "13812341234".into()),
                (Mobile, "13812345678".into()),
                (Mobile, "13987654321".into())
            ]
        );
        assert_eq!(
            kinds("手机１８９７３１８７７８０"),
            [(Mobile, "18973187780".into())]
        );
        assert_eq!(
            kinds("请拨打0734-7399892或（0731）88886666咨询"),
            [
                (FixedLine, "07347399892".into()),
                (FixedLine, "073188886666".into())
            ]
        );
        // A valid check character (this is the standard's own example number).
        assert_eq!(
            kinds("身份证11010519491231002X"),
            [(IdCard, "11010519491231002X".into())]
        );
        // A local number needs a word that says it is one; a sentence may end right after it.
        assert_eq!(
            kinds("医保所电话8881528；我拨打0731-88886666.没人接"),
            [
                (FixedLine, "8881528".into()),
                (FixedLine, "073188886666".into())
            ]
        );
        // The phone word may be further back in the same clause, or right after the number.
        assert_eq!(
            kinds("10日拨打K市K2区环境监测站8413602询问，张某通过7223315打电话给我"),
            [(FixedLine, "8413602".into()), (FixedLine, "7223315".into())]
        );
        assert_eq!(
            kinds("投诉到总部400-889-3333"),
            [(FixedLine, "4008893333".into())]
        );
        // A phone word after another label wins; a mobile is a mobile whatever its label.
        assert_eq!(
            kinds("证书编号见附件，联系电话0731-88886666；账号13812341234"),
            [
                (FixedLine, "073188886666".into()),
                (Mobile, "13812341234".into())
            ]
        );
    }

    #[test]
    fn numbers_that_are_not_phones_or_ids_are_left_alone() {
        for text in [
            "工单号26112600042",
            "工程款2226028元，单价10308元",
            "GB50096-2011 规范",
            "订单号 A13812341234B",
            "2019-12-18 2020-01-02",
            "身份证11010519491231002Y",
            "身份证110105194912310021",
            "累计成交额0731-88886666元",
            "证书编号0731-88886666号",
            "合计4242835.81元",
            "编号7223315",
            "12345热线",
            "UU0081604",
            "第 12329 号",
            "工伤认定书编号:0731-88886666",
            "发票号 0731-88886666 可是",
            "QQ:0731-88886666",
            "交警罗凯0170627说",
            "己移交民警，徐军志5306110在现场处置",
        ] {
            assert!(find(text).is_empty(), "{text}: {:?}", find(text));
        }
    }

    fn mask(text: &str) -> (String, Vec<String>) {
        let mut text = text.to_owned();
        let numbers = mask_texts([("description", &mut text)], Masking::Partial);
        (text, numbers.into_iter().map(|n| n.written).collect())
    }

    #[test]
    fn masking_keeps_the_text_and_hides_the_middle() {
        let (masked, originals) = mask("我的手机138 1234 5678，身份证11010519491231002X，谢谢");
        assert_eq!(
            masked,
            "我的手机138****5678，身份证110***********002X，谢谢"
        );
        assert_eq!(originals, ["138 1234 5678", "11010519491231002X"]);
        let (same, none) = mask("路灯不亮");
        assert_eq!((same.as_str(), none.len()), ("路灯不亮", 0));
        let (mut a, mut b) = ("电话13812341234".to_owned(), "无".to_owned());
        let numbers = mask_texts(
            [("description", &mut a), ("title", &mut b)],
            Masking::Partial,
        );
        assert_eq!(
            numbers[0].sealed,
            SealedNumber {
                field: "description".into(),
                kind: NumberKind::Mobile,
                masked: "138****1234".into()
            }
        );
        assert!(!format!("{numbers:?}").contains("13812341234"));
        let mut confidential = "电话13812341234".to_owned();
        mask_texts([("description", &mut confidential)], Masking::Full);
        assert_eq!(confidential, "电话***********");
        let (landline, _) = mask("电话0731-88886666，北京010-88886666");
        assert_eq!(landline, "电话0731****6666，北京010****6666");
        // Every masked number hides at least four digits.
        let (local, _) = mask("医保所电话8881528，投诉到总部400-889-3333");
        assert_eq!(local, "医保所电话****528，投诉到总部400****3333");
    }
}
