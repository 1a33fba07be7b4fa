//! The emulator's own reading of Azure ABAC conditions, written from Microsoft's documentation
//! (role-based-access-control/conditions-format.md), independently of the tool's evaluator: the
//! emulator is the test oracle, so it must not share that logic.
//!
//! Azure evaluates a condition per request. The emulated request carries its action and nothing
//! else the emulator models: no request or resource attributes (no role being assigned, no blob
//! tags, no private link), no sub-operation. As documented, an expression on an attribute that is
//! absent is false (so its negation is true); `NotExists` on one is true. `ActionMatches`
//! compares the request's action with the pattern, `*` spanning any run of characters, ignoring
//! case [D].
//!
//! This reader decides while it reads, in one left-to-right pass over the text, with no tree.
//! Anything it cannot read makes the condition fail: Azure does not store a condition it cannot
//! parse, so a scenario with one is a mistake the emulator refuses to reward.

/// Longest condition read, in bytes, and deepest nesting: conditions come from scenario files.
const LIMIT_BYTES: usize = 8 * 1024;
const LIMIT_DEPTH: usize = 32;

/// Does `condition` hold for a request performing `action`?
pub fn holds(condition: &str, action: &str) -> bool {
    if condition.len() > LIMIT_BYTES {
        return false;
    }
    let mut reader = Reader {
        text: condition.as_bytes(),
        at: 0,
        action,
        depth: 0,
    };
    match reader.disjunction() {
        Some(value) => {
            reader.blank();
            value && reader.at == reader.text.len()
        }
        None => false,
    }
}

struct Reader<'a> {
    text: &'a [u8],
    at: usize,
    action: &'a str,
    depth: usize,
}

impl Reader<'_> {
    fn blank(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    /// Consume `word` (case-insensitive) when it comes next as a whole word or symbol.
    fn take(&mut self, word: &str) -> bool {
        self.blank();
        let end = self.at + word.len();
        let Some(slice) = self.text.get(self.at..end) else {
            return false;
        };
        if !slice.eq_ignore_ascii_case(word.as_bytes()) {
            return false;
        }
        let alphabetic = word.bytes().all(|b| b.is_ascii_alphabetic());
        if alphabetic
            && self
                .text
                .get(end)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b':')
        {
            return false;
        }
        self.at = end;
        true
    }

    fn disjunction(&mut self) -> Option<bool> {
        let mut value = self.conjunction()?;
        while self.take("||") || self.take("OR") {
            // Both sides are read, whatever the first gave: a malformed right side still fails.
            let right = self.conjunction()?;
            value = value || right;
        }
        Some(value)
    }

    fn conjunction(&mut self) -> Option<bool> {
        let mut value = self.term()?;
        while self.take("&&") || self.take("AND") {
            let right = self.term()?;
            value = value && right;
        }
        Some(value)
    }

    fn term(&mut self) -> Option<bool> {
        self.depth += 1;
        if self.depth > LIMIT_DEPTH {
            return None;
        }
        let value = self.term_inner();
        self.depth -= 1;
        value
    }

    fn term_inner(&mut self) -> Option<bool> {
        if self.take("!") || self.take("NOT") {
            return self.term().map(|v| !v);
        }
        if self.take("(") {
            let value = self.disjunction()?;
            return self.take(")").then_some(value);
        }
        if self.take("ActionMatches") {
            let pattern = self.braced_quote()?;
            return Some(wildcard(&pattern, self.action));
        }
        if self.take("SubOperationMatches") {
            // The emulated request performs no sub-operation.
            self.braced_quote()?;
            return Some(false);
        }
        if self.take("NotExists") {
            self.attribute()?;
            return Some(true);
        }
        if self.take("Exists") {
            self.attribute()?;
            return Some(false);
        }
        // attribute [Quantifier:]Operator value — the attribute is never present here.
        self.attribute()?;
        self.operator()?;
        self.value()?;
        Some(false)
    }

    /// `{'text'}`
    fn braced_quote(&mut self) -> Option<String> {
        if !self.take("{") {
            return None;
        }
        let text = self.quote()?;
        self.take("}").then_some(text)
    }

    fn quote(&mut self) -> Option<String> {
        self.blank();
        if self.text.get(self.at) != Some(&b'\'') {
            return None;
        }
        let start = self.at + 1;
        let len = self.text[start..].iter().position(|b| *b == b'\'')?;
        self.at = start + len + 1;
        String::from_utf8(self.text[start..start + len].to_vec()).ok()
    }

    /// `@Request[…]`, `@Resource[…]`, `@Principal[…]` or `@Environment[…]`.
    fn attribute(&mut self) -> Option<()> {
        self.blank();
        if self.text.get(self.at) != Some(&b'@') {
            return None;
        }
        self.at += 1;
        let known = ["Request[", "Resource[", "Principal[", "Environment["];
        let source = known.iter().find(|s| {
            self.text
                .get(self.at..self.at + s.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(s.as_bytes()))
        })?;
        self.at += source.len();
        let len = self.text[self.at..].iter().position(|b| *b == b']')?;
        if len == 0 {
            return None;
        }
        self.at += len + 1;
        Some(())
    }

    /// `StringEquals`, `ForAnyOfAnyValues:GuidEquals`, …: a name built from letters, with at
    /// most one quantifier before a colon.
    fn operator(&mut self) -> Option<()> {
        self.blank();
        let start = self.at;
        while self
            .text
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b':')
        {
            self.at += 1;
        }
        let word = std::str::from_utf8(&self.text[start..self.at]).ok()?;
        let (quantifier, name) = word.rsplit_once(':').unwrap_or(("", word));
        let quantifier_ok = quantifier.is_empty()
            || [
                "ForAnyOfAnyValues",
                "ForAllOfAnyValues",
                "ForAnyOfAllValues",
                "ForAllOfAllValues",
            ]
            .iter()
            .any(|q| q.eq_ignore_ascii_case(quantifier));
        let families = [
            "String",
            "Numeric",
            "Bool",
            "Guid",
            "DateTime",
            "TimeOfDay",
            "Ip",
            "List",
        ];
        let name_ok = families
            .iter()
            .any(|f| name.len() > f.len() && name[..f.len()].eq_ignore_ascii_case(f));
        (quantifier_ok && name_ok).then_some(())
    }

    /// A quoted string, a bare word (GUID, number, true/false), a `{…}` set of them, or an
    /// attribute.
    fn value(&mut self) -> Option<()> {
        self.blank();
        match self.text.get(self.at)? {
            b'@' => self.attribute(),
            b'{' => {
                self.at += 1;
                loop {
                    self.single()?;
                    if self.take(",") {
                        continue;
                    }
                    return self.take("}").then_some(());
                }
            }
            _ => self.single(),
        }
    }

    fn single(&mut self) -> Option<()> {
        self.blank();
        if self.text.get(self.at) == Some(&b'\'') {
            return self.quote().map(|_| ());
        }
        let start = self.at;
        while self
            .text
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'+'))
        {
            self.at += 1;
        }
        (self.at > start).then_some(())
    }
}

