//! ARM scopes: does an assignment at one scope reach a resource, and how to name a scope so a
//! human recognises it (`account oai-prod`, `resource group rg-ai`, `subscription 5e2a3c1d…`).

/// Where an assignment's scope sits relative to the resource asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The scope is the resource or one of its ancestors: the assignment is inherited.
    Applies,
    /// The scope is below the resource (an index of a search service, say): it does not reach up.
    Below,
    /// The scope is on another branch (a sibling account, another resource group).
    Elsewhere,
}

/// Lower-cased, non-empty path segments; ARM ids are case-insensitive and tolerate a trailing
/// slash (the Translator docs even show one on `Ocp-Apim-ResourceId`).
pub fn segments(scope: &str) -> Vec<String> {
    scope
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Management-group scopes (and the root `/`) sit above every subscription. ARM returns such
/// assignments in a subscription's listing only when the subscription is under that group, so
/// when one appears in the listing it is an ancestor.
///
/// This is how the tool learns the hierarchy, at no extra cost: `GET /subscriptions/{id}` does
/// not carry the subscription's ancestry, and asking for it (`managementGroups/{mg}/descendants`
/// or `Microsoft.Management/getEntities`) needs rights on the groups that a subscription reader
/// usually lacks, and one more read per subscription. The `assignedTo()` listing the tool
/// already sends per (principal, subscription) returns the inherited assignments with their own
/// scope, so an assignment at a management group is judged as covering only the subscription
/// whose listing returned it: listings (and their caches) are kept per subscription, never
/// shared across subscriptions.
fn is_above_subscriptions(segs: &[String]) -> bool {
    segs.is_empty()
        || (segs.len() >= 2
            && segs[0] == "providers"
            && segs[1] == "microsoft.management"
            && !segs.iter().any(|s| s == "subscriptions"))
}

pub fn relation(scope: &str, resource_id: &str) -> Relation {
    let scope = segments(scope);
    let resource = segments(resource_id);
    if is_above_subscriptions(&scope) {
        return Relation::Applies;
    }
    if scope.len() <= resource.len() && resource[..scope.len()] == scope[..] {
        Relation::Applies
    } else if resource.len() < scope.len() && scope[..resource.len()] == resource[..] {
        Relation::Below
    } else {
        Relation::Elsewhere
    }
}

pub fn applies(scope: &str, resource_id: &str) -> bool {
    relation(scope, resource_id) == Relation::Applies
}

pub fn same(a: &str, b: &str) -> bool {
    // Compared segment by segment without allocating: an estate run asks this once per account
    // per cell (millions of times at thousands of accounts).
    let mut x = a.split('/').filter(|s| !s.is_empty());
    let mut y = b.split('/').filter(|s| !s.is_empty());
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if p.eq_ignore_ascii_case(q) => {}
            _ => return false,
        }
    }
}

/// The subscription GUID of an ARM id, as written.
pub fn subscription_of(resource_id: &str) -> Option<&str> {
    let mut parts = resource_id.split('/').filter(|s| !s.is_empty());
    while let Some(part) = parts.next() {
        if part.eq_ignore_ascii_case("subscriptions") {
            return parts.next();
        }
    }
    None
}

/// The resource group of an ARM id, as written.
pub fn resource_group_of(resource_id: &str) -> Option<&str> {
    let mut parts = resource_id.split('/').filter(|s| !s.is_empty());
    while let Some(part) = parts.next() {
        if part.eq_ignore_ascii_case("resourceGroups") {
            return parts.next();
        }
    }
    None
}

/// The last `type/name` pair of an ARM id (`("accounts", "oai-prod")`).
pub fn leaf(resource_id: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = resource_id.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() >= 2 {
        Some((parts[parts.len() - 2], parts[parts.len() - 1]))
    } else {
        None
    }
}

/// A GUID cut to its first block, enough to recognise it in a sentence.
pub fn short_id(id: &str) -> String {
    match id.char_indices().nth(8) {
        Some((cut, _)) => format!("{}…", &id[..cut]),
        None => id.to_string(),
    }
}

/// A scope as a person would name it.
pub fn describe(scope: &str) -> String {
    let parts: Vec<&str> = scope.split('/').filter(|s| !s.is_empty()).collect();
    let lower: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
    if parts.is_empty() {
        return "the root scope /".into();
    }
    if lower.len() >= 4 && lower[1] == "microsoft.management" && lower[2] == "managementgroups" {
        return format!("management group {}", parts[3]);
    }
    match lower.len() {
        2 if lower[0] == "subscriptions" => {
            return format!("subscription {}", short_id(parts[1]));
        }
        4 if lower[2] == "resourcegroups" => return format!("resource group {}", parts[3]),
        _ => {}
    }
    let Some((kind, name)) = leaf(scope) else {
        return scope.to_string();
    };
    let noun = match kind.to_ascii_lowercase().as_str() {
        "accounts" => "account".to_string(),
        "searchservices" => "search service".to_string(),
        "indexes" => {
            let service = lower
                .iter()
                .position(|s| s == "searchservices")
                .and_then(|i| parts.get(i + 1))
                .copied()
                .unwrap_or("?");
            return format!("index {name} of search service {service}");
        }
        other => other.trim_end_matches('s').to_string(),
    };
    format!("{noun} {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "/subscriptions/5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/oai-prod";

    #[test]
    fn ancestors_apply_case_insensitively_and_siblings_do_not() {
        assert!(applies(
            "/subscriptions/5E2A3C1D-7b4f-4c8e-9d10-2a3b4c5d6e7f",
            ACCOUNT
        ));
        assert!(applies(
            "/subscriptions/5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f/resourcegroups/RG-AI/",
            ACCOUNT
        ));
        assert!(applies(ACCOUNT, ACCOUNT));
        assert!(applies("/", ACCOUNT));
        assert!(applies(
            "/providers/Microsoft.Management/managementGroups/contoso",
            ACCOUNT
        ));
        assert_eq!(
            relation(&format!("{ACCOUNT}-2"), ACCOUNT),
            Relation::Elsewhere
        );
        // A prefix by characters is not a prefix by segments.
        assert_eq!(
            relation(
                "/subscriptions/5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f/resourceGroups/rg",
                ACCOUNT
            ),
            Relation::Elsewhere
        );
        assert_eq!(
            relation(&format!("{ACCOUNT}/deployments/x"), ACCOUNT),
            Relation::Below
        );
    }

    #[test]
    fn scopes_are_named_readably() {
        assert_eq!(describe(ACCOUNT), "account oai-prod");
        assert_eq!(
            describe("/subscriptions/5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f/resourceGroups/rg-ai"),
            "resource group rg-ai"
        );
        assert_eq!(
            describe("/subscriptions/5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"),
            "subscription 5e2a3c1d…"
        );
        assert_eq!(
            describe(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Search/searchServices/srch/indexes/products"
            ),
            "index products of search service srch"
        );
        assert_eq!(
            describe(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Search/searchServices/srch"
            ),
            "search service srch"
        );
        assert_eq!(
            describe("/providers/Microsoft.Management/managementGroups/contoso"),
            "management group contoso"
        );
        assert_eq!(
            subscription_of(ACCOUNT),
            Some("5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f")
        );
        assert_eq!(resource_group_of(ACCOUNT), Some("rg-ai"));
    }
}
