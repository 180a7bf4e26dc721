//! The `imagegate` binary.
fn main() {}
