//! Emulated Azure Resource Graph: `POST https://management.azure.com/providers/Microsoft.ResourceGraph/resources`.
//!
//! Resource Graph answers a Kusto (KQL) query over the resources the caller may read, in pages
//! of at most 1,000 rows with a `$skipToken`, and reports the caller's quota in
//! `x-ms-user-quota-remaining` / `x-ms-user-quota-resets-after` (15 queries per 5-second window
//! per user, as Microsoft documents for throttling). The emulator understands the part of KQL
//! that inventory queries use, which is what entraprobe and simple scripts send:
//!
//! ```text
//! resources
//! | where type in~ ('microsoft.cognitiveservices/accounts', …)     (in, in~, ==, =~, !=, !~)
//! | where resourceGroup =~ 'rg' and tags['env'] =~ 'prod'          (and-ed conditions)
//! | project id, name, type, kind, location, subscriptionId, resourceGroup, tags, properties
//! | order by id asc
//! | limit 100                                                       (or take)
//! ```
//!
//! Anything else is answered with Resource Graph's `BadRequest`/`InvalidQuery` error. Row shapes
//! follow the REST examples of api-version 2024-04-01 (`totalRecords`, `count`, `data`,
//! `facets`, `resultTruncated` as a string, `$skipToken`); `type` and `resourceGroup` come in
//! lower case as Resource Graph normalises them. The exact wording of the error messages is
//! inferred [I].

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

use super::authz::Caller;
use super::{EmuRequest, EmuResponse, World, arm};

const API_VERSIONS: &[&str] = &[
    "2019-04-01",
    "2020-04-01-preview",
    "2021-03-01",
    "2022-10-01",
    "2024-04-01",
];
/// Resource Graph's page-size ceiling, and its default when `$top` is not given.
pub const MAX_PAGE: usize = 1000;
pub const QUOTA_PER_WINDOW: u32 = 15;
pub const QUOTA_WINDOW: Duration = Duration::from_secs(5);

/// One caller's quota window.
#[derive(Debug)]
pub struct QuotaWindow {
    started: Instant,
    used: u32,
}

pub fn handle(world: &World, req: &EmuRequest, caller: &Caller) -> EmuResponse {
    if !req.method.eq_ignore_ascii_case("POST") {
        return arm::arm_error(
            405,
            "MethodNotAllowed",
            "The requested resource does not support http method 'GET'.",
        );
    }
    match req.query_param("api-version") {
        Some(v) if API_VERSIONS.contains(&v) => {}
        Some(v) => {
            return arm::arm_error(
                400,
                "InvalidApiVersionParameter",
                &format!(
                    "The api-version '{v}' is invalid. The supported versions are '{}'.",
                    API_VERSIONS.join(",")
                ),
            );
        }
        None => {
            return arm::arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            );
        }
    }
    let (remaining, resets_after) = match take_quota(world, &caller.oid) {
        Ok(quota) => quota,
        Err(wait) => return throttled(wait),
    };
    let response = match answer(world, req, caller) {
        Ok(body) => EmuResponse::json(200, &body),
        Err(problem) => invalid_query(&problem),
    };
    response
        .with_header("x-ms-user-quota-remaining", remaining.to_string())
        .with_header("x-ms-user-quota-resets-after", hms(resets_after))
}

fn answer(world: &World, req: &EmuRequest, caller: &Caller) -> Result<Value, String> {
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| format!("the request body is not JSON: {e}"))?;
    let text = body["query"]
        .as_str()
        .ok_or("the request body has no `query`")?;
    let query = parse(text)?;
    let subscriptions: Option<Vec<String>> = body["subscriptions"].as_array().map(|list| {
        list.iter()
            .filter_map(Value::as_str)
            .map(str::to_ascii_lowercase)
            .collect()
    });
    let options = &body["options"];
    let top = options["$top"]
        .as_u64()
        .map_or(MAX_PAGE, |t| (t as usize).clamp(1, MAX_PAGE));
    let offset = match options["$skipToken"].as_str() {
        Some(token) => decode_skip_token(token)?,
        None => options["$skip"].as_u64().unwrap_or(0) as usize,
    };

    let mut rows: Vec<Value> = readable_rows(world, caller, subscriptions.as_deref())
        .into_iter()
        .filter(|row| query.filters.iter().all(|f| f.matches(row)))
        .collect();
    if let Some((column, descending)) = &query.order {
        rows.sort_by(|a, b| {
            let (x, y) = (sort_key(&a[column]), sort_key(&b[column]));
            if *descending { y.cmp(&x) } else { x.cmp(&y) }
        });
    }
    if let Some(limit) = query.limit {
        rows.truncate(limit);
    }
    let total = rows.len();
    let page: Vec<Value> = rows
        .into_iter()
        .skip(offset)
        .take(top)
        .map(|row| query.project(row))
        .collect();
    let mut out = json!({
        "totalRecords": total,
        "count": page.len(),
        "resultTruncated": "false",
        "facets": [],
        "data": page,
    });
    if offset + top < total {
        out["$skipToken"] = json!(STANDARD.encode(json!({"offset": offset + top}).to_string()));
    }
    Ok(out)
}

