//! TODO: module limits
