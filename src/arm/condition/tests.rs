use super::*;

const DELEGATION: &str = "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{53ca6127-db72-4b80-b1b0-d745d6d5456d})) AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{53ca6127-db72-4b80-b1b0-d745d6d5456d}))";

const BLOB_READ: &str = "(\n (\n  !(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} AND NOT SubOperationMatches{'Blob.List'})\n )\n OR\n (\n  @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>] StringEquals 'Cascade'\n )\n)";

fn verdict(condition: &str, action: &str) -> Verdict {
    evaluate(condition, action).unwrap_or_else(|e| panic!("{condition}: {e}"))
}

#[test]
fn parses_the_foundry_delegation_condition_into_its_structure() {
    let expr = parse(DELEGATION).unwrap();
    let Expr::And(halves) = &expr else {
        panic!("{expr:?}")
    };
    assert_eq!(halves.len(), 2);
    let Expr::Or(first) = &halves[0] else {
        panic!("{:?}", halves[0])
    };
    assert_eq!(
        first[0],
        Expr::Not(Box::new(Expr::ActionMatches(
            "Microsoft.Authorization/roleAssignments/write".into()
        )))
    );
    assert_eq!(
        first[1],
        Expr::Compare {
            attribute: Attribute {
                source: Source::Request,
                name: "Microsoft.Authorization/roleAssignments:RoleDefinitionId".into()
            },
            quantifier: Some("ForAnyOfAnyValues".into()),
            operator: "GuidEquals".into(),
            operand: Operand::Set(vec![Literal::Word(
                "53ca6127-db72-4b80-b1b0-d745d6d5456d".into()
            )]),
        }
    );
}

#[test]
fn a_condition_on_other_actions_leaves_the_grant_in_force() {
    for action in [
        "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
        "Microsoft.CognitiveServices/accounts/projects/write",
        "Microsoft.Authorization/roleAssignments/read",
    ] {
        assert_eq!(verdict(DELEGATION, action), Verdict::Holds, "{action}");
    }
    assert_eq!(
        verdict(
            BLOB_READ,
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
        ),
        Verdict::Holds
    );
}

#[test]
fn a_condition_on_request_attributes_is_unknown_for_its_action() {
    for action in [
        "Microsoft.Authorization/roleAssignments/write",
        "microsoft.authorization/ROLEASSIGNMENTS/delete",
    ] {
        assert_eq!(verdict(DELEGATION, action), Verdict::Unknown, "{action}");
    }
    assert_eq!(
        verdict(
            BLOB_READ,
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
        ),
        Verdict::Unknown
    );
    assert_eq!(
        verdict(
            "@Request[Microsoft.CognitiveServices/accounts/OpenAI/deployments:name] StringEquals 'gpt-4o'",
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"
        ),
        Verdict::Unknown
    );
}

#[test]
fn a_condition_can_fail_for_an_action_outright() {
    // Only ever true for another action: for this one it cannot hold, whatever the request.
    assert_eq!(
        verdict(
            "ActionMatches{'Microsoft.Storage/*'}",
            "Microsoft.CognitiveServices/accounts/OpenAI/models/read"
        ),
        Verdict::DoesNotHold
    );
    assert_eq!(
        verdict(
            "ActionMatches{'Microsoft.Storage/*'} AND @Request[x:y] StringEquals 'z'",
            "Microsoft.CognitiveServices/accounts/OpenAI/models/read"
        ),
        Verdict::DoesNotHold
    );
}

