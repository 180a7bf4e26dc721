//! Verification levels (`strict`, `permissive`, `audit`, `skip`) and their `override`s.

use std::fmt;

use super::kinds::{Action, CheckKind};

/// A base verification level of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LevelName {
    /// Every check enforced.
    Strict,
    /// Integrity and authenticity enforced; timestamp, expiry and revocation logged.
    Permissive,
    /// Only integrity enforced; everything else logged.
    Audit,
    /// No verification at all.
    Skip,
}

impl LevelName {
    /// All base levels.
    pub const ALL: [LevelName; 4] = [
        LevelName::Strict,
        LevelName::Permissive,
        LevelName::Audit,
        LevelName::Skip,
    ];

    /// The name used in trust policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Permissive => "permissive",
            Self::Audit => "audit",
            Self::Skip => "skip",
        }
    }

    /// The specification's action table.
    pub fn action(self, check: CheckKind) -> Action {
        match (self, check) {
            (Self::Skip, _) => Action::Skip,
            (_, CheckKind::Integrity) | (Self::Strict, _) => Action::Enforce,
            (Self::Permissive, CheckKind::Authenticity) => Action::Enforce,
            (Self::Permissive | Self::Audit, _) => Action::Log,
        }
    }
}

impl fmt::Display for LevelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A statement's verification level: a base level plus optional per-check overrides.
///
/// With overrides notation-go calls the level `custom`; [`VerificationLevel::name`] does too.
/// Integrity can never be overridden and only revocation may be set to `skip`, so "integrity is
/// always enforced unless the level is `skip`" holds by construction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerificationLevel {
    base: LevelName,
    overrides: Vec<(CheckKind, Action)>,
}

impl VerificationLevel {
    /// A base level without overrides.
    pub fn new(base: LevelName) -> Self {
        Self {
            base,
            overrides: Vec::new(),
        }
    }

    /// Parse `level` and `override` the way notation-go's `GetVerificationLevel` does.
    pub(crate) fn parse<'a>(
        level: &str,
        overrides: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, String> {
        if level.is_empty() {
            return Err(
                "signature verification level is empty or missing in the trust policy statement"
                    .to_owned(),
            );
        }
        let base = LevelName::ALL
            .into_iter()
            .find(|l| l.as_str() == level)
            .ok_or_else(|| {
                format!(
                    "invalid signature verification level {level:?}, supported values are \"strict\", \"permissive\", \"audit\" and \"skip\""
                )
            })?;
        let mut parsed = Self::new(base);
        for (key, value) in overrides {
            if base == LevelName::Skip {
                return Err(format!(
                    "signature verification level {:?} can't be used to customize signature verification",
                    base.as_str()
                ));
            }
            let check = CheckKind::from_name(key).ok_or_else(|| {
                format!(
                    "verification type {key:?} in custom signature verification is not supported, supported values are [\"integrity\" \"authenticity\" \"authenticTimestamp\" \"expiry\" \"revocation\"]"
                )
            })?;
            let action = Action::from_name(value).ok_or_else(|| {
                format!(
                    "verification action {value:?} in custom signature verification is not supported, supported values are [\"enforce\" \"log\" \"skip\"]"
                )
            })?;
            if check == CheckKind::Integrity {
                return Err(format!(
                    "{key:?} verification can not be overridden in custom signature verification"
                ));
            }
            if check != CheckKind::Revocation && action == Action::Skip {
                return Err(format!(
                    "{key:?} verification can not be skipped in custom signature verification"
                ));
            }
            parsed.overrides.retain(|(k, _)| *k != check);
            parsed.overrides.push((check, action));
        }
        Ok(parsed)
    }

    /// The base level.
    pub fn base(&self) -> LevelName {
        self.base
    }

    /// `strict`, `permissive`, `audit`, `skip`, or `custom` when overrides are present.
    pub fn name(&self) -> &'static str {
        if self.is_custom() {
            "custom"
        } else {
            self.base.as_str()
        }
    }

    /// Whether overrides are present.
    pub fn is_custom(&self) -> bool {
        !self.overrides.is_empty()
    }

    /// The overrides, in document order.
    pub fn overrides(&self) -> &[(CheckKind, Action)] {
        &self.overrides
    }

    /// The action for `check`: the override if any, else the base level's table entry.
    pub fn action(&self, check: CheckKind) -> Action {
        self.overrides
            .iter()
            .find(|(k, _)| *k == check)
            .map_or_else(|| self.base.action(check), |(_, a)| *a)
    }
}

impl fmt::Display for VerificationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
