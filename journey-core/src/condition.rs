//! Waypoint conditions, compiled: resolved against one map once, then matched against
//! every tracked event quickly.
//!
//! [`Compiled::compile`] checks a [`Condition`] against a [`JourneyMap`] and reports every
//! bad node with its path, exactly as [`MapDocument::validate`](crate::MapDocument::validate)
//! does. It then resolves touchpoint and phase ids to indexes, splits property names at
//! their dots and converts comparison values once, so [`Compiled::matches`] neither
//! allocates nor parses: it tests one [`Subject`] (an event in the context of its profile).
//!
//! ```
//! use journey_core::{Channel, IdentityLevel, MapBuilder};
//! use journey_core::condition::{Compiled, Subject};
//! let doc = MapBuilder::new("Shop")
//!     .persona("buyer", "Buyer")
//!     .map("buy", "Buying", "buyer")
//!     .phase("purchase", "Purchase")
//!     .touchpoint("checkout", "Checkout", "purchase", |t| t.events(["checkout_start"]))
//!     .build_unchecked();
//! let map = &doc.maps[0];
//! let condition = serde_json::from_str(
//!     r#"{"all": [{"touchpoint": "checkout"}, {"property": {"name": "cart.total", "op": ">", "value": 100}}]}"#,
//! ).unwrap();
//! let compiled = Compiled::compile(&condition, map, "maps[0].waypoints[0].condition").unwrap();
//! let properties = serde_json::json!({"cart": {"total": 120.5}});
//! let subject = Subject {
//!     name: "checkout_start",
//!     touchpoint: Some(0),
//!     phase: Some(0),
//!     channel: &Channel::Web,
//!     department: None,
//!     level: IdentityLevel::Anonymous,
//!     properties: properties.as_object().unwrap(),
//! };
//! assert!(compiled.matches(&subject));
//! ```
//!
//! # Semantics
//!
//! | Node | Matches when |
//! |------|--------------|
//! | `touchpoint` | the event resolved to that touchpoint (compared by index) |
//! | `phase` | the event's touchpoint is in that phase (compared by index); off-map events never match |
//! | `event` | the raw event name is exactly this (case-sensitive) |
//! | `channel` | the event's channel is this one; custom channels compare as strings |
//! | `department` | the event's effective department (its own, else its touchpoint's owner) is this one; none never matches |
//! | `level` | the profile's identity level is exactly this (not "at least") |
//! | `all` | every sub-condition matches (stops at the first that does not) |
//! | `any` | some sub-condition matches (stops at the first that does) |
//! | `not` | the sub-condition does not match |
//! | `property` | the test below holds |
//!
//! A property `name` reaches into nested objects with dots: `cart.total` is
//! `properties["cart"]["total"]`. Dots always mean nesting: a top-level key that itself
//! contains a dot cannot be reached. A property is *missing* when any step of the path is
//! absent or is not an object; a `null` value is present.
//!
//! | Op | Holds when | Missing property |
//! |----|------------|------------------|
//! | `=` | the property equals the value | false |
//! | `!=` | it does not (exactly `not =`) | **true** |
//! | `<` `<=` `>` `>=` | both are numbers, or both strings (compared byte-wise); any other pair is false | false |
//! | `in` | the property equals (as for `=`) one of the array's elements | false |
//! | `exists` | the property is present, even `null` | false |
//! | `contains` | a string property contains the string value as a substring, or an array property has an element equal (as for `=`) to the value; anything else is false | false |
//!
//! Equality is JSON equality, except that numbers compare by value at any depth (`1`
//! equals `1.0`, `[1]` equals `[1.0]`). Numbers compare exactly when both are integers
//! (so large ids such as `9007199254740993` stay distinct) and as `f64` otherwise.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use crate::error::Error;
use crate::identity::IdentityLevel;
use crate::map::JourneyMap;
use crate::validate::{ValidationErrors, condition_problems};
use crate::vocabulary::{Channel, Department};
use crate::waypoint::{Condition, Op, PropertyTest};

/// What a condition is tested against: one event in the context of its profile.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The raw event name.
    pub name: &'a str,
    /// The index of the event's touchpoint in the map's `touchpoints`; `None` when off-map.
    pub touchpoint: Option<usize>,
    /// The index of the event's phase in the map's `phases`.
    pub phase: Option<usize>,
    /// The channel the event happened on.
    pub channel: &'a Channel,
    /// The effective department: the event's own, else its touchpoint's owner.
    pub department: Option<&'a Department>,
    /// The profile's identity level.
    pub level: IdentityLevel,
    /// The event's properties.
    pub properties: &'a Map<String, Value>,
}

/// A condition resolved against one map, ready to evaluate many times quickly.
#[derive(Debug, Clone)]
pub struct Compiled {
    root: Node,
}

