//! TODO: module error
