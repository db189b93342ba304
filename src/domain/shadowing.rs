//! Feature codes that shadow each other: when one code is a prefix of
//! another (`*1` and `*10`, `*7` and `*72#`), the switch matches the shorter
//! as soon as it is dialled, so the longer can never be reached. The most
//! reported routing surprise of PBX users, found here before it bites.

/// How a code stands to another it overlaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// It is a prefix of the other: dialling it fires before the other can be finished.
    Shadows,
    /// The other is a prefix of it: it can never be reached.
    ShadowedBy,
    /// The same digits (a customer's own code and a shared one).
    Same,
}

impl Overlap {
    /// How `code` stands to `other`, if they overlap at all.
    pub fn of(code: &str, other: &str) -> Option<Self> {
        if code == other {
            Some(Self::Same)
        } else if other.starts_with(code) {
            Some(Self::Shadows)
        } else if code.starts_with(other) {
            Some(Self::ShadowedBy)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shadows => "shadows",
            Self::ShadowedBy => "shadowed_by",
            Self::Same => "same",
        }
    }
}

/// Every pair `(shorter, longer)` of indexes into `sorted` (sorted by code,
/// bytewise) where the first code is a prefix of the second (or equal to it).
///
/// A code's extensions follow it directly in bytewise order, so one pass with
/// a stack of the codes that are prefixes of the current one finds them all:
/// O(n + pairs), with the stack never deeper than the longest code.
pub fn prefix_pairs<T>(sorted: &[T], code: impl Fn(&T) -> &str) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let mut prefixes: Vec<usize> = Vec::new();
    for (i, item) in sorted.iter().enumerate() {
        let current = code(item);
        while prefixes.last().is_some_and(|&top| !current.starts_with(code(&sorted[top]))) {
            prefixes.pop();
        }
        pairs.extend(prefixes.iter().map(|&shorter| (shorter, i)));
        prefixes.push(i);
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(codes: &[&str]) -> Vec<(String, String)> {
        let mut sorted = codes.to_vec();
        sorted.sort_unstable();
        prefix_pairs(&sorted, |c| c).into_iter().map(|(a, b)| (sorted[a].to_string(), sorted[b].to_string())).collect()
    }

    /// The quadratic definition, to hold the one-pass version to.
    fn naive(codes: &[&str]) -> Vec<(String, String)> {
        let mut sorted = codes.to_vec();
        sorted.sort_unstable();
        let mut found = Vec::new();
        for (i, a) in sorted.iter().enumerate() {
            for b in &sorted[i + 1..] {
                if b.starts_with(a) {
                    found.push((a.to_string(), b.to_string()));
                }
            }
        }
        found
    }

    #[test]
    fn finds_each_prefix_once() {
        assert_eq!(
            pairs(&["*1", "*10", "*2", "*72#", "*7", "*100"]),
            [("*1", "*10"), ("*1", "*100"), ("*10", "*100"), ("*7", "*72#")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert!(pairs(&["*1", "*2", "#3"]).is_empty());
        assert_eq!(pairs(&["*5", "*5"]).len(), 1, "the same code twice (own and shared) is a pair");
    }

    #[test]
    fn agrees_with_the_definition() {
        // Every code of up to 3 of `1 2 *` : dense in prefixes.
        let alphabet = ["1", "2", "*"];
        let mut codes = Vec::new();
        for a in alphabet {
            codes.push(a.to_string());
            for b in alphabet {
                codes.push(format!("{a}{b}"));
                for c in alphabet {
                    codes.push(format!("{a}{b}{c}"));
                }
            }
        }
        let sorted_pairs = |codes: &[&str]| {
            let mut found = pairs(codes);
            found.sort();
            found
        };
        let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
        assert_eq!(sorted_pairs(&refs), naive(&refs));
        let sparse: Vec<&str> = refs.iter().copied().step_by(4).collect();
        assert_eq!(sorted_pairs(&sparse), naive(&sparse));
    }

    #[test]
    fn overlaps() {
        assert_eq!(Overlap::of("*1", "*10"), Some(Overlap::Shadows));
        assert_eq!(Overlap::of("*10", "*1"), Some(Overlap::ShadowedBy));
        assert_eq!(Overlap::of("*1", "*1"), Some(Overlap::Same));
        assert_eq!(Overlap::of("*1", "*2"), None);
    }
}
