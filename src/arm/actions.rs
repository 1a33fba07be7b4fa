//! Azure RBAC action matching: the one place that decides whether a permission pattern
//! (`Microsoft.CognitiveServices/*/read`) covers an operation.
//!
//! Rules (reference/data-actions.md §1): case-insensitive; `*` matches any run of characters,
//! `/` included; `actions` and `dataActions` are separate lists and never cover each other;
//! `notDataActions` subtracts only within the permission block it sits in.

/// Does `pattern` cover `action`?
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let a: Vec<char> = action.to_ascii_lowercase().chars().collect();
    // Iterative wildcard match with single-star backtracking: linear in practice, no recursion.
    let (mut pi, mut ai) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ai < a.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == a[ai] {
            pi += 1;
            ai += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ai;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ai = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// One permission block of a role definition (or deny assignment).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(default, deserialize_with = "crate::arm::model::null_default")]
    pub actions: Vec<String>,
    #[serde(default, deserialize_with = "crate::arm::model::null_default")]
    pub not_actions: Vec<String>,
    #[serde(default, deserialize_with = "crate::arm::model::null_default")]
    pub data_actions: Vec<String>,
    #[serde(default, deserialize_with = "crate::arm::model::null_default")]
    pub not_data_actions: Vec<String>,
    /// An ABAC condition on this block (built-in roles such as Foundry Project Manager carry a
    /// delegation condition here); `None` when ARM sends `null` or omits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_version: Option<String>,
}

/// Whether an operation is an ARM action or a data action (they are matched against
/// different lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Action,
    DataAction,
}

impl Permission {
    /// The pattern in this block that grants `action`, if any survives the block's `not*` list.
    pub fn grants(&self, kind: ActionKind, action: &str) -> Option<&str> {
        let (allow, deny) = match kind {
            ActionKind::Action => (&self.actions, &self.not_actions),
            ActionKind::DataAction => (&self.data_actions, &self.not_data_actions),
        };
        if deny.iter().any(|p| action_matches(p, action)) {
            return None;
        }
        allow
            .iter()
            .find(|p| action_matches(p, action))
            .map(String::as_str)
    }

    /// The pattern that this block's `not*` list removes `action` with, if any.
    pub fn excludes(&self, kind: ActionKind, action: &str) -> Option<&str> {
        let deny = match kind {
            ActionKind::Action => &self.not_actions,
            ActionKind::DataAction => &self.not_data_actions,
        };
        deny.iter()
            .find(|p| action_matches(p, action))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_spans_slashes_and_case_is_ignored() {
        assert!(action_matches(
            "Microsoft.CognitiveServices/*",
            "microsoft.cognitiveservices/accounts/OpenAI/models/read"
        ));
        assert!(action_matches(
            "Microsoft.CognitiveServices/*/read",
            "Microsoft.CognitiveServices/accounts/OpenAI/models/read"
        ));
        assert!(action_matches(
            "Microsoft.CognitiveServices/accounts/SpeechServices/*/frontend/action",
            "Microsoft.CognitiveServices/accounts/SpeechServices/unified-speech/frontend/action"
        ));
        assert!(!action_matches(
            "Microsoft.CognitiveServices/*/read",
            "Microsoft.CognitiveServices/accounts/Language/analyze-text/action"
        ));
        assert!(action_matches("*", "anything/at/all"));
        assert!(!action_matches(
            "Microsoft.Search/*",
            "Microsoft.CognitiveServices/accounts/x"
        ));
        assert!(action_matches("a*b*c", "axxbyyc"));
        assert!(!action_matches("a*b*c", "axxbyy"));
    }

    #[test]
    fn actions_never_grant_data_actions_and_not_data_actions_subtract() {
        let owner = Permission {
            actions: vec!["*".into()],
            ..Default::default()
        };
        assert_eq!(
            owner.grants(
                ActionKind::DataAction,
                "Microsoft.CognitiveServices/accounts/OpenAI/models/read"
            ),
            None
        );
        let oai_user = Permission {
            data_actions: vec!["Microsoft.CognitiveServices/accounts/OpenAI/*/read".into()],
            not_data_actions: vec![
                "Microsoft.CognitiveServices/accounts/OpenAI/stored-completions/read".into(),
            ],
            ..Default::default()
        };
        assert!(
            oai_user
                .grants(
                    ActionKind::DataAction,
                    "Microsoft.CognitiveServices/accounts/OpenAI/models/read"
                )
                .is_some()
        );
        assert!(
            oai_user
                .grants(
                    ActionKind::DataAction,
                    "Microsoft.CognitiveServices/accounts/OpenAI/stored-completions/read"
                )
                .is_none()
        );
    }
}
