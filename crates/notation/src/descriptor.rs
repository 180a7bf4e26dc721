//! TODO: module descriptor