#[test]
fn three_valued_logic_follows_kleene() {
    let a = "ActionMatches{'a.b/c'}"; // holds for a.b/c
    let n = "ActionMatches{'x.y/z'}"; // does not
    let u = "@Request[k] StringEquals 'v'"; // unknown
    let act = "a.b/c";
    assert_eq!(verdict(&format!("{a} AND {u}"), act), Verdict::Unknown);
    assert_eq!(verdict(&format!("{n} AND {u}"), act), Verdict::DoesNotHold);
    assert_eq!(verdict(&format!("{a} OR {u}"), act), Verdict::Holds);
    assert_eq!(verdict(&format!("{n} OR {u}"), act), Verdict::Unknown);
    assert_eq!(verdict(&format!("{n} || {n}"), act), Verdict::DoesNotHold);
    assert_eq!(verdict(&format!("!({u})"), act), Verdict::Unknown);
    assert_eq!(verdict(&format!("not not {a}"), act), Verdict::Holds);
    assert_eq!(verdict(&format!("{a} && !{n}"), act), Verdict::Holds);
    // AND binds tighter than OR.
    assert_eq!(verdict(&format!("{a} OR {n} AND {n}"), act), Verdict::Holds);
    assert_eq!(
        verdict(&format!("({a} OR {n}) AND {n}"), act),
        Verdict::DoesNotHold
    );
}

#[test]
fn parses_every_documented_form() {
    for text in [
        "@Principal[Microsoft.Directory/CustomSecurityAttributes/Id:Engineering_Project] StringEquals @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>]",
        "Exists @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>]",
        "NotExists @Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>]",
        "@Environment[isPrivateLink] BoolEquals true",
        "@Environment[UtcNow] DateTimeGreaterThan '2023-05-01T13:00:00.0Z'",
        "@Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>] ForAllOfAnyValues:StringEquals {'Cascade', 'Baker', 'Skagit'}",
        "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] stringequals 'logs'",
        "@Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAllValues:StringNotEquals {'User'}",
        "@Request[x] NumericLessThan 5",
        "@Environment[Microsoft.Network/virtualNetworks/subnets] ForAnyOfAnyValues:StringEqualsIgnoreCase {'/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/default'}",
        BLOB_READ,
        DELEGATION,
    ] {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
}

#[test]
fn parse_errors_name_what_is_wrong_and_where() {
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("   ", "empty"),
        ("(ActionMatches{'a/b'}", "`)`"),
        ("ActionMatches{'a/b'})", "unexpected `)`"),
        ("ActionMatches{abc}", "quoted string"),
        ("ActionMatches{'a/b'", "`}`"),
        ("ActionMatches{'a/b'} AND", "ends where"),
        ("@Request[x] Frobnicates 'y'", "unknown operator"),
        (
            "@Request[x] ForSomeValues:StringEquals 'y'",
            "unknown quantifier",
        ),
        ("@Somewhere[x] StringEquals 'y'", "unknown attribute source"),
        ("@Request[x StringEquals 'y'", "not closed"),
        ("@Request[] StringEquals 'y'", "needs a name"),
        ("@Request[x] StringEquals 'y", "not closed"),
        ("@Request[x] StringEquals {'a' 'b'}", "`,` or `}`"),
        ("a & b", "doubled"),
        ("ActionMatches{'a'} ; drop", "unexpected character"),
        ("Exists 'x'", "needs an attribute"),
        ("Bogus", "expected an expression"),
    ];
    for (text, wanted) in cases {
        let error = parse(text).expect_err(text);
        let shown = error.to_string();
        assert!(shown.contains(wanted), "{text:?}: {shown}");
        assert!(error.position <= text.len(), "{text:?}: {error:?}");
    }
}