fn sort_key(v: &Value) -> String {
    v.as_str()
        .map_or_else(|| v.to_string(), str::to_ascii_lowercase)
}

fn decode_skip_token(token: &str) -> Result<usize, String> {
    let bytes = STANDARD
        .decode(token.trim())
        .map_err(|_| "the $skipToken is not one this service issued".to_string())?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|_| "the $skipToken is not one this service issued".to_string())?;
    value["offset"]
        .as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| "the $skipToken is not one this service issued".to_string())
}

/// Every account and Search service in the asked subscriptions that the caller may read, as a
/// Resource Graph row (the ARM resource, with `subscriptionId` and `resourceGroup` added).
fn readable_rows(world: &World, caller: &Caller, subscriptions: Option<&[String]>) -> Vec<Value> {
    // Without a list, every subscription the caller can see; a readable resource is in one.
    let asked = |sub: &str| {
        subscriptions.is_none_or(|list| list.iter().any(|s| s.eq_ignore_ascii_case(sub)))
    };
    let scenario = &world.scenario;
    let accounts = scenario
        .accounts
        .iter()
        .filter(|a| asked(&a.subscription_id))
        .map(|a| {
            let id = a.id();
            let row = arm::resources::account_json(world, a);
            (id, "Microsoft.CognitiveServices/accounts/read", row)
        });
    let search = scenario
        .search_services
        .iter()
        .filter(|s| asked(&s.subscription_id))
        .map(|s| {
            let id = s.id();
            let row = arm::resources::search_json(world, s);
            (id, "Microsoft.Search/searchServices/read", row)
        });
    let projects = scenario.projects.iter().filter_map(|p| {
        let account = scenario
            .account(p.account())
            .filter(|a| asked(&a.subscription_id))?;
        let id = p.id(account);
        let row = arm::resources::project_json(world, account, p);
        Some((
            id,
            "Microsoft.CognitiveServices/accounts/projects/read",
            row,
        ))
    });
    accounts
        .chain(projects)
        .chain(search)
        .filter(|(id, action, _)| arm::may(world, caller, action, id))
        .map(|(_, _, row)| as_row(world, row))
        .collect()
}

fn as_row(world: &World, mut row: Value) -> Value {
    let id = row["id"].as_str().unwrap_or_default().to_string();
    let resource_group = id
        .split('/')
        .skip_while(|s| !s.eq_ignore_ascii_case("resourceGroups"))
        .nth(1)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let Some(map) = row.as_object_mut() {
        let kind = map.get("type").and_then(Value::as_str).unwrap_or_default();
        map.insert("type".into(), json!(kind.to_ascii_lowercase()));
        let subscription = crate::emulator::scenario::subscription_in(&id).unwrap_or_default();
        map.insert("subscriptionId".into(), json!(subscription));
        map.insert("resourceGroup".into(), json!(resource_group));
        map.insert("tenantId".into(), json!(world.tenant_id()));
        map.entry("kind").or_insert(json!(""));
    }
    row
}

// ------------------------------------------------------------------------------ the query

#[derive(Debug)]
struct Query {
    filters: Vec<Filter>,
    columns: Option<Vec<String>>,
    order: Option<(String, bool)>,
    limit: Option<usize>,
}

impl Query {
    fn project(&self, row: Value) -> Value {
        let Some(columns) = &self.columns else {
            return row;
        };
        let mut out = Map::new();
        for c in columns {
            out.insert(c.clone(), row.get(c).cloned().unwrap_or(Value::Null));
        }
        Value::Object(out)
    }
}

/// A column a filter reads: a top-level field, or one tag.
#[derive(Debug)]
enum Column {
    Field(String),
    Tag(String),
}

#[derive(Debug)]
struct Filter {
    column: Column,
    /// `in`/`==`/`!=` compare exactly; `in~`/`=~`/`!~` ignore case.
    case_insensitive: bool,
    negated: bool,
    values: Vec<String>,
}

impl Filter {
    fn matches(&self, row: &Value) -> bool {
        let actual = match &self.column {
            Column::Field(name) => row.get(name),
            Column::Tag(key) => row["tags"].as_object().and_then(|tags| {
                tags.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            }),
        };
        let actual = actual.and_then(Value::as_str).unwrap_or_default();
        let hit = self.values.iter().any(|v| {
            if self.case_insensitive {
                v.eq_ignore_ascii_case(actual)
            } else {
                v == actual
            }
        });
        hit != self.negated
    }
}

