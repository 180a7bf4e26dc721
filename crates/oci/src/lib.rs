//! Registry I/O for imagegate.
#![deny(missing_docs)]
