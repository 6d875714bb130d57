//! Candidate duplicates (疑似重复件): two open requests that are probably about the same matter,
//! for a dispatcher to look at and merge (并单). A suggestion only; merging stays a decision.

use jiff::SignedDuration;

use super::Ticket;

/// How far apart in time two reports of one matter usually arrive.
const WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);
/// Share of the shorter address's character pairs the other must contain.
const ADDRESS_OVERLAP: f64 = 0.6;

/// Same category, received within a week of each other, at the same place: the same division
/// when both have one and most of the address in common.
pub fn likely_same_matter(a: &Ticket, b: &Ticket) -> bool {
    if a.no == b.no || a.status.is_terminal() || b.status.is_terminal() {
        return false;
    }
    let (ra, rb) = (&a.request, &b.request);
    if ra.category != rb.category {
        return false;
    }
    if a.received_at.duration_since(b.received_at).abs() > WINDOW {
        return false;
    }
    if let (Some(da), Some(db)) = (&ra.location.division, &rb.location.division)
        && da != db
    {
        return false;
    }
    address_overlap(&ra.location.address, &rb.location.address) >= ADDRESS_OVERLAP
}

/// The share of the shorter address's neighbouring-character pairs found in the other.
fn address_overlap(a: &str, b: &str) -> f64 {
    let pairs = |s: &str| -> Vec<String> {
        let chars: Vec<char> = s.chars().filter(|c| c.is_alphanumeric()).collect();
        chars.windows(2).map(|w| w.iter().collect()).collect()
    };
    let (pa, pb) = (pairs(a), pairs(b));
    let (short, long) = if pa.len() <= pb.len() {
        (pa, pb)
    } else {
        (pb, pa)
    };
    if short.is_empty() {
        return 0.0;
    }
    let shared = short.iter().filter(|p| long.contains(p)).count();
    shared as f64 / short.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_street_address_overlaps_and_another_does_not() {
        assert!(
            address_overlap("民声市和平区解放路12号", "和平区解放路12号门口") >= ADDRESS_OVERLAP
        );
        assert!(address_overlap("和平区解放路12号", "新华区建设街8号") < ADDRESS_OVERLAP);
        assert_eq!(address_overlap("", "解放路"), 0.0);
    }
}
