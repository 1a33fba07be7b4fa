//! The Azure ABAC condition language (role assignment conditions, and the delegation conditions
//! built-in roles such as Foundry Project Manager carry): parsed once, evaluated for one action.
//!
//! Grammar, as Microsoft documents it (role-based-access-control/conditions-format.md):
//!
//! ```text
//! expr      := or
//! or        := and (("OR" | "||") and)*
//! and       := unary (("AND" | "&&") unary)*
//! unary     := ("NOT" | "!") unary | "(" expr ")" | function | exists | comparison
//! function  := ("ActionMatches" | "SubOperationMatches") "{" 'string' "}"
//! exists    := ("Exists" | "NotExists") attribute
//! comparison:= attribute [quantifier ":"] operator operand
//! attribute := "@" ("Request" | "Resource" | "Principal" | "Environment") "[" name "]"
//! operand   := literal | "{" literal ("," literal)* "}" | attribute
//! literal   := 'string' | GUID | number | true | false
//! ```
//!
//! Keywords are case-insensitive. Input is bounded ([`MAX_LEN`] bytes, [`MAX_DEPTH`] levels of
//! nesting), so a hostile condition read from ARM cannot exhaust the stack or the clock.
//!
//! Evaluation is three-valued: the probe knows the action it asks about, never the request's or
//! resource's attributes (the role a delegation would assign, a blob's tags, the caller's
//! network). `ActionMatches` is decided; every attribute comparison is [`Verdict::Unknown`]; NOT,
//! AND and OR combine as Kleene logic, so a condition that constrains only other actions holds.

use crate::arm::actions::action_matches;
use std::fmt;

/// The longest condition accepted, in bytes. Azure's own conditions are a few hundred
/// characters; the bound is about hostile input, not about Azure's limit.
pub const MAX_LEN: usize = 8 * 1024;
/// The deepest nesting of parentheses and NOTs accepted.
pub const MAX_DEPTH: usize = 32;

/// What a condition says about one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    DoesNotHold,
    /// Depends on attributes of the request, resource, principal or environment.
    Unknown,
}

impl Verdict {
    fn not(self) -> Verdict {
        match self {
            Verdict::Holds => Verdict::DoesNotHold,
            Verdict::DoesNotHold => Verdict::Holds,
            Verdict::Unknown => Verdict::Unknown,
        }
    }
}

/// Where an attribute comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Request,
    Resource,
    Principal,
    Environment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub source: Source,
    /// `Microsoft.Authorization/roleAssignments:RoleDefinitionId`, as written.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    Text(String),
    /// A bare word: a GUID, a number, `true`/`false`.
    Word(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    One(Literal),
    Set(Vec<Literal>),
    Attribute(Attribute),
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    ActionMatches(String),
    SubOperationMatches(String),
    Exists {
        negated: bool,
        attribute: Attribute,
    },
    Compare {
        attribute: Attribute,
        /// `ForAnyOfAnyValues` and its siblings, when given.
        quantifier: Option<String>,
        operator: String,
        operand: Operand,
    },
}

/// Why a condition could not be parsed. `position` counts bytes from the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "condition is not valid at byte {}: {}",
            self.position, self.message
        )
    }
}

impl std::error::Error for ParseError {}

const QUANTIFIERS: &[&str] = &[
    "ForAnyOfAnyValues",
    "ForAllOfAnyValues",
    "ForAnyOfAllValues",
    "ForAllOfAllValues",
];

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "StringStartsWith",
    "StringNotStartsWith",
    "StringStartsWithIgnoreCase",
    "StringNotStartsWithIgnoreCase",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "BoolEquals",
    "BoolNotEquals",
    "GuidEquals",
    "GuidNotEquals",
    "DateTimeEquals",
    "DateTimeNotEquals",
    "DateTimeGreaterThan",
    "DateTimeGreaterThanEquals",
    "DateTimeLessThan",
    "DateTimeLessThanEquals",
    "TimeOfDayEquals",
    "TimeOfDayNotEquals",
    "TimeOfDayGreaterThan",
    "TimeOfDayGreaterThanEquals",
    "TimeOfDayLessThan",
    "TimeOfDayLessThanEquals",
    "TimeOfDayInRange",
    "IpMatch",
    "IpNotMatch",
    "IpInRange",
    "IpNotInRange",
    "ListContains",
    "ListNotContains",
];

