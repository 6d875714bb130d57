//! Checking what people type: required and optional free text, a new request's category,
//! tier and place, the units of a dispatch.

use super::NewTicket;
use super::decide::Context;
use crate::error::DomainError;
use crate::ids::UnitId;

pub(super) const SHORT: usize = 200;
pub(super) const LONG: usize = 4000;
const MAX_CO_UNITS: usize = 10;

/// The most extra answers one request may carry.
const MAX_ATTRIBUTES: usize = 30;

pub(super) fn check_request(
    ctx: &Context<'_>,
    request: &NewTicket,
) -> Result<NewTicket, DomainError> {
    ctx.rules.tier(&request.urgency)?;
    let category = ctx.directory.category(&request.category).ok_or_else(|| {
        DomainError::invalid(
            "category",
            format!(
                "unknown category {}; pick one from the taxonomy",
                request.category
            ),
        )
    })?;
    if category.level() != 3 {
        return Err(DomainError::invalid(
            "category",
            format!(
                "{} ({}) is a level-{} class; pick one of its level-3 categories",
                category.code,
                category.name,
                category.level()
            ),
        ));
    }
    if let Some(division) = &request.location.division
        && !ctx.directory.knows_division(division)
    {
        return Err(DomainError::invalid(
            "location.division",
            format!("division {division} is not one of this city's divisions"),
        ));
    }
    let mut request = request.clone();
    request.title = text("title", &request.title, 100)?;
    request.description = text("description", &request.description, LONG)?;
    request.location.address = optional_text("location.address", &request.location.address, SHORT)?;
    if request.attributes.len() > MAX_ATTRIBUTES {
        return Err(DomainError::invalid(
            "attributes",
            format!("at most {MAX_ATTRIBUTES} answers"),
        ));
    }
    for (code, value) in &mut request.attributes {
        *value = text("attributes", value, SHORT).map_err(|_| {
            DomainError::invalid(
                "attributes",
                format!("the answer to {code} is empty or too long"),
            )
        })?;
    }
    if let Some(hash) = &request.citizen_code
        && !(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(DomainError::invalid(
            "citizen_code",
            "the follow-up code is kept as a SHA-256 in hex",
        ));
    }
    if let Some(kind) = &request.photo
        && !["image/jpeg", "image/png", "image/webp"].contains(&kind.as_str())
    {
        return Err(DomainError::invalid(
            "photo",
            format!("{kind} is not a photo type"),
        ));
    }
    if let Some(url) = &request.media_url
        && (url.len() > 2000 || !(url.starts_with("https://") || url.starts_with("http://")))
    {
        return Err(DomainError::invalid(
            "media_url",
            "give an http(s) address of at most 2,000 characters",
        ));
    }
    Ok(request)
}

pub(super) fn check_units(
    ctx: &Context<'_>,
    lead: &UnitId,
    co_units: &[UnitId],
) -> Result<Vec<UnitId>, DomainError> {
    let known = |id: &UnitId, field| {
        ctx.directory
            .unit(id)
            .map(|_| ())
            .ok_or_else(|| DomainError::invalid(field, format!("unknown unit {id}")))
    };
    known(lead, "lead")?;
    let mut out: Vec<UnitId> = Vec::with_capacity(co_units.len());
    for unit in co_units {
        known(unit, "co_units")?;
        if unit == lead {
            return Err(DomainError::invalid(
                "co_units",
                format!("{unit} is already the lead unit"),
            ));
        }
        if !out.contains(unit) {
            out.push(unit.clone());
        }
    }
    if out.len() > MAX_CO_UNITS {
        return Err(DomainError::invalid(
            "co_units",
            format!("at most {MAX_CO_UNITS} co-units"),
        ));
    }
    Ok(out)
}

/// Required free text: trimmed, not empty, at most `max` characters.
pub(super) fn text(field: &'static str, value: &str, max: usize) -> Result<String, DomainError> {
    let value = optional_text(field, value, max)?;
    if value.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    Ok(value)
}

pub(super) fn optional_text(
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<String, DomainError> {
    let value = value.trim();
    let count = value.chars().count();
    if count > max {
        return Err(DomainError::invalid(
            field,
            format!("is {count} characters long; at most {max} are allowed"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(DomainError::invalid(field, "contains control characters"));
    }
    Ok(value.to_owned())
}
