//! The four benchmarks of the issue, each measuring imagegate against a floor in the same run.

pub mod burst;
pub mod cold;
pub mod memory;
pub mod stampede;
pub mod warm;