impl Expr {
    /// What the condition says about `action` when every attribute is unknown.
    pub fn evaluate(&self, action: &str) -> Verdict {
        match self {
            Expr::ActionMatches(pattern) => {
                if action_matches(pattern, action) {
                    Verdict::Holds
                } else {
                    Verdict::DoesNotHold
                }
            }
            Expr::Not(inner) => inner.evaluate(action).not(),
            Expr::And(items) => {
                let mut result = Verdict::Holds;
                for item in items {
                    match item.evaluate(action) {
                        Verdict::DoesNotHold => return Verdict::DoesNotHold,
                        Verdict::Unknown => result = Verdict::Unknown,
                        Verdict::Holds => {}
                    }
                }
                result
            }
            Expr::Or(items) => {
                let mut result = Verdict::DoesNotHold;
                for item in items {
                    match item.evaluate(action) {
                        Verdict::Holds => return Verdict::Holds,
                        Verdict::Unknown => result = Verdict::Unknown,
                        Verdict::DoesNotHold => {}
                    }
                }
                result
            }
            // The sub-operation (Blob.List, …) and every attribute belong to the request.
            Expr::SubOperationMatches(_) | Expr::Exists { .. } | Expr::Compare { .. } => {
                Verdict::Unknown
            }
        }
    }
}

/// Parse and evaluate in one step.
pub fn evaluate(condition: &str, action: &str) -> Result<Verdict, ParseError> {
    parse(condition).map(|e| e.evaluate(action))
}

/// Parse a condition.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    if text.len() > MAX_LEN {
        return Err(ParseError {
            position: MAX_LEN,
            message: format!(
                "longer than {MAX_LEN} bytes ({} bytes); not a condition Azure would store",
                text.len()
            ),
        });
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        end: text.len(),
    };
    if parser.tokens.is_empty() {
        return Err(ParseError {
            position: 0,
            message: "the condition is empty".into(),
        });
    }
    let expr = parser.or(0)?;
    match parser.peek() {
        None => Ok(expr),
        Some((token, position)) => Err(ParseError {
            position,
            message: format!(
                "unexpected {} after a complete expression",
                token.describe()
            ),
        }),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    OpenBrace,
    CloseBrace,
    Comma,
    Not,
    And,
    Or,
    Text(String),
    Attribute(Attribute),
    Word(String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Open => "`(`".into(),
            Token::Close => "`)`".into(),
            Token::OpenBrace => "`{`".into(),
            Token::CloseBrace => "`}`".into(),
            Token::Comma => "`,`".into(),
            Token::Not => "NOT".into(),
            Token::And => "AND".into(),
            Token::Or => "OR".into(),
            Token::Text(_) => "a quoted string".into(),
            Token::Attribute(_) => "an attribute".into(),
            Token::Word(w) => format!("`{}`", printable(w)),
        }
    }
}

/// A word from the input, safe to show: printable ASCII only, at most 40 characters.
fn printable(word: &str) -> String {
    word.chars()
        .take(40)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_' | b'+')
}

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, ParseError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let single = match b {
            b'(' => Some(Token::Open),
            b')' => Some(Token::Close),
            b'{' => Some(Token::OpenBrace),
            b'}' => Some(Token::CloseBrace),
            b',' => Some(Token::Comma),
            b'!' => Some(Token::Not),
            _ => None,
        };
        if let Some(token) = single {
            tokens.push((token, start));
            i += 1;
            continue;
        }
        match b {
            b if b.is_ascii_whitespace() => i += 1,
            b'&' | b'|' => {
                if bytes.get(i + 1) != Some(&b) {
                    return Err(ParseError {
                        position: i,
                        message: format!("`{}` must be doubled (`&&` or `||`)", char::from(b)),
                    });
                }
                tokens.push((if b == b'&' { Token::And } else { Token::Or }, start));
                i += 2;
            }
            b'\'' => {
                let close = text[i + 1..].find('\'').ok_or(ParseError {
                    position: i,
                    message: "a quoted string is not closed".into(),
                })?;
                tokens.push((Token::Text(text[i + 1..i + 1 + close].to_string()), start));
                i += close + 2;
            }
            b'@' => {
                let (attribute, next) = attribute(text, i)?;
                tokens.push((Token::Attribute(attribute), start));
                i = next;
            }
            b if is_word_byte(b) => {
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                let word = &text[start..i];
                let token = if word.eq_ignore_ascii_case("AND") {
                    Token::And
                } else if word.eq_ignore_ascii_case("OR") {
                    Token::Or
                } else if word.eq_ignore_ascii_case("NOT") {
                    Token::Not
                } else {
                    Token::Word(word.to_string())
                };
                tokens.push((token, start));
            }
            _ => {
                let shown = text[i..]
                    .chars()
                    .next()
                    .map(|c| c.escape_default().to_string());
                return Err(ParseError {
                    position: i,
                    message: format!("unexpected character `{}`", shown.unwrap_or_default()),
                });
            }
        }
    }
    Ok(tokens)
}