const COLUMNS: &[&str] = &[
    "id",
    "name",
    "type",
    "kind",
    "location",
    "subscriptionId",
    "resourceGroup",
    "tenantId",
    "tags",
    "properties",
    "sku",
    "identity",
];

fn parse(text: &str) -> Result<Query, String> {
    if text.len() > 64 * 1024 {
        return Err("the query is longer than the emulator reads".into());
    }
    let tokens = tokenize(text)?;
    let mut clauses = tokens.split(|t| *t == Token::Pipe);
    match clauses.next() {
        Some([Token::Word(table)]) if table.eq_ignore_ascii_case("resources") => {}
        _ => return Err("the query must start with the `resources` table".into()),
    }
    let mut query = Query {
        filters: Vec::new(),
        columns: None,
        order: None,
        limit: None,
    };
    for clause in clauses {
        match clause {
            [Token::Word(w), rest @ ..] if w == "where" => {
                for condition in rest.split(|t| matches!(t, Token::Word(w) if w == "and")) {
                    query.filters.push(parse_condition(condition)?);
                }
            }
            [Token::Word(w), rest @ ..] if w == "project" => {
                let mut columns = Vec::new();
                for item in rest.split(|t| *t == Token::Comma) {
                    match item {
                        [Token::Word(c)] if COLUMNS.iter().any(|k| k == c) => {
                            columns.push(c.clone())
                        }
                        _ => return Err(format!("unsupported projection {item:?}")),
                    }
                }
                query.columns = Some(columns);
            }
            [Token::Word(o), Token::Word(b), Token::Word(c), rest @ ..]
                if (o == "order" || o == "sort") && b == "by" =>
            {
                let descending = match rest {
                    [] => false,
                    [Token::Word(d)] if d == "asc" => false,
                    [Token::Word(d)] if d == "desc" => true,
                    _ => return Err("unsupported order by".into()),
                };
                query.order = Some((c.clone(), descending));
            }
            [Token::Word(w), Token::Word(n)] if w == "limit" || w == "take" => {
                query.limit = Some(n.parse().map_err(|_| format!("`{w}` needs a number"))?);
            }
            other => return Err(format!("unsupported clause {other:?}")),
        }
    }
    Ok(query)
}