#[test]
fn input_is_bounded_in_length_and_depth() {
    let long = format!("ActionMatches{{'{}'}}", "a".repeat(MAX_LEN));
    assert!(
        parse(&long)
            .unwrap_err()
            .to_string()
            .contains("longer than")
    );

    let nested = format!(
        "{}ActionMatches{{'a/b'}}{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(parse(&nested).unwrap_err().to_string().contains("nested"));
    let nots = format!("{}ActionMatches{{'a/b'}}", "!".repeat(MAX_DEPTH + 1));
    assert!(parse(&nots).unwrap_err().to_string().contains("nested"));

    let fine = format!(
        "{}ActionMatches{{'a/b'}}{}",
        "(".repeat(MAX_DEPTH - 2),
        ")".repeat(MAX_DEPTH - 2)
    );
    assert_eq!(verdict(&fine, "a/b"), Verdict::Holds);
    // Deep input at the size limit is refused, never a stack overflow.
    let deep = "(".repeat(MAX_LEN);
    assert!(parse(&deep).is_err());
}

/// A small deterministic generator (xorshift), so the fuzz runs need no extra crate and every
/// failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let alphabet: Vec<char> =
        "()!{}[],'@&| \n\tANDORNOTActionMatchesRequest:é\u{0}\u{1b}xyz0123-_.*/"
            .chars()
            .collect();
    for _ in 0..3000 {
        let len = rng.below(120);
        let text: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        if let Ok(expr) = parse(&text) {
            let _ = expr.evaluate("Microsoft.X/y/read");
        } else if let Err(error) = parse(&text) {
            assert!(error.position <= text.len());
            assert!(
                !error.message.chars().any(|c| c.is_control() && c != '\n'),
                "{error:?}"
            );
        }
    }
}

#[test]
fn mutated_real_conditions_never_panic() {
    let mut rng = Rng(42);
    let seeds = [DELEGATION, BLOB_READ];
    let pieces = [
        "(",
        ")",
        "!",
        " AND ",
        " OR ",
        "{",
        "}",
        "'",
        "@Request[",
        "]",
        ",",
        "é",
        "\u{7f}",
    ];
    for round in 0..3000 {
        let mut text: String = seeds[round % seeds.len()].to_string();
        for _ in 0..=rng.below(4) {
            let mut at = rng.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match rng.below(3) {
                0 => text.insert_str(at, pieces[rng.below(pieces.len())]),
                1 => {
                    let mut end = (at + rng.below(8)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, "");
                }
                _ => text.truncate(at),
            }
        }
        match parse(&text) {
            Ok(expr) => {
                let _ = expr.evaluate("Microsoft.Authorization/roleAssignments/write");
            }
            Err(error) => assert!(error.position <= text.len(), "{text:?} {error:?}"),
        }
    }
}

/// Generated well-formed conditions: the evaluator agrees with a direct truth-table of the
/// same tree (NOT/AND/OR over decided and unknown leaves).
#[test]
fn generated_conditions_evaluate_like_their_truth_table() {
    fn build(rng: &mut Rng, depth: usize) -> (String, Verdict) {
        if depth == 0 || rng.below(3) == 0 {
            return match rng.below(3) {
                0 => ("ActionMatches{'a.b/*'}".into(), Verdict::Holds),
                1 => ("ActionMatches{'c.d/*'}".into(), Verdict::DoesNotHold),
                _ => ("@Request[k:v] StringEquals 'w'".into(), Verdict::Unknown),
            };
        }
        let (l, lv) = build(rng, depth - 1);
        match rng.below(3) {
            0 => (format!("NOT ({l})"), lv.not()),
            op => {
                let (r, rv) = build(rng, depth - 1);
                let v = if op == 1 {
                    match (lv, rv) {
                        (Verdict::DoesNotHold, _) | (_, Verdict::DoesNotHold) => {
                            Verdict::DoesNotHold
                        }
                        (Verdict::Holds, Verdict::Holds) => Verdict::Holds,
                        _ => Verdict::Unknown,
                    }
                } else {
                    match (lv, rv) {
                        (Verdict::Holds, _) | (_, Verdict::Holds) => Verdict::Holds,
                        (Verdict::DoesNotHold, Verdict::DoesNotHold) => Verdict::DoesNotHold,
                        _ => Verdict::Unknown,
                    }
                };
                let word = if op == 1 { "AND" } else { "OR" };
                (format!("({l}) {word} ({r})"), v)
            }
        }
    }
    let mut rng = Rng(7);
    for _ in 0..500 {
        let (text, expected) = build(&mut rng, 5);
        assert_eq!(verdict(&text, "a.b/c"), expected, "{text}");
    }
}