/// `@Source[name]` starting at `at` (the `@`): the attribute and the byte after `]`.
fn attribute(text: &str, at: usize) -> Result<(Attribute, usize), ParseError> {
    let rest = &text[at + 1..];
    let open = rest.find('[').ok_or(ParseError {
        position: at,
        message: "an attribute needs `[name]` after its source (`@Request[…]`)".into(),
    })?;
    let source_name = &rest[..open];
    let source = match source_name.to_ascii_lowercase().as_str() {
        "request" => Source::Request,
        "resource" => Source::Resource,
        "principal" => Source::Principal,
        "environment" => Source::Environment,
        _ => {
            return Err(ParseError {
                position: at,
                message: format!(
                    "unknown attribute source `@{}`; expected @Request, @Resource, @Principal or @Environment",
                    printable(source_name)
                ),
            });
        }
    };
    let after_open = &rest[open + 1..];
    let close = after_open.find(']').ok_or(ParseError {
        position: at,
        message: "an attribute's `[` is not closed".into(),
    })?;
    let name = after_open[..close].trim();
    if name.is_empty() || name.chars().any(|c| c.is_control()) {
        return Err(ParseError {
            position: at,
            message: "an attribute needs a name between `[` and `]`".into(),
        });
    }
    let next = at + 1 + open + 1 + close + 1;
    Ok((
        Attribute {
            source,
            name: name.to_string(),
        },
        next,
    ))
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<(Token, usize)> {
        self.tokens.get(self.at).cloned()
    }
    fn next(&mut self, wanted: &str) -> Result<(Token, usize), ParseError> {
        let token = self.tokens.get(self.at).cloned().ok_or(ParseError {
            position: self.end,
            message: format!("the condition ends where {wanted} was expected"),
        })?;
        self.at += 1;
        Ok(token)
    }
    fn expect(&mut self, token: Token, wanted: &str) -> Result<(), ParseError> {
        let (got, position) = self.next(wanted)?;
        if got == token {
            Ok(())
        } else {
            Err(ParseError {
                position,
                message: format!("expected {wanted}, found {}", got.describe()),
            })
        }
    }
    fn deeper(&self, depth: usize) -> Result<usize, ParseError> {
        if depth >= MAX_DEPTH {
            let position = self.peek().map(|(_, p)| p).unwrap_or(self.end);
            return Err(ParseError {
                position,
                message: format!("nested more than {MAX_DEPTH} levels deep"),
            });
        }
        Ok(depth + 1)
    }

    fn or(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut items = vec![self.and(depth)?];
        while matches!(self.peek(), Some((Token::Or, _))) {
            self.at += 1;
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut items = vec![self.unary(depth)?];
        while matches!(self.peek(), Some((Token::And, _))) {
            self.at += 1;
            items.push(self.unary(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let depth = self.deeper(depth)?;
        let (token, position) = self.next("an expression")?;
        match token {
            Token::Not => Ok(Expr::Not(Box::new(self.unary(depth)?))),
            Token::Open => {
                let inner = self.or(depth)?;
                self.expect(Token::Close, "`)`")?;
                Ok(inner)
            }
            Token::Word(word) if word.eq_ignore_ascii_case("ActionMatches") => {
                Ok(Expr::ActionMatches(self.function_argument()?))
            }
            Token::Word(word) if word.eq_ignore_ascii_case("SubOperationMatches") => {
                Ok(Expr::SubOperationMatches(self.function_argument()?))
            }
            Token::Word(word)
                if word.eq_ignore_ascii_case("Exists")
                    || word.eq_ignore_ascii_case("NotExists") =>
            {
                match self.next("an attribute")? {
                    (Token::Attribute(attribute), _) => Ok(Expr::Exists {
                        negated: word.eq_ignore_ascii_case("NotExists"),
                        attribute,
                    }),
                    (other, position) => Err(ParseError {
                        position,
                        message: format!(
                            "`{}` needs an attribute, found {}",
                            printable(&word),
                            other.describe()
                        ),
                    }),
                }
            }
            Token::Attribute(attribute) => self.comparison(attribute),
            other => Err(ParseError {
                position,
                message: format!(
                    "expected an expression (`(`, NOT, ActionMatches, SubOperationMatches, Exists or an @attribute), found {}",
                    other.describe()
                ),
            }),
        }
    }

    /// `{'text'}` after ActionMatches / SubOperationMatches.
    fn function_argument(&mut self) -> Result<String, ParseError> {
        self.expect(Token::OpenBrace, "`{`")?;
        let text = match self.next("a quoted string")? {
            (Token::Text(text), _) => text,
            (other, position) => {
                return Err(ParseError {
                    position,
                    message: format!("expected a quoted string, found {}", other.describe()),
                });
            }
        };
        self.expect(Token::CloseBrace, "`}`")?;
        Ok(text)
    }

    fn comparison(&mut self, attribute: Attribute) -> Result<Expr, ParseError> {
        let (token, position) = self.next("an operator")?;
        let Token::Word(word) = token else {
            return Err(ParseError {
                position,
                message: format!(
                    "expected an operator after the attribute, found {}",
                    token.describe()
                ),
            });
        };
        let (quantifier, operator) = match word.split_once(':') {
            Some((q, op)) => (Some(q), op),
            None => (None, word.as_str()),
        };
        let canonical = |list: &[&str], name: &str| {
            list.iter()
                .find(|known| known.eq_ignore_ascii_case(name))
                .map(|known| known.to_string())
        };
        let quantifier = match quantifier {
            None => None,
            Some(q) => Some(canonical(QUANTIFIERS, q).ok_or(ParseError {
                position,
                message: format!(
                    "unknown quantifier `{}`; expected one of {}",
                    printable(q),
                    QUANTIFIERS.join(", ")
                ),
            })?),
        };
        let operator = canonical(OPERATORS, operator).ok_or(ParseError {
            position,
            message: format!("unknown operator `{}`", printable(operator)),
        })?;
        let operand = self.operand()?;
        Ok(Expr::Compare {
            attribute,
            quantifier,
            operator,
            operand,
        })
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        match self.next("a value")? {
            (Token::Attribute(attribute), _) => Ok(Operand::Attribute(attribute)),
            (Token::OpenBrace, _) => {
                let mut values = vec![self.literal()?];
                loop {
                    match self.next("`,` or `}`")? {
                        (Token::Comma, _) => values.push(self.literal()?),
                        (Token::CloseBrace, _) => return Ok(Operand::Set(values)),
                        (other, position) => {
                            return Err(ParseError {
                                position,
                                message: format!(
                                    "expected `,` or `}}` in a set of values, found {}",
                                    other.describe()
                                ),
                            });
                        }
                    }
                }
            }
            _ => {
                self.at -= 1;
                Ok(Operand::One(self.literal()?))
            }
        }
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        match self.next("a value")? {
            (Token::Text(text), _) => Ok(Literal::Text(text)),
            (Token::Word(word), _) => Ok(Literal::Word(word)),
            (other, position) => Err(ParseError {
                position,
                message: format!(
                    "expected a value (a quoted string, a GUID, a number or true/false), found {}",
                    other.describe()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests;