fn parse_condition(tokens: &[Token]) -> Result<Filter, String> {
    let (column, rest) = match tokens {
        [
            Token::Word(t),
            Token::Open('['),
            Token::Str(key),
            Token::Close(']'),
            rest @ ..,
        ] if t == "tags" => (Column::Tag(key.clone()), rest),
        [Token::Word(c), rest @ ..] if COLUMNS.contains(&c.as_str()) => {
            (Column::Field(c.clone()), rest)
        }
        _ => return Err(format!("unsupported condition {tokens:?}")),
    };
    let (operator, values) = match rest {
        [Token::Op(op), Token::Str(v)] => (op.as_str(), vec![v.clone()]),
        [
            Token::Op(op),
            Token::Open('('),
            list @ ..,
            Token::Close(')'),
        ] => {
            let mut values = Vec::new();
            for item in list.split(|t| *t == Token::Comma) {
                match item {
                    [Token::Str(v)] => values.push(v.clone()),
                    _ => return Err(format!("unsupported list item {item:?}")),
                }
            }
            (op.as_str(), values)
        }
        _ => return Err(format!("unsupported condition {tokens:?}")),
    };
    let (case_insensitive, negated) = match operator {
        "==" | "in" => (false, false),
        "=~" | "in~" => (true, false),
        "!=" | "!in" => (false, true),
        "!~" | "!in~" => (true, true),
        other => return Err(format!("unsupported operator `{other}`")),
    };
    Ok(Filter {
        column,
        case_insensitive,
        negated,
        values,
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Pipe,
    Comma,
    Open(char),
    Close(char),
    Op(String),
    Word(String),
    Str(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '|' => {
                chars.next();
                tokens.push(Token::Pipe);
            }
            ',' => {
                chars.next();
                tokens.push(Token::Comma);
            }
            '(' | '[' => {
                chars.next();
                tokens.push(Token::Open(c));
            }
            ')' | ']' => {
                chars.next();
                tokens.push(Token::Close(c));
            }
            '\'' | '"' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        None => return Err("a string literal is not closed".into()),
                        Some('\\') => value.extend(chars.next()),
                        Some(q) if q == c => break,
                        Some(other) => value.push(other),
                    }
                }
                tokens.push(Token::Str(value));
            }
            '=' | '!' | '~' => {
                let mut op = String::new();
                while let Some(&o) = chars.peek() {
                    if !matches!(o, '=' | '!' | '~') {
                        break;
                    }
                    op.push(o);
                    chars.next();
                }
                tokens.push(Token::Op(op));
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let mut word = String::new();
                while let Some(&w) = chars.peek() {
                    if !(w.is_ascii_alphanumeric() || w == '_' || w == '~' || w == '-') {
                        break;
                    }
                    word.push(w);
                    chars.next();
                }
                // `in~` and `!in` arrive as words or operators; both mean the operator.
                match word.as_str() {
                    "in" | "in~" => tokens.push(Token::Op(word)),
                    _ => tokens.push(Token::Word(word)),
                }
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    // `!` followed by `in`/`in~` is one operator.
    let mut merged: Vec<Token> = Vec::with_capacity(tokens.len());
    for token in tokens {
        match (merged.last_mut(), &token) {
            (Some(Token::Op(bang)), Token::Op(word)) if bang == "!" && word.starts_with("in") => {
                *bang = format!("!{word}");
            }
            _ => merged.push(token),
        }
    }
    Ok(merged)
}

// ------------------------------------------------------------------------------ quota

fn take_quota(world: &World, oid: &str) -> Result<(u32, Duration), Duration> {
    let mut windows = world
        .resource_graph_quota
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    let window = windows.entry(oid.to_string()).or_insert(QuotaWindow {
        started: now,
        used: 0,
    });
    if now.duration_since(window.started) >= QUOTA_WINDOW {
        *window = QuotaWindow {
            started: now,
            used: 0,
        };
    }
    let resets_after = QUOTA_WINDOW.saturating_sub(now.duration_since(window.started));
    if window.used >= QUOTA_PER_WINDOW {
        return Err(resets_after);
    }
    window.used += 1;
    Ok((QUOTA_PER_WINDOW - window.used, resets_after))
}

/// `hh:mm:ss`, as Resource Graph writes `x-ms-user-quota-resets-after`.
fn hms(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn throttled(wait: Duration) -> EmuResponse {
    arm::arm_error(
        429,
        "RateLimiting",
        "Please provide below info when asking for support: the user quota of Resource Graph queries is exhausted; retry after the time in x-ms-user-quota-resets-after.",
    )
    .with_header("retry-after", (wait.as_secs() + 1).to_string())
    .with_header("x-ms-user-quota-remaining", "0")
    .with_header("x-ms-user-quota-resets-after", hms(wait))
}

fn invalid_query(problem: &str) -> EmuResponse {
    EmuResponse::json(
        400,
        &json!({"error": {
            "code": "BadRequest",
            "message": "Please provide below info when asking for support: timestamp = 2026-01-01T00:00:00.0000000Z, correlationId = 00000000-0000-0000-0000-000000000000.",
            "details": [
                {"code": "InvalidQuery", "message": "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying."},
                {"code": "ParserFailure", "message": format!("entraprobe emulator: {problem}")},
            ],
        }}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inventory_query_parses() {
        let q = parse(
            "resources | where type in~ ('Microsoft.CognitiveServices/accounts', 'microsoft.search/searchservices') \
             | where resourceGroup =~ 'rg-ai' and tags['env'] =~ \"prod\" \
             | project id, name, type, kind, properties | order by id asc",
        )
        .unwrap();
        assert_eq!(q.filters.len(), 3);
        assert_eq!(q.columns.as_ref().unwrap().len(), 5);
        assert_eq!(q.order, Some(("id".into(), false)));
        let row = json!({"type": "microsoft.search/searchservices", "resourceGroup": "rg-ai", "tags": {"Env": "Prod"}});
        assert!(q.filters.iter().all(|f| f.matches(&row)));
        let other = json!({"type": "microsoft.search/searchservices", "resourceGroup": "rg-ai", "tags": {}});
        assert!(!q.filters.iter().all(|f| f.matches(&other)));
    }

    #[test]
    fn what_it_cannot_read_is_an_invalid_query() {
        for bad in [
            "",
            "securityresources",
            "resources | extend x = 1",
            "resources | where type contains 'x'",
            "resources | where type in~ ('a'",
            "resources | project properties.endpoint",
            "resources | where name == 'unterminated",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("resources | where type !in~ ('a') | limit 5").is_ok());
    }

    #[test]
    fn skip_tokens_round_trip_and_foreign_ones_are_refused() {
        let token = STANDARD.encode(json!({"offset": 1000}).to_string());
        assert_eq!(decode_skip_token(&token).unwrap(), 1000);
        assert!(decode_skip_token("not-base64!").is_err());
        assert_eq!(hms(Duration::from_millis(4200)), "00:00:05");
    }
}
