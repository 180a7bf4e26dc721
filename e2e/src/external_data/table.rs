//! A provider answering from a table: the stand-in for imagegate in template tests.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ProviderReply, ProviderTransport};
use crate::wire::{Item, ProviderResponse, ResponseBody};

/// What the table holds for one key.
#[derive(Debug, Clone, PartialEq)]
pub enum TableEntry {
    /// Answer with this value (a Ratify verification result).
    Value(Value),
    /// Answer with a per-key error.
    Error(String),
}

/// Answers each key from the table; keys not in it are left out of the response (a provider
/// bug the templates must catch).
#[derive(Debug, Clone)]
pub struct TableProvider {
    entries: BTreeMap<String, TableEntry>,
    /// HTTP status of every answer (200 unless changed).
    pub status: u16,
    /// When set, every answer is this system error with no items.
    pub system_error: Option<String>,
    /// When set, every call fails at the transport level with this message.
    pub down: Option<String>,
}

impl Default for TableProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl TableProvider {
    /// An empty table answering 200.
    pub fn new() -> Self {
        Self {
            entries: BTreeMap::new(),
            status: 200,
            system_error: None,
            down: None,
        }
    }

    /// Sets the answer for `key`.
    pub fn insert(&mut self, key: &str, entry: TableEntry) {
        self.entries.insert(key.to_owned(), entry);
    }
}

impl ProviderTransport for TableProvider {
    fn send(&mut self, _provider: &str, keys: &[String]) -> ProviderReply {
        if let Some(message) = &self.down {
            return ProviderReply::Failed {
                message: message.clone(),
            };
        }
        let mut body = ResponseBody::default();
        match &self.system_error {
            Some(err) => body.system_error = err.clone(),
            None => {
                for key in keys {
                    let item = match self.entries.get(key) {
                        Some(TableEntry::Value(v)) => Item {
                            key: key.clone(),
                            value: v.clone(),
                            error: String::new(),
                        },
                        Some(TableEntry::Error(e)) => Item {
                            key: key.clone(),
                            value: Value::Null,
                            error: e.clone(),
                        },
                        None => continue,
                    };
                    body.items.push(item);
                }
            }
        }
        ProviderReply::Answered {
            status: self.status,
            response: ProviderResponse { response: body },
        }
    }
}
