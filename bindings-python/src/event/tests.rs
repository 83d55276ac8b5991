//! The two ways of reading an event agree: [`well_formed`] takes every ordinary event
//! and builds exactly what [`checked`] builds, and leaves everything else to it, so every
//! error stays what it was.

use std::ffi::CString;

use pyo3::types::PyList;

use super::*;

/// Python code making the events of the tests, as lists named `good` (the fast way
/// must take them), `unusual` (well-formed, but the fast way must leave them to the
/// checked way), `bad` (refused) and `changed` (anything: an ordinary event with one
/// field set to each odd value, and good events with fields changed at random to odd
/// values, removed or added).
const EVENTS: &str = r#"
import itertools, random
from collections import OrderedDict
from datetime import date, datetime, timedelta, timezone, tzinfo
from enum import IntEnum

UTC = timezone.utc
T0 = 1_736_121_600_000_000

class Str(str): pass
class Int(int): pass
class Level(IntEnum):
    T0 = T0
class Dict(dict): pass
class List(list): pass
class Tuple(tuple): pass
class Stamp(datetime): pass
class Fixed(tzinfo):
    def utcoffset(self, dt): return timedelta(hours=-3, minutes=-17)
    def dst(self, dt): return None
class Naive(tzinfo):
    def utcoffset(self, dt): return None
class Broken(tzinfo):
    def utcoffset(self, dt): raise RuntimeError("no offset here")
class Other(str):
    """A str whose hash differs from its text's: a dict may hold it beside an equal str."""
    def __hash__(self): return 7
    def __eq__(self, other): return str.__eq__(self, other)
class Liar(str):
    """A str that claims to be a datetime: `isinstance(x, datetime)` believes it."""
    __class__ = property(lambda self: datetime)
class Clock(int):
    __class__ = property(lambda self: datetime)

zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-11)), timezone(timedelta(seconds=1, microseconds=7)), Fixed()]
try:
    from zoneinfo import ZoneInfo
    zones.append(ZoneInfo("Europe/Madrid"))
except Exception:
    pass
stamps = [0, 1, -1, T0, 2**63 - 1, -2**63, Int(T0 + 5), Level.T0]
for i, zone in enumerate(zones):
    stamps.append(datetime(2025, 1 + i, 6, 12, 30, 15, 123456 * i % 1_000_000, tzinfo=zone))
    stamps.append(datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=zone, fold=1))
stamps += [datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC), Stamp(2024, 2, 29, tzinfo=UTC)]
keyss = [
    ["session:a"], ["session:8f3a", "phone:+34600000000"], ("email:ñandú@example.com",),
    ["customer:0012345", "customer:0012345"], [Str("session:sub")], ["k_1:日本語😀", "device:x:y"],
    ["a:" + "x" * 1022], ["session:a", "email:a@example.com", "customer:1", "cookie:c", "loyalty:9"],
]
names = ["view", "añadir al carrito 🛒", Str("sub"), "  padded  ", "x" * 300, "support_call"]
channels = ["web", "mobile_app", "hologram", "Web", Str("phone"), "whatsapp", "😀"]
departments = [None, "sales", "back_office", Str("billing"), "Support"]
ratings = [None, "negative", "neutral", "positive", Str("positive"), -1, 0, 1, 0.5, -0.0, 1.0, -0.999, Int(1)]
ratings += [{"csat": x} for x in range(1, 6)] + [{"nps": x} for x in range(11)]
ratings += [{"csat": 4.0}, {"nps": 10.0}, {"score": -1}, {"score": 0.25}, {"score": 1}, {"score": 0}]
ratings += [{"label": "positive"}, {"label": "negative"}, Dict(csat=2), OrderedDict(nps=7)]
propertiess = [
    {}, {"value": 1}, {"b": 1, "a": 2}, {"a": {"b": [1, 2.5, None, True, "x", (1, 2)]}},
    {"big": 2**64 - 1, "neg": -2**63, "f": -0.0, "e": 1e300, "tiny": 5e-324}, {"ü": "日本", "": ""},
    OrderedDict(z=1, y=[{}]), Dict(x=Str("s"), n=Int(3)), {"deep": [[[[[[[[[[1]]]]]]]]]]}, {"l": List([1]), "t": Tuple((2,))},
]