/// `*` matches any run of characters (slashes included); everything else compares without
/// regard to case. Dynamic programming over both strings: no backtracking blow-up.
fn wildcard(pattern: &str, action: &str) -> bool {
    let p: Vec<u8> = pattern.bytes().map(|b| b.to_ascii_lowercase()).collect();
    let a: Vec<u8> = action.bytes().map(|b| b.to_ascii_lowercase()).collect();
    // reach[j]: the first i pattern bytes can match the first j action bytes.
    let mut reach = vec![false; a.len() + 1];
    reach[0] = true;
    for &pc in &p {
        let mut next = vec![false; a.len() + 1];
        if pc == b'*' {
            let mut any = false;
            for j in 0..=a.len() {
                any = any || reach[j];
                next[j] = any;
            }
        } else {
            for j in 1..=a.len() {
                next[j] = reach[j - 1] && a[j - 1] == pc;
            }
        }
        reach = next;
    }
    reach[a.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELEGATION: &str = "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{53ca6127-db72-4b80-b1b0-d745d6d5456d})) AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{53ca6127-db72-4b80-b1b0-d745d6d5456d}))";

    #[test]
    fn the_delegation_condition_holds_for_every_other_action() {
        assert!(holds(
            DELEGATION,
            "Microsoft.CognitiveServices/accounts/AIServices/agents/read"
        ));
        assert!(holds(
            DELEGATION,
            "Microsoft.CognitiveServices/accounts/projects/write"
        ));
        // The role being assigned is not modelled: absent, so the assignment is refused.
        assert!(!holds(
            DELEGATION,
            "Microsoft.Authorization/roleAssignments/write"
        ));
        assert!(!holds(
            DELEGATION,
            "microsoft.authorization/roleassignments/DELETE"
        ));
    }

    #[test]
    fn absent_attributes_make_comparisons_false_and_their_negation_true() {
        let tag = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>] StringEquals 'Cascade'";
        assert!(!holds(tag, "x.y/z"));
        assert!(holds(&format!("NOT ({tag})"), "x.y/z"));
        assert!(holds("NotExists @Request[a:b]", "x.y/z"));
        assert!(!holds("Exists @Request[a:b]", "x.y/z"));
        assert!(holds(
            "!(ActionMatches{'Microsoft.Storage/*/blobs/read'} AND NOT SubOperationMatches{'Blob.List'}) OR @Request[k] StringLike 'v*'",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
        ));
        assert!(holds(
            "@Request[x] ForAllOfAnyValues:StringEquals {'a', 'b'} || ActionMatches{'*'}",
            "anything"
        ));
    }

    #[test]
    fn unreadable_or_oversized_conditions_fail() {
        for text in [
            "",
            "(",
            "ActionMatches{'a'}) junk",
            "ActionMatches{a}",
            "@Nowhere[x] StringEquals 'y' OR ActionMatches{'*'}",
            "@Request[x] Frobnicates 'y' OR ActionMatches{'*'}",
            "ActionMatches{'*'} OR",
        ] {
            assert!(!holds(text, "a.b/c"), "{text:?}");
        }
        assert!(!holds(&"(".repeat(100_000), "a"));
        let deep = format!("{}ActionMatches{{'*'}}{}", "(".repeat(40), ")".repeat(40));
        assert!(!holds(&deep, "a"));
        let shallow = format!("{}ActionMatches{{'*'}}{}", "(".repeat(10), ")".repeat(10));
        assert!(holds(&shallow, "a"));
    }

    #[test]
    fn wildcards_span_slashes_and_ignore_case() {
        assert!(wildcard(
            "Microsoft.CognitiveServices/*/read",
            "microsoft.cognitiveservices/accounts/OpenAI/models/READ"
        ));
        assert!(!wildcard(
            "Microsoft.CognitiveServices/*/read",
            "Microsoft.CognitiveServices/accounts/x/action"
        ));
        assert!(wildcard("*", ""));
        assert!(!wildcard("a", ""));
    }
}
