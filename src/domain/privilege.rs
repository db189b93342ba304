//! Privileges and the access a role holds them with. A call names the
//! privileges that admit it; read-only access admits only get and list calls.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Privilege {
    User,
    Administrator,
    Wholesale,
    Commerce,
    System,
}

impl Privilege {
    pub const ALL: [Privilege; 5] =
        [Privilege::User, Privilege::Administrator, Privilege::Wholesale, Privilege::Commerce, Privilege::System];

    /// Every privilege's name, in the order of [`Self::ALL`]: what `parse` accepts.
    pub const WORDS: [&'static str; 5] = {
        let mut words = [""; 5];
        let mut i = 0;
        while i < words.len() {
            words[i] = Self::ALL[i].as_str();
            i += 1;
        }
        words
    };

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Administrator => "administrator",
            Self::Wholesale => "wholesale",
            Self::Commerce => "commerce",
            Self::System => "system",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a role holds a privilege: `1` full, `2` read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Full,
    ReadOnly,
}

impl Access {
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Self::Full),
            2 => Some(Self::ReadOnly),
            _ => None,
        }
    }

    pub fn code(self) -> i64 {
        match self {
            Self::Full => 1,
            Self::ReadOnly => 2,
        }
    }
}

/// The privileges of one role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Privileges([Option<Access>; 5]);

impl Privileges {
    pub fn set(&mut self, privilege: Privilege, access: Option<Access>) {
        self.0[privilege as usize] = access;
    }

    /// Adds a privilege as stored in `role_privileges` (its name and access
    /// code). A row of a LEFT JOIN with no privilege, or one this version does
    /// not know, grants nothing.
    pub fn grant_stored(&mut self, name: Option<&str>, code: Option<i64>) {
        if let (Some(privilege), Some(access)) = (name.and_then(Privilege::parse), code.and_then(Access::from_code)) {
            self.set(privilege, Some(access));
        }
    }

    pub fn get(&self, privilege: Privilege) -> Option<Access> {
        self.0[privilege as usize]
    }

    /// Whether any of `any_of` admits a call that `writes` (or only reads).
    pub fn admits(&self, any_of: &[Privilege], writes: bool) -> bool {
        any_of.iter().any(|&p| match self.get(p) {
            Some(Access::Full) => true,
            Some(Access::ReadOnly) => !writes,
            None => false,
        })
    }

    /// Whether `privilege` is held with full access.
    pub fn has_full(&self, privilege: Privilege) -> bool {
        self.get(privilege) == Some(Access::Full)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Privilege, Access)> + '_ {
        Privilege::ALL.into_iter().filter_map(|p| self.get(p).map(|a| (p, a)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_admits_reads_only() {
        let mut p = Privileges::default();
        p.set(Privilege::User, Some(Access::ReadOnly));
        assert!(p.admits(&[Privilege::User], false));
        assert!(!p.admits(&[Privilege::User], true));
        assert!(!p.admits(&[Privilege::System], false));
        p.set(Privilege::Administrator, Some(Access::Full));
        assert!(p.admits(&[Privilege::Administrator, Privilege::Wholesale], true));
    }

    #[test]
    fn names_round_trip() {
        for p in Privilege::ALL {
            assert_eq!(Privilege::parse(p.as_str()), Some(p));
        }
        assert_eq!(Privilege::parse("System"), None);
    }
}
