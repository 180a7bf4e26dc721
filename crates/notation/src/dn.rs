//! TODO: module dn
