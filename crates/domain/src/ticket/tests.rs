//! Every transition and every refusal of the lifecycle, and property tests over random command
//! sequences.

pub(crate) mod fixture;
mod lifecycle;
mod offered;
mod properties;
mod refusals;
mod rules;