impl Compiled {
    /// Compiles `condition` against `map`; `path` is the document path of the node (for
    /// errors, e.g. `maps[0].waypoints[2].condition`).
    ///
    /// # Errors
    ///
    /// An invalid condition is [`Error::Validation`] listing every bad node, with the
    /// same kinds, paths and messages as map validation.
    pub fn compile(condition: &Condition, map: &JourneyMap, path: &str) -> Result<Compiled, Error> {
        let problems = condition_problems(path, condition, Some(map));
        if !problems.is_empty() {
            return Err(Error::Validation(ValidationErrors { problems }));
        }
        Ok(Compiled { root: Node::lower(condition, map) })
    }

    /// Whether the subject matches.
    #[inline]
    #[must_use]
    pub fn matches(&self, subject: &Subject<'_>) -> bool {
        self.root.matches(subject)
    }
}

/// A compiled condition node. Lowering only runs on validated conditions, so its
/// fallbacks (an index that never matches, an empty `in` list) are never reached.
#[derive(Debug, Clone)]
enum Node {
    Touchpoint(usize),
    Phase(usize),
    Event(Box<str>),
    Channel(Box<str>),
    Department(Box<str>),
    Level(IdentityLevel),
    Property(Box<Property>),
    All(Box<[Node]>),
    Any(Box<[Node]>),
    Not(Box<Node>),
}

impl Node {
    fn lower(condition: &Condition, map: &JourneyMap) -> Node {
        let lower_all = |items: &[Condition]| items.iter().map(|c| Node::lower(c, map)).collect::<Box<[Node]>>();
        match condition {
            Condition::Touchpoint(id) => Node::Touchpoint(map.touchpoints.iter().position(|t| t.id == *id).unwrap_or(usize::MAX)),
            Condition::Phase(id) => Node::Phase(map.phase_index(id).unwrap_or(usize::MAX)),
            Condition::Event(name) => Node::Event(name.as_str().into()),
            Condition::Channel(channel) => Node::Channel(channel.as_str().into()),
            Condition::Department(department) => Node::Department(department.as_str().into()),
            Condition::Level(level) => Node::Level(*level),
            Condition::Property(test) => Node::Property(Box::new(Property::lower(test))),
            Condition::All(items) | Condition::Any(items) if items.len() == 1 => Node::lower(&items[0], map),
            Condition::All(items) => Node::All(lower_all(items)),
            Condition::Any(items) => Node::Any(lower_all(items)),
            Condition::Not(inner) => Node::Not(Box::new(Node::lower(inner, map))),
        }
    }

    fn matches(&self, s: &Subject<'_>) -> bool {
        match self {
            Node::Touchpoint(i) => s.touchpoint == Some(*i),
            Node::Phase(i) => s.phase == Some(*i),
            Node::Event(name) => s.name == &**name,
            Node::Channel(channel) => s.channel.as_str() == &**channel,
            Node::Department(department) => s.department.is_some_and(|d| d.as_str() == &**department),
            Node::Level(level) => s.level == *level,
            Node::Property(property) => property.matches(s.properties),
            Node::All(items) => items.iter().all(|n| n.matches(s)),
            Node::Any(items) => items.iter().any(|n| n.matches(s)),
            Node::Not(inner) => !inner.matches(s),
        }
    }
}

/// A property test with its path split and its value converted.
#[derive(Debug, Clone)]
struct Property {
    path: Box<[Box<str>]>,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Eq(Operand),
    Ne(Operand),
    Cmp(Cmp, Operand),
    In(Box<[Operand]>),
    Exists,
    Contains(Operand),
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Cmp::Lt => ordering.is_lt(),
            Cmp::Le => ordering.is_le(),
            Cmp::Gt => ordering.is_gt(),
            Cmp::Ge => ordering.is_ge(),
        }
    }
}

impl Property {
    fn lower(test: &PropertyTest) -> Property {
        static NULL: Value = Value::Null;
        let value = test.value.as_ref().unwrap_or(&NULL);
        let test_ = match test.op {
            Op::Eq => Test::Eq(Operand::of(value)),
            Op::Ne => Test::Ne(Operand::of(value)),
            Op::Lt => Test::Cmp(Cmp::Lt, Operand::of(value)),
            Op::Le => Test::Cmp(Cmp::Le, Operand::of(value)),
            Op::Gt => Test::Cmp(Cmp::Gt, Operand::of(value)),
            Op::Ge => Test::Cmp(Cmp::Ge, Operand::of(value)),
            Op::In => Test::In(value.as_array().map(|items| items.iter().map(Operand::of).collect()).unwrap_or_default()),
            Op::Exists => Test::Exists,
            Op::Contains => Test::Contains(Operand::of(value)),
        };
        Property { path: test.name.split('.').map(Box::from).collect(), test: test_ }
    }

