//! TODO: module envelope