good = []
for i, (department, rating, properties) in enumerate(itertools.product(departments + ["-"], ratings + ["-"], propertiess + ["-"])):
    fields = [("ts", stamps[i % len(stamps)]), ("keys", keyss[i // 3 % len(keyss)]), ("event", names[i // 7 % len(names)]), ("channel", channels[i // 2 % len(channels)])]
    fields += [(k, v) for k, v in (("department", department), ("rating", rating), ("properties", properties)) if not (isinstance(v, str) and v == "-")]
    random.Random(i).shuffle(fields)
    good.append(OrderedDict(fields) if i % 11 == 0 else Dict(fields) if i % 13 == 0 else dict(fields))

base = {"ts": T0, "keys": ["session:a"], "event": "view", "channel": "web"}
unusual = [
    {**base, "keys": List(["session:a"])},
    {**base, "keys": Tuple(("session:a", "email:b@c"))},
    {**base, Other("ts"): T0 + 1},
    {**base, Other("channel"): "phone", "department": None},
]

def without(field):
    return {k: v for k, v in base.items() if k != field}

odd = [
    None, True, False, 0, -1, 1.0, 1.5, float("nan"), float("inf"), 2**63, 2**64, -2**63 - 1, 2**70,
    "", " ", "x", "session:a", "NOCOLON", "Session:a", "1a:b", "email:", "a:\x01", "a:" + "x" * 1023, "\ud800", Liar("web"),
    [], ["session:a"], ("session:a",), ["session:a", 1], [None], ["nocolon"], ["a:\ud800"], "session:a", b"web", List(["x"]),
    {"csat": 4}, {"csat": 9}, {"csat": 0}, {"csat": 4.5}, {"csat": "4"}, {"nps": 11}, {"nps": -1}, {"score": 1.5}, {"score": float("nan")},
    {"label": "happy"}, {"label": 1}, {"stars": 4}, {"csat": 4, "nps": 3}, {}, {"a": 1}, {1: 2}, {"a": object()}, {"a": {1, 2}},
    "positive", "happy", 0.5, 2.0, -1.5, Int(2), Level.T0, Clock(5), datetime(2025, 1, 6, tzinfo=UTC),
    datetime(2025, 1, 6), datetime(2025, 1, 6, tzinfo=Naive()), datetime(2025, 1, 6, tzinfo=Broken()), date(2025, 1, 6), object(), Dict(),
]
fields = ["ts", "keys", "event", "channel", "department", "rating", "properties", "colour", "Keys", Str("event"), 3, None]

changed = [{**base, field: value} for field in fields for value in odd]
bad = [without(field) for field in base] + [{}, {**base, 3: 4}, {**base, None: 1}, {**base, "\ud800": 1}, {**base, "colour": "red"}]
bad += [[base], "view", None, 1, List([base]), {**base, "keys": [], "event": " "}, {**base, "properties": [1]}]
cycle = []
cycle.append(cycle)
deep = 1
for _ in range(70):
    deep = [deep]
bad += [{**base, "properties": {"c": cycle}}, {**base, "properties": {"deep": deep}}, {**base, "rating": {"score": deep}}]
bad += [{**base, "ts": value} for value in (Clock(1), Liar("x"), datetime(2025, 1, 6, tzinfo=Broken()), "2025-01-06", 1e15)]

rng = random.Random(2024)
for _ in range(20_000):
    event = dict(rng.choice(good))
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        field = rng.choice(fields)
        if rng.random() < 0.2 and field in event:
            del event[field]
        else:
            event[field] = rng.choice(odd) if rng.random() < 0.7 else rng.choice(good).get(field, None)
    changed.append(event)
"#;

/// Runs `check` on each event of the list `name` that [`EVENTS`] makes, with the
/// interpreter attached, once sure that the list holds more than `at_least` of them.
fn each_event(name: &str, at_least: usize, mut check: impl FnMut(&Bound<'_, PyAny>)) {
    Python::initialize();
    Python::attach(|py| {
        let globals = PyDict::new(py);
        let code = CString::new(EVENTS).expect("no NUL in the code");
        py.run(&code, Some(&globals), None).expect("the events are made");
        let list = globals.get_item(name).expect("a lookup").expect("a list of that name");
        let events = list.cast_into::<PyList>().expect("a list");
        assert!(events.len() > at_least, "{} {name} events", events.len());
        events.iter().for_each(|event| check(&event));
    });
}

/// An exact rendering of what a way gave: the event's `Debug` (which shows properties in
/// their order and tells `-0.0` from `0.0`) or the error with its class.
fn show(result: &PyResult<Event>) -> String {
    match result {
        Ok(event) => format!("{event:?}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn well_formed_events_are_read_the_fast_way_into_the_same_event() {
    each_event("good", 2_000, |obj| {
        let fast = well_formed(obj).unwrap_or_else(|| panic!("the fast way refuses {obj}"));
        let slow = checked(obj, None).unwrap_or_else(|e| panic!("the checked way refuses {obj}: {e}"));
        assert_eq!(fast, slow, "for {obj}");
        assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "for {obj}");
        assert_eq!(fast.to_json(), slow.to_json(), "for {obj}");
    });
}

#[test]
fn unusual_events_are_left_to_the_checked_way() {
    each_event("unusual", 3, |obj| {
        assert!(well_formed(obj).is_none(), "the fast way takes {obj}");
        let event = event_from_py(obj, Some(1)).unwrap_or_else(|e| panic!("{obj}: {e}"));
        assert_eq!(show(&Ok(event)), show(&checked(obj, Some(1))), "for {obj}");
    });
}

#[test]
fn bad_events_keep_their_errors() {
    each_event("bad", 20, |obj| {
        assert!(well_formed(obj).is_none(), "the fast way takes {obj:?}");
        for index in [None, Some(3)] {
            let slow = checked(obj, index);
            assert!(slow.is_err(), "the checked way takes {obj:?}: {}", show(&slow));
            assert_eq!(show(&event_from_py(obj, index)), show(&slow), "for {obj:?}");
        }
    });
}

#[test]
fn any_event_is_read_as_the_checked_way_reads_it() {
    let (mut fast, mut refused, mut total) = (0, 0, 0);
    each_event("changed", 20_000, |obj| {
        total += 1;
        let slow = checked(obj, Some(0));
        if let Some(event) = well_formed(obj) {
            assert_eq!(show(&Ok(event)), show(&slow), "for {obj:?}");
            fast += 1;
        }
        refused += usize::from(slow.is_err());
        assert_eq!(show(&event_from_py(obj, Some(0))), show(&slow), "for {obj:?}");
    });
    // Both kinds are there in numbers, and the fast way took every event the checked way
    // took (none of the odd values is an unusual but good one).
    assert!(fast > 2_000 && refused > 10_000, "{fast} fast, {refused} refused");
    assert_eq!(fast + refused, total, "good events left to the checked way");
}

#[test]
fn some_errors_are_pinned() {
    Python::initialize();
    Python::attach(|py| {
        let error = |code: &str| {
            let code = CString::new(format!("{{'ts': 1, 'keys': ['session:a'], 'event': 'v', 'channel': 'web', {code}}}")).expect("no NUL");
            let obj = py.eval(&code, None, None).expect("a dict");
            show(&event_from_py(&obj, Some(2)))
        };
        let bad_event = "BadEventError: bad event at index 2";
        assert_eq!(error("'ts': True"), format!("{bad_event}: ts: invalid type: boolean `true`, expected i64"));
        assert_eq!(error("'ts': 1.0"), format!("{bad_event}: ts: invalid type: floating point `1.0`, expected i64"));
        assert_eq!(error("'ts': 2**63"), format!("{bad_event}: ts: invalid value: integer `9223372036854775808`, expected i64"));
        assert_eq!(error("'ts': 2**64"), "ValueError: events[2][\"ts\"]: integer 18446744073709551616 is too large for JSON");
        assert_eq!(error("'rating': {'csat': 6}"), format!("{bad_event}: rating: csat rating 6 is out of range: expected an integer from 1 to 5"));
        assert_eq!(error("'keys': ('session:a', 'x')"), format!("{bad_event}: keys[1]: identity key \"x\" is not of the form kind:value (e.g. session:abc, email:ana@example.com)"));
        assert_eq!(error("'department': 5"), format!("{bad_event}: department: invalid type: integer `5`, expected a string"));
    });
}
