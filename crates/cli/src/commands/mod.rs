pub mod admin;
pub mod audit;
pub mod bench;
pub mod demo;
pub mod kpi;
pub mod migrate;
pub mod serve;
