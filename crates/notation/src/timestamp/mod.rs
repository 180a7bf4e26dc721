//! TODO: module timestamp