    fn matches(&self, properties: &Map<String, Value>) -> bool {
        let Some(value) = self.lookup(properties) else {
            return matches!(self.test, Test::Ne(_));
        };
        match &self.test {
            Test::Eq(operand) => operand.equals(value),
            Test::Ne(operand) => !operand.equals(value),
            Test::Cmp(cmp, operand) => operand.compare_from(value).is_some_and(|o| cmp.holds(o)),
            Test::In(operands) => operands.iter().any(|o| o.equals(value)),
            Test::Exists => true,
            Test::Contains(operand) => match value {
                Value::String(text) => matches!(operand, Operand::Str(needle) if text.contains(&**needle)),
                Value::Array(items) => items.iter().any(|item| operand.equals(item)),
                _ => false,
            },
        }
    }

    fn lookup<'v>(&self, properties: &'v Map<String, Value>) -> Option<&'v Value> {
        let (first, rest) = self.path.split_first()?;
        let mut value = get(properties, first)?;
        for key in rest {
            value = get(value.as_object()?, key)?;
        }
        Some(value)
    }
}

/// `object[key]`. Event properties are small objects, where comparing keys in order is
/// cheaper than hashing the key.
#[inline]
fn get<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    if object.len() <= 16 { object.iter().find_map(|(k, v)| (k == key).then_some(v)) } else { object.get(key) }
}

/// A comparison value, converted once: numbers to [`Num`], scalars unwrapped.
#[derive(Debug, Clone)]
enum Operand {
    Null,
    Bool(bool),
    Num(Num),
    Str(Box<str>),
    /// An array or object, compared with [`json_eq`].
    Json(Value),
}

impl Operand {
    fn of(value: &Value) -> Operand {
        match value {
            Value::Null => Operand::Null,
            Value::Bool(b) => Operand::Bool(*b),
            Value::Number(n) => Operand::Num(Num::of(n)),
            Value::String(s) => Operand::Str(s.as_str().into()),
            other => Operand::Json(other.clone()),
        }
    }

    /// Whether `value` equals this operand (numbers by value).
    fn equals(&self, value: &Value) -> bool {
        match (self, value) {
            (Operand::Null, Value::Null) => true,
            (Operand::Bool(a), Value::Bool(b)) => a == b,
            (Operand::Num(a), Value::Number(b)) => Num::of(b).cmp_num(*a) == Some(Ordering::Equal),
            (Operand::Str(a), Value::String(b)) => **a == *b.as_str(),
            (Operand::Json(a), b) => json_eq(a, b),
            _ => false,
        }
    }

    /// How `value` orders against this operand: numbers with numbers, strings with
    /// strings (byte-wise), `None` for any other pair.
    fn compare_from(&self, value: &Value) -> Option<Ordering> {
        match (value, self) {
            (Value::Number(a), Operand::Num(b)) => Num::of(a).cmp_num(*b),
            (Value::String(a), Operand::Str(b)) => Some(a.as_str().cmp(&**b)),
            _ => None,
        }
    }
}

/// A JSON number as a float, plus its exact value when it is an integer.
#[derive(Debug, Clone, Copy)]
struct Num {
    float: f64,
    int: Option<i128>,
}

impl Num {
    #[inline]
    fn of(n: &Number) -> Num {
        let int = n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
        Num { float: n.as_f64().unwrap_or(f64::NAN), int }
    }

    /// Integers compare exactly, anything else as `f64`.
    #[inline]
    fn cmp_num(self, other: Num) -> Option<Ordering> {
        match (self.int, other.int) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => self.float.partial_cmp(&other.float),
        }
    }
}

