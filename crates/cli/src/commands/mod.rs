pub mod admin;
pub mod audit;
pub mod bench;
pub mod bench_pages;
pub mod demo;
pub mod kpi;
pub mod migrate;
pub mod serve;
