//! A posted form as the pages read it: its fields in order, so a multiple select or a group of
//! checkboxes sends one pair per chosen value.

pub type Fields = Vec<(String, String)>;

/// The first value of `name`, or "" when the form did not send it.
pub fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Every non-empty value of `name`.
pub fn values<'a>(fields: &'a Fields, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    fields
        .iter()
        .filter(move |(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

/// A checkbox: sent only when ticked.
pub fn checked(fields: &Fields, name: &str) -> bool {
    !field(fields, name).is_empty()
}