/// JSON equality with numbers compared by value, at any depth.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Num::of(x).cmp_num(Num::of(y)) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w))),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use serde_json::json;

    use super::*;
    use crate::map::MapDocument;
    use crate::validate::{Problem, ProblemKind};
    use crate::{MapBuilder, Waypoint};

    static MAP: LazyLock<JourneyMap> = LazyLock::new(|| {
        MapBuilder::new("Shop")
            .persona("buyer", "Buyer")
            .map("buy", "Buying", "buyer")
            .phase("browse", "Browse")
            .phase("purchase", "Purchase")
            .touchpoint("pdp", "Product page", "browse", |t| t.channel("web").department("product").events(["product_view"]))
            .touchpoint("cart", "Cart", "browse", |t| t.events(["cart_add"]))
            .touchpoint("checkout", "Checkout", "purchase", |t| t.department("billing").events(["checkout_start"]))
            .build_unchecked()
            .maps
            .remove(0)
    });

    /// An owned event to borrow a [`Subject`] from; defaults to a product view on the web.
    struct Event {
        name: &'static str,
        touchpoint: Option<usize>,
        phase: Option<usize>,
        channel: Channel,
        department: Option<Department>,
        level: IdentityLevel,
        properties: Map<String, Value>,
    }

    impl Event {
        fn new(properties: Value) -> Event {
            Event {
                name: "product_view",
                touchpoint: Some(0),
                phase: Some(0),
                channel: Channel::Web,
                department: Some(Department::Product),
                level: IdentityLevel::Anonymous,
                properties: properties.as_object().expect("properties are an object").clone(),
            }
        }

        fn subject(&self) -> Subject<'_> {
            Subject {
                name: self.name,
                touchpoint: self.touchpoint,
                phase: self.phase,
                channel: &self.channel,
                department: self.department.as_ref(),
                level: self.level,
                properties: &self.properties,
            }
        }
    }

    fn compile(condition: Value) -> Result<Compiled, Error> {
        Compiled::compile(&serde_json::from_value(condition).expect("a well-formed condition"), &MAP, "c")
    }

    fn matches(condition: Value, event: &Event) -> bool {
        compile(condition).expect("a valid condition").matches(&event.subject())
    }

    /// Whether the property test `name op value` holds for these properties. Built directly,
    /// not from JSON, so that `value` may be `null` (JSON `"value": null` reads as no value).
    fn prop(name: &str, op: &str, value: Value, properties: Value) -> bool {
        let op: Op = serde_json::from_value(json!(op)).expect("an operator");
        let condition = Condition::Property(PropertyTest { name: name.into(), op, value: Some(value) });
        Compiled::compile(&condition, &MAP, "c").expect("a valid condition").matches(&Event::new(properties).subject())
    }

    fn problems(condition: Value, path: &str) -> Vec<Problem> {
        let condition = serde_json::from_value(condition).expect("a well-formed condition");
        match Compiled::compile(&condition, &MAP, path) {
            Err(Error::Validation(errors)) => errors.problems,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn problem(kind: ProblemKind, path: &str, message: &str) -> Problem {
        Problem { kind, path: path.into(), message: message.into() }
    }

    #[test]
    fn eq_compares_json_values_with_numbers_by_value() {
        assert!(prop("n", "=", json!(1), json!({"n": 1})));
        assert!(prop("n", "=", json!(1), json!({"n": 1.0})));
        assert!(prop("n", "=", json!(1.0), json!({"n": 1})));
        assert!(prop("n", "=", json!(-3), json!({"n": -3.0})));
        assert!(!prop("n", "=", json!(1), json!({"n": 2})));
        assert!(!prop("n", "=", json!(1), json!({"n": "1"})), "no coercion between types");
        assert!(!prop("n", "=", json!("1"), json!({"n": 1})));
        assert!(!prop("n", "=", json!(1), json!({})), "missing");
        assert!(prop("s", "=", json!("gold"), json!({"s": "gold"})));
        assert!(!prop("s", "=", json!("gold"), json!({"s": "Gold"})));
        assert!(prop("b", "=", json!(true), json!({"b": true})));
        assert!(!prop("b", "=", json!(true), json!({"b": 1})));
        assert!(prop("z", "=", json!(null), json!({"z": null})));
        assert!(!prop("z", "=", json!(null), json!({})), "missing is not null");
        assert!(!prop("z", "=", json!(null), json!({"z": 0})));
        assert!(prop("a", "=", json!([1, "x"]), json!({"a": [1.0, "x"]})), "numbers by value inside arrays");
        assert!(!prop("a", "=", json!([1, 2]), json!({"a": [2, 1]})));
        assert!(prop("o", "=", json!({"k": 2, "j": [1]}), json!({"o": {"j": [1.0], "k": 2.0}})), "objects ignore key order");
        assert!(!prop("o", "=", json!({"k": 2}), json!({"o": {"k": 2, "extra": 1}})));
        assert!(prop("cart.total", "=", json!(99.5), json!({"cart": {"total": 99.5}})), "nested path");
        // Integers compare exactly, beyond f64 precision.
        assert!(!prop("id", "=", json!(9007199254740993_u64), json!({"id": 9007199254740992_u64})));
        assert!(prop("id", "=", json!(u64::MAX), json!({"id": u64::MAX})));
        assert!(!prop("id", "=", json!(-1), json!({"id": u64::MAX})));
    }

    #[test]
    fn ne_is_not_eq_and_true_when_missing() {
        assert!(prop("n", "!=", json!(1), json!({})), "missing != value");
        assert!(prop("n", "!=", json!(null), json!({})), "missing != null");
        assert!(!prop("n", "!=", json!(1), json!({"n": 1.0})));
        assert!(prop("n", "!=", json!(1), json!({"n": 2})));
        assert!(prop("n", "!=", json!(1), json!({"n": "1"})), "other types differ");
        assert!(!prop("n", "!=", json!(null), json!({"n": null})));
        assert!(prop("n", "!=", json!(null), json!({"n": false})));
        assert!(!prop("a.b", "!=", json!("x"), json!({"a": {"b": "x"}})));
        assert!(prop("a.b", "!=", json!("x"), json!({"a": "x"})), "a path through a non-object is missing");
    }

    #[test]
    fn lt_le_gt_ge_compare_numbers() {
        let p = |op: &str, bound: Value, n: Value| prop("n", op, bound, json!({ "n": n }));
        assert!(p("<", json!(10), json!(9.5)));
        assert!(!p("<", json!(10), json!(10)));
        assert!(!p("<", json!(10), json!(10.0)));
        assert!(p("<=", json!(10), json!(10.0)));
        assert!(!p("<=", json!(10), json!(10.01)));
        assert!(p(">", json!(0.5), json!(1)));
        assert!(!p(">", json!(1), json!(1)));
        assert!(p(">=", json!(1.0), json!(1)));
        assert!(!p(">=", json!(1), json!(-1)));
        assert!(p(">", json!(-1), json!(u64::MAX)), "signed and unsigned integers compare exactly");
        assert!(p(">", json!(9007199254740992_u64), json!(9007199254740993_u64)), "beyond f64 precision");
        assert!(prop("cart.total", ">", json!(100), json!({"cart": {"total": 120.5}})), "nested path");
    }

    #[test]
    fn lt_le_gt_ge_compare_strings_bytewise() {
        let p = |op: &str, bound: &str, s: &str| prop("s", op, json!(bound), json!({ "s": s }));
        assert!(p("<", "b", "a"));
        assert!(p("<", "b", "B"), "uppercase sorts before lowercase");
        assert!(p(">", "z", "é"), "bytes, not locale");
        assert!(p("<", "2024-02-01", "2024-01-31"), "ISO dates order as strings");
        assert!(p("<=", "abc", "abc"));
        assert!(p(">=", "abc", "abc"));
        assert!(!p(">", "abc", "abc"));
        assert!(p(">", "10", "9"), "strings are not numbers");
    }

    #[test]
    fn ordering_is_false_for_missing_and_mixed_types() {
        for op in ["<", "<=", ">", ">="] {
            assert!(!prop("n", op, json!(1), json!({})), "{op}: missing");
            assert!(!prop("n", op, json!(1), json!({"n": null})), "{op}: null");
            assert!(!prop("n", op, json!(1), json!({"n": "1"})), "{op}: string vs number");
            assert!(!prop("n", op, json!("1"), json!({"n": 1})), "{op}: number vs string");
            assert!(!prop("n", op, json!(1), json!({"n": true})), "{op}: bool");
            assert!(!prop("n", op, json!(1), json!({"n": [1]})), "{op}: array");
            assert!(!prop("n", op, json!(1), json!({"n": {"n": 1}})), "{op}: object");
        }
    }

    #[test]
    fn in_matches_any_element_with_eq_semantics() {
        let list = json!(["gold", 2, null, [1]]);
        assert!(prop("v", "in", list.clone(), json!({"v": "gold"})));
        assert!(prop("v", "in", list.clone(), json!({"v": 2.0})), "numbers by value");
        assert!(prop("v", "in", list.clone(), json!({"v": null})));
        assert!(prop("v", "in", list.clone(), json!({"v": [1.0]})));
        assert!(!prop("v", "in", list.clone(), json!({"v": "silver"})));
        assert!(!prop("v", "in", list.clone(), json!({"v": "2"})));
        assert!(!prop("v", "in", list.clone(), json!({})), "missing");
        assert!(!prop("v", "in", json!([]), json!({"v": 1})), "empty list");
        assert!(prop("user.tier", "in", json!(["gold", "platinum"]), json!({"user": {"tier": "platinum"}})));
    }

    #[test]
    fn exists_is_presence_including_null() {
        let exists = |name: &str, properties: Value| matches(json!({"property": {"name": name, "op": "exists"}}), &Event::new(properties));
        assert!(exists("n", json!({"n": 0})));
        assert!(exists("n", json!({"n": null})), "null counts as present");
        assert!(!exists("n", json!({})));
        assert!(exists("a.b", json!({"a": {"b": null}})));
        assert!(!exists("a.b", json!({"a": {}})));
        assert!(!exists("a.b", json!({"a": null})), "a path through null is missing");
        assert!(!exists("a.b", json!({"a": [{"b": 1}]})), "a path through an array is missing");
        assert!(!exists("a.b", json!({"a.b": 1})), "dots always mean nesting");
    }

    #[test]
    fn contains_is_substring_or_array_element() {
        assert!(prop("s", "contains", json!("ell"), json!({"s": "hello"})));
        assert!(prop("s", "contains", json!("hello"), json!({"s": "hello"})));
        assert!(!prop("s", "contains", json!("Hell"), json!({"s": "hello"})), "case-sensitive");
        assert!(prop("s", "contains", json!(""), json!({"s": "hello"})), "the empty string is a substring");
        assert!(!prop("s", "contains", json!(1), json!({"s": "a1"})), "a string contains only strings");
        assert!(prop("a", "contains", json!("x"), json!({"a": ["w", "x"]})));
        assert!(prop("a", "contains", json!(2), json!({"a": [1, 2.0]})), "array elements compare as `=`");
        assert!(prop("a", "contains", json!({"k": 1}), json!({"a": [{"k": 1.0}]})));
        assert!(!prop("a", "contains", json!("x"), json!({"a": ["xy"]})), "elements match whole, not as substrings");
        assert!(!prop("a", "contains", json!("x"), json!({"a": []})));
        assert!(!prop("n", "contains", json!(1), json!({"n": 1})), "numbers contain nothing");
        assert!(!prop("o", "contains", json!("k"), json!({"o": {"k": 1}})), "objects contain nothing");
        assert!(!prop("z", "contains", json!("x"), json!({"z": null})));
        assert!(!prop("s", "contains", json!("x"), json!({})), "missing");
        assert!(prop("cart.skus", "contains", json!("A-1"), json!({"cart": {"skus": ["A-1"]}})), "nested path");
    }

    #[test]
    fn nested_paths_walk_objects() {
        let properties = json!({"a": {"b": {"c": 3}}, "s": "text"});
        assert!(prop("a.b.c", "=", json!(3), properties.clone()));
        assert!(!prop("a.b", "=", json!(3), properties.clone()));
        assert!(matches(json!({"property": {"name": "a.b", "op": "exists"}}), &Event::new(properties.clone())));
        assert!(!matches(json!({"property": {"name": "a.b.c.d", "op": "exists"}}), &Event::new(properties.clone())));
        assert!(!matches(json!({"property": {"name": "s.length", "op": "exists"}}), &Event::new(properties)));
    }

    #[test]
    fn touchpoint_compares_indexes() {
        let mut e = Event::new(json!({}));
        e.touchpoint = Some(2);
        assert!(matches(json!({"touchpoint": "checkout"}), &e));
        assert!(!matches(json!({"touchpoint": "pdp"}), &e));
        e.touchpoint = None;
        assert!(!matches(json!({"touchpoint": "checkout"}), &e), "off-map");
    }

    #[test]
    fn phase_compares_indexes() {
        let mut e = Event::new(json!({}));
        e.phase = Some(1);
        assert!(matches(json!({"phase": "purchase"}), &e));
        assert!(!matches(json!({"phase": "browse"}), &e));
        e.phase = None;
        assert!(!matches(json!({"phase": "purchase"}), &e), "off-map");
    }

    #[test]
    fn event_is_the_exact_raw_name() {
        let e = Event::new(json!({}));
        assert!(matches(json!({"event": "product_view"}), &e));
        assert!(!matches(json!({"event": "Product_View"}), &e));
        assert!(!matches(json!({"event": "product"}), &e));
    }

    #[test]
    fn channel_compares_known_and_custom_values() {
        let mut e = Event::new(json!({}));
        assert!(matches(json!({"channel": "web"}), &e));
        assert!(!matches(json!({"channel": "mobile_app"}), &e));
        e.channel = Channel::Custom("hologram".into());
        assert!(matches(json!({"channel": "hologram"}), &e));
        assert!(!matches(json!({"channel": "web"}), &e));
        e.channel = Channel::Custom("web".into());
        assert!(matches(json!({"channel": "web"}), &e), "custom values compare as strings");
    }

    #[test]
    fn department_compares_the_effective_department() {
        let mut e = Event::new(json!({}));
        assert!(matches(json!({"department": "product"}), &e));
        assert!(!matches(json!({"department": "billing"}), &e));
        e.department = Some(Department::Custom("back_office".into()));
        assert!(matches(json!({"department": "back_office"}), &e));
        e.department = None;
        assert!(!matches(json!({"department": "product"}), &e), "no department");
    }

    #[test]
    fn level_is_exact() {
        let mut e = Event::new(json!({}));
        e.level = IdentityLevel::Identified;
        assert!(matches(json!({"level": "identified"}), &e));
        assert!(!matches(json!({"level": "anonymous"}), &e));
        assert!(!matches(json!({"level": "authenticated"}), &e), "exact, not at least");
    }

    #[test]
    fn all_needs_every_item() {
        let e = Event::new(json!({"n": 5}));
        assert!(matches(json!({"all": [{"event": "product_view"}]}), &e));
        assert!(matches(json!({"all": [{"event": "product_view"}, {"touchpoint": "pdp"}, {"property": {"name": "n", "op": ">", "value": 1}}]}), &e));
        assert!(!matches(json!({"all": [{"event": "product_view"}, {"touchpoint": "cart"}]}), &e));
        assert!(!matches(json!({"all": [{"touchpoint": "cart"}, {"event": "product_view"}]}), &e));
    }

    #[test]
    fn any_needs_one_item() {
        let e = Event::new(json!({}));
        assert!(matches(json!({"any": [{"event": "cart_add"}, {"event": "product_view"}]}), &e));
        assert!(matches(json!({"any": [{"event": "product_view"}, {"event": "cart_add"}]}), &e));
        assert!(matches(json!({"any": [{"event": "product_view"}]}), &e));
        assert!(!matches(json!({"any": [{"event": "cart_add"}, {"phase": "purchase"}]}), &e));
    }

    #[test]
    fn not_negates() {
        let e = Event::new(json!({}));
        assert!(!matches(json!({"not": {"event": "product_view"}}), &e));
        assert!(matches(json!({"not": {"event": "cart_add"}}), &e));
        assert!(matches(json!({"not": {"not": {"event": "product_view"}}}), &e));
        assert!(matches(json!({"not": {"property": {"name": "n", "op": "exists"}}}), &e));
    }

    #[test]
    fn combinators_nest() {
        let condition = json!({"all": [
            {"any": [{"touchpoint": "pdp"}, {"touchpoint": "cart"}]},
            {"not": {"level": "authenticated"}},
            {"any": [{"property": {"name": "cart.total", "op": ">=", "value": 100}}, {"channel": "phone"}]}
        ]});
        let compiled = compile(condition).unwrap();
        let mut e = Event::new(json!({"cart": {"total": 100}}));
        assert!(compiled.matches(&e.subject()));
        e.level = IdentityLevel::Authenticated;
        assert!(!compiled.matches(&e.subject()));
        e.level = IdentityLevel::Identified;
        e.properties = Map::new();
        assert!(!compiled.matches(&e.subject()));
        e.channel = Channel::Phone;
        assert!(compiled.matches(&e.subject()));
        e.touchpoint = Some(2);
        assert!(!compiled.matches(&e.subject()));
    }

    #[test]
    fn unknown_touchpoint_and_phase_are_reported_with_their_paths() {
        assert_eq!(
            problems(json!({"touchpoint": "nope"}), "maps[0].waypoints[2].condition"),
            [problem(ProblemKind::UnknownReference, "maps[0].waypoints[2].condition.touchpoint", "touchpoint \"nope\" is not in the map")]
        );
        assert_eq!(
            problems(json!({"not": {"phase": "later"}}), "maps[0].waypoints[2].trigger"),
            [problem(ProblemKind::UnknownReference, "maps[0].waypoints[2].trigger.not.phase", "phase \"later\" is not in the map")]
        );
    }

    #[test]
    fn every_bad_node_is_reported() {
        let condition = json!({"all": [
            {"touchpoint": "nope"},
            {"any": []},
            {"any": [{"event": "x"}, {"not": {"phase": "later"}}]},
            {"property": {"name": "", "op": "<", "value": true}},
            {"property": {"name": "tier", "op": "in", "value": "gold"}},
            {"property": {"name": "tier", "op": "exists", "value": 1}},
            {"property": {"name": "tier", "op": "="}},
            {"all": []}
        ]});
        let at = "maps[0].waypoints[2].condition";
        assert_eq!(
            problems(condition, at),
            [
                problem(ProblemKind::UnknownReference, &format!("{at}.all[0].touchpoint"), "touchpoint \"nope\" is not in the map"),
                problem(ProblemKind::InvalidWaypoint, &format!("{at}.all[1]"), "`all` and `any` need at least one condition"),
                problem(ProblemKind::UnknownReference, &format!("{at}.all[2].any[1].not.phase"), "phase \"later\" is not in the map"),
                problem(ProblemKind::EmptyField, &format!("{at}.all[3].property.name"), "`name` must not be empty"),
                problem(ProblemKind::InvalidWaypoint, &format!("{at}.all[3].property.value"), "`<` compares numbers or strings, not true"),
                problem(ProblemKind::InvalidWaypoint, &format!("{at}.all[4].property.value"), "`in` needs an array `value`"),
                problem(ProblemKind::InvalidWaypoint, &format!("{at}.all[5].property.value"), "`exists` takes no `value`"),
                problem(ProblemKind::InvalidWaypoint, &format!("{at}.all[6].property.value"), "`=` needs a `value`"),
                problem(ProblemKind::InvalidWaypoint, &format!("{at}.all[7]"), "`all` and `any` need at least one condition"),
            ]
        );
    }

    #[test]
    fn compile_errors_match_map_validation() {
        let mut doc: MapDocument = MapBuilder::new("Shop")
            .persona("buyer", "Buyer")
            .map("buy", "Buying", "buyer")
            .phase("browse", "Browse")
            .touchpoint("pdp", "Product page", "browse", |t| t.events(["product_view"]))
            .build_unchecked();
        let waypoint: Waypoint = serde_json::from_value(json!({
            "id": "w", "condition": {"any": [{"touchpoint": "cart"}, {"property": {"name": "x", "op": ">"}}]},
            "on_reached": [{"kind": "popup"}]
        }))
        .unwrap();
        doc.maps[0].waypoints.push(waypoint);
        let map = &doc.maps[0];
        let Err(Error::Validation(errors)) = Compiled::compile(&map.waypoints[0].condition, map, "maps[0].waypoints[0].condition") else {
            panic!("expected a validation error");
        };
        assert_eq!(errors.problems.len(), 2);
        assert_eq!(errors.problems, doc.problems());
    }

    #[test]
    fn large_objects_are_looked_up_too() {
        let mut properties: Map<String, Value> = (0..40).map(|i| (format!("k{i}"), json!(i))).collect();
        properties.insert("nested".into(), Value::Object(properties.clone()));
        let properties = Value::Object(properties);
        assert!(prop("k39", "=", json!(39), properties.clone()));
        assert!(prop("nested.k0", "=", json!(0), properties.clone()));
        assert!(prop("nested.k39", ">=", json!(39), properties.clone()));
        assert!(!prop("nested.k40", "=", json!(40), properties));
    }

    #[test]
    fn compiled_is_shareable() {
        fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync>() {}
        assert_traits::<Compiled>();
        assert_traits::<Subject<'static>>();
    }
}

/// The touchpoints an event must be at for `condition` to match it, if that can be told
/// from the condition alone: `Some(set)` of touchpoint indexes (`None` inside the set
/// standing for off-map events), or `None` when any event might match. The tracker uses it
/// to skip waypoints that cannot match an event without evaluating them.
pub fn touchpoint_filter(condition: &Condition, map: &JourneyMap) -> Option<std::collections::BTreeSet<Option<usize>>> {
    use std::collections::BTreeSet;
    match condition {
        Condition::Touchpoint(id) => Some(map.touchpoints.iter().position(|t| &t.id == id).into_iter().map(Some).collect()),
        Condition::Event(name) => Some(BTreeSet::from([map.touchpoints.iter().position(|t| t.events.contains(name))])),
        Condition::Phase(id) => Some(map.touchpoints.iter().enumerate().filter(|(_, t)| &t.phase == id).map(|(i, _)| Some(i)).collect()),
        Condition::All(items) => items.iter().filter_map(|c| touchpoint_filter(c, map)).reduce(|a, b| a.intersection(&b).copied().collect()),
        Condition::Any(items) => items.iter().map(|c| touchpoint_filter(c, map)).try_fold(BTreeSet::new(), |mut all, one| {
            all.extend(one?);
            Some(all)
        }),
        Condition::Channel(_) | Condition::Department(_) | Condition::Level(_) | Condition::Property(_) | Condition::Not(_) => None,
    }
}

#[cfg(test)]
mod filter_tests {
    use super::touchpoint_filter;
    use crate::MapBuilder;
    use std::collections::BTreeSet;

    #[test]
    fn filters_follow_the_condition_tree() {
        let doc = MapBuilder::new("m")
            .persona("p", "P")
            .map("m", "M", "p")
            .phase("a", "A")
            .phase("b", "B")
            .touchpoint("t0", "T0", "a", |t| t.events(["e0"]))
            .touchpoint("t1", "T1", "b", |t| t.events(["e1"]))
            .touchpoint("t2", "T2", "b", |t| t.events(["e2"]))
            .build_unchecked();
        let map = &doc.maps[0];
        let f = |json: &str| touchpoint_filter(&serde_json::from_str(json).unwrap(), map);
        assert_eq!(f(r#"{"touchpoint": "t1"}"#), Some(BTreeSet::from([Some(1)])));
        assert_eq!(f(r#"{"event": "off"}"#), Some(BTreeSet::from([None])));
        assert_eq!(f(r#"{"phase": "b"}"#), Some(BTreeSet::from([Some(1), Some(2)])));
        assert_eq!(f(r#"{"all": [{"phase": "b"}, {"event": "e2"}, {"channel": "web"}]}"#), Some(BTreeSet::from([Some(2)])));
        assert_eq!(f(r#"{"any": [{"touchpoint": "t0"}, {"event": "e2"}]}"#), Some(BTreeSet::from([Some(0), Some(2)])));
        assert_eq!(f(r#"{"any": [{"touchpoint": "t0"}, {"channel": "web"}]}"#), None);
        assert_eq!(f(r#"{"not": {"touchpoint": "t0"}}"#), None);
        assert_eq!(f(r#"{"all": [{"channel": "web"}]}"#), None);
    }
}
