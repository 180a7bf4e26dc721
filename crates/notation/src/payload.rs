//! TODO: module payload
