//! TODO: module policy
