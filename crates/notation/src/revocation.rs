//! TODO: module revocation
