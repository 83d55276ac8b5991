//! A serde `Serializer` that builds plain Python objects directly: the same objects as
//! `serde_json::to_value` (with `preserve_order`) followed by a walk of the `Value`, without
//! the `Value` in between (the tests keep that walk as their reference).
//!
//! As serde_json does: non-finite floats are `None`, bytes are a list of ints, an enum
//! variant with data is a one-key dict, and map keys become strings (integers, bools,
//! chars and finite floats as their JSON text); any other key is an error.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::{self, Display};

use pyo3::exceptions::PyRuntimeError;
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString};
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde::ser::{self, Impossible, Serialize};

/// Any serialisable value as plain Python data (`None`, `bool`, `int`, `float`, `str`,
/// `list`, `dict`). A serde error is a `RuntimeError` ("cannot serialise: ...").
pub fn to_py<'py, T: ?Sized + Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    value.serialize(Serializer { py }).map_err(|e| match e {
        Error::Serde(message) => PyRuntimeError::new_err(format!("cannot serialise: {message}")),
        Error::Py(err) => err,
    })
}

/// Why a value could not be converted.
#[derive(Debug)]
pub enum Error {
    /// A serde error, with serde_json's message for the same case.
    Serde(String),
    /// Python failed to build an object.
    Py(PyErr),
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Serde(message) => f.write_str(message),
            Error::Py(err) => Display::fmt(err, f),
        }
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::Serde(msg.to_string())
    }
}

impl From<PyErr> for Error {
    fn from(err: PyErr) -> Self {
        Error::Py(err)
    }
}

type Result<T> = std::result::Result<T, Error>;

fn key_must_be_a_string() -> Error {
    Error::Serde("key must be a string".into())
}

/// The names cache: a name's address and length, and its Python string.
type Names = FxHashMap<(usize, usize), Py<PyString>>;

thread_local! {
    /// Python strings of the field and variant names serde gives (`&'static str`), made
    /// once: the same keys repeat in every result, and a shared string also keeps its
    /// hash. One cache a thread, without a lock (a lock was most of a look-up's time);
    /// the strings are interned, so the threads share them. At a thread's end, pyo3
    /// defers their release to the next time a thread attaches.
    static NAMES: RefCell<Names> = const { RefCell::new(HashMap::with_hasher(FxBuildHasher)) };
}

/// The Python string of a name serde gives, from the cache.
fn name<'py>(py: Python<'py>, name: &'static str) -> Bound<'py, PyString> {
    NAMES.with_borrow_mut(|names| {
        names.entry((name.as_ptr() as usize, name.len())).or_insert_with(|| PyString::intern(py, name).unbind()).bind(py).clone()
    })
}

/// `{variant: value}`, serde_json's form of an enum variant with data.
fn variant<'py>(py: Python<'py>, variant: &'static str, value: Bound<'py, PyAny>) -> Result<Bound<'py, PyAny>> {
    let dict = PyDict::new(py);
    dict.set_item(name(py, variant), value)?;
    Ok(dict.into_any())
}

/// The serializer; see the module's documentation.
#[derive(Clone, Copy)]
pub struct Serializer<'py> {
    py: Python<'py>,
}

impl<'py> Serializer<'py> {
    fn int(self, value: impl IntoPyObject<'py, Error = Infallible>) -> Result<Bound<'py, PyAny>> {
        Ok(value.into_bound_py_any(self.py)?)
    }

    fn float(self, value: f64) -> Result<Bound<'py, PyAny>> {
        Ok(if value.is_finite() { PyFloat::new(self.py, value).into_any() } else { self.py.None().into_bound(self.py) })
    }

    fn list(self, len: usize, variant: Option<&'static str>) -> Seq<'py> {
        Seq { py: self.py, items: Vec::with_capacity(len), variant }
    }

    fn dict(self, variant: Option<&'static str>) -> Map<'py> {
        Map { dict: PyDict::new(self.py), key: None, variant }
    }
}

impl<'py> ser::Serializer for Serializer<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    type SerializeSeq = Seq<'py>;
    type SerializeTuple = Seq<'py>;
    type SerializeTupleStruct = Seq<'py>;
    type SerializeTupleVariant = Seq<'py>;
    type SerializeMap = Map<'py>;
    type SerializeStruct = Map<'py>;
    type SerializeStructVariant = Map<'py>;

    fn serialize_bool(self, v: bool) -> Result<Self::Ok> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }
    fn serialize_i8(self, v: i8) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Self::Ok> {
        match (u64::try_from(v), i64::try_from(v)) {
            (Ok(u), _) => self.int(u),
            (_, Ok(i)) => self.int(i),
            _ => Err(Error::Serde("number out of range".into())),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Self::Ok> {
        u64::try_from(v).map_err(|_| Error::Serde("number out of range".into())).and_then(|u| self.int(u))
    }
    fn serialize_f32(self, v: f32) -> Result<Self::Ok> {
        self.float(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<Self::Ok> {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result<Self::Ok> {
        Ok(PyString::new(self.py, v.encode_utf8(&mut [0; 4])).into_any())
    }
    fn serialize_str(self, v: &str) -> Result<Self::Ok> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Self::Ok> {
        Ok(PyList::new(self.py, v)?.into_any())
    }
    fn serialize_none(self) -> Result<Self::Ok> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Self::Ok> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<Self::Ok> {
        Ok(name(self.py, variant).into_any())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _name: &'static str, value: &T) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(self, _name: &'static str, _index: u32, v: &'static str, value: &T) -> Result<Self::Ok> {
        variant(self.py, v, value.serialize(self)?)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'py>> {
        Ok(self.list(len.unwrap_or(0), None))
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'py>> {
        Ok(self.list(len, None))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq<'py>> {
        Ok(self.list(len, None))
    }
    fn serialize_tuple_variant(self, _name: &'static str, _index: u32, v: &'static str, len: usize) -> Result<Seq<'py>> {
        Ok(self.list(len, Some(v)))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Map<'py>> {
        Ok(self.dict(None))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Map<'py>> {
        Ok(self.dict(None))
    }
    fn serialize_struct_variant(self, _name: &'static str, _index: u32, v: &'static str, _len: usize) -> Result<Map<'py>> {
        Ok(self.dict(Some(v)))
    }
}

/// A list being built (a sequence, a tuple, or a tuple variant's fields).
pub struct Seq<'py> {
    py: Python<'py>,
    items: Vec<Bound<'py, PyAny>>,
    variant: Option<&'static str>,
}

impl<'py> Seq<'py> {
    fn push<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.items.push(value.serialize(Serializer { py: self.py })?);
        Ok(())
    }

    fn finish(self) -> Result<Bound<'py, PyAny>> {
        let list = PyList::new(self.py, self.items)?.into_any();
        match self.variant {
            Some(v) => variant(self.py, v, list),
            None => Ok(list),
        }
    }
}

/// Implements one of serde's compound traits for `Seq` or `Map`: each item goes to the
/// type's own method (`push`, `field`), and `end` is its `finish`.
macro_rules! compound {
    ($ty:ident: $($trait:ident::$method:ident($($key:ident: $key_ty:ty)?) => $own:ident),+) => {$(
        impl<'py> ser::$trait for $ty<'py> {
            type Ok = Bound<'py, PyAny>;
            type Error = Error;
            fn $method<T: ?Sized + Serialize>(&mut self, $($key: $key_ty,)? value: &T) -> Result<()> {
                self.$own($($key,)? value)
            }
            fn end(self) -> Result<Self::Ok> {
                self.finish()
            }
        }
    )+};
}

compound!(Seq:
    SerializeSeq::serialize_element() => push,
    SerializeTuple::serialize_element() => push,
    SerializeTupleStruct::serialize_field() => push,
    SerializeTupleVariant::serialize_field() => push
);

/// A dict being built (a map, a struct, or a struct variant's fields). A repeated key
/// keeps its first place and takes the last value, as serde_json's ordered map does.
pub struct Map<'py> {
    dict: Bound<'py, PyDict>,
    key: Option<Bound<'py, PyString>>,
    variant: Option<&'static str>,
}

impl<'py> Map<'py> {
    fn field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<()> {
        let py = self.dict.py();
        Ok(self.dict.set_item(name(py, key), value.serialize(Serializer { py })?)?)
    }

    fn finish(self) -> Result<Bound<'py, PyAny>> {
        match self.variant {
            Some(v) => variant(self.dict.py(), v, self.dict.into_any()),
            None => Ok(self.dict.into_any()),
        }
    }
}

impl<'py> ser::SerializeMap for Map<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<()> {
        self.key = Some(key.serialize(KeySerializer { py: self.dict.py() })?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        let key = self.key.take().ok_or_else(|| Error::Serde("serialize_value called before serialize_key".into()))?;
        Ok(self.dict.set_item(key, value.serialize(Serializer { py: self.dict.py() })?)?)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

compound!(Map:
    SerializeStruct::serialize_field(key: &'static str) => field,
    SerializeStructVariant::serialize_field(key: &'static str) => field
);

/// Map keys as Python strings, by serde_json's `MapKeySerializer` rules.
struct KeySerializer<'py> {
    py: Python<'py>,
}

impl<'py> KeySerializer<'py> {
    fn text(self, v: impl Display) -> Result<Bound<'py, PyString>> {
        Ok(PyString::new(self.py, &v.to_string()))
    }

    /// A finite float as serde_json writes it (the same formatter as its key serializer).
    fn float(self, v: impl Serialize, finite: bool) -> Result<Bound<'py, PyString>> {
        if !finite {
            return Err(Error::Serde("float key must be finite (got NaN or +/-inf)".into()));
        }
        let text = serde_json::to_string(&v).map_err(|e| Error::Serde(e.to_string()))?;
        Ok(PyString::new(self.py, &text))
    }
}

impl<'py> ser::Serializer for KeySerializer<'py> {
    type Ok = Bound<'py, PyString>;
    type Error = Error;
    type SerializeSeq = Impossible<Self::Ok, Error>;
    type SerializeTuple = Impossible<Self::Ok, Error>;
    type SerializeTupleStruct = Impossible<Self::Ok, Error>;
    type SerializeTupleVariant = Impossible<Self::Ok, Error>;
    type SerializeMap = Impossible<Self::Ok, Error>;
    type SerializeStruct = Impossible<Self::Ok, Error>;
    type SerializeStructVariant = Impossible<Self::Ok, Error>;

    fn serialize_str(self, v: &str) -> Result<Self::Ok> {
        Ok(PyString::new(self.py, v))
    }
    fn serialize_char(self, v: char) -> Result<Self::Ok> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_bool(self, v: bool) -> Result<Self::Ok> {
        self.text(v)
    }
    fn serialize_i8(self, v: i8) -> Result<Self::Ok> {
        self.text(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Self::Ok> {
        self.text(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Self::Ok> {
        self.text(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Self::Ok> {
        self.text(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Self::Ok> {
        self.text(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Self::Ok> {
        self.text(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Self::Ok> {
        self.text(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Self::Ok> {
        self.text(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Self::Ok> {
        self.text(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Self::Ok> {
        self.text(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Self::Ok> {
        self.float(v, v.is_finite())
    }
    fn serialize_f64(self, v: f64) -> Result<Self::Ok> {
        self.float(v, v.is_finite())
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<Self::Ok> {
        Ok(name(self.py, variant))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _name: &'static str, value: &T) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Self::Ok> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<Self::Ok> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _value: &T) -> Result<Self::Ok> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<Self::Ok> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(self, _name: &'static str, _index: u32, _v: &'static str, _value: &T) -> Result<Self::Ok> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(self, _name: &'static str, _index: u32, _v: &'static str, _len: usize) -> Result<Self::SerializeTupleVariant> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(self, _name: &'static str, _index: u32, _v: &'static str, _len: usize) -> Result<Self::SerializeStructVariant> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};
    use std::fmt::Debug;

    use journey_core::analytics::{Analysis, AnalysisOptions, EmotionOptions, PathsOptions, ReportOptions};
    use journey_core::{Event, IdentityKey, MapDocument, Tracker, TrackerConfig};
    use serde::Serialize;
    use serde::ser::{Error as _, SerializeMap};
    use serde_json::{Value, json};

    use super::*;

    /// The path `serialize_to_py` took before: `serde_json::to_value`, then `json_to_py`.
    fn reference<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
        let json = serde_json::to_value(value).map_err(|e| PyRuntimeError::new_err(format!("cannot serialise: {e}")))?;
        json_to_py(py, &json)
    }

    /// The walk of a JSON value into Python objects that results took before this
    /// serializer: the reference it is checked against.
    fn json_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
        Ok(match value {
            Value::Null => py.None().into_bound(py),
            Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => i.into_pyobject(py)?.into_any(),
                (None, Some(u)) => u.into_pyobject(py)?.into_any(),
                _ => PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any(),
            },
            Value::String(s) => PyString::new(py, s).into_any(),
            Value::Array(items) => {
                let list = PyList::empty(py);
                for item in items {
                    list.append(json_to_py(py, item)?)?;
                }
                list.into_any()
            }
            Value::Object(map) => {
                let dict = PyDict::new(py);
                for (key, item) in map {
                    dict.set_item(key, json_to_py(py, item)?)?;
                }
                dict.into_any()
            }
        })
    }

    /// An exact rendering: `repr` tells `True` from `1` from `1.0`, a list from a tuple,
    /// and shows dict keys in their order.
    fn show(result: PyResult<Bound<'_, PyAny>>) -> String {
        match result {
            Ok(obj) => obj.repr().expect("repr").to_string(),
            Err(err) => err.to_string(),
        }
    }

    /// Both paths give the same objects, or the same error; returns that, to check
    /// what both give where it matters.
    fn same(value: &(impl Serialize + Debug)) -> String {
        Python::initialize();
        Python::attach(|py| {
            let (new, old) = (show(to_py(py, value)), show(reference(py, value)));
            assert_eq!(new, old, "for {value:?}");
            new
        })
    }

    #[derive(Debug, Serialize)]
    enum Kind {
        Unit,
        Newtype(i32),
        Tuple(u8, String),
        Struct { a: Option<f64>, b: Vec<Kind> },
    }

    #[derive(Debug, Serialize)]
    struct UnitStruct;

    #[derive(Debug, Serialize)]
    struct Newtype(Value);

    #[derive(Debug, Serialize)]
    struct TupleStruct(i8, char, ());

    #[derive(Debug, Serialize)]
    #[serde(tag = "type")]
    enum Tagged {
        A { x: u32 },
        B(BTreeMap<String, i32>),
    }

    #[derive(Debug, Serialize)]
    struct Flattened {
        first: u8,
        #[serde(flatten)]
        rest: BTreeMap<String, Value>,
        last: u8,
    }

    /// Bytes through `serialize_bytes` (a `Vec<u8>` is a sequence).
    #[derive(Debug)]
    struct Bytes(&'static [u8]);

    impl Serialize for Bytes {
        fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    /// A map with any keys, in this order (repeats included).
    #[derive(Debug)]
    struct Entries<K, V>(Vec<(K, V)>);

    impl<K: Serialize, V: Serialize> Serialize for Entries<K, V> {
        fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                map.serialize_entry(k, v)?;
            }
            map.end()
        }
    }

    /// A value whose `Serialize` fails with a message of its own.
    #[derive(Debug)]
    struct Fails;

    impl Serialize for Fails {
        fn serialize<S: ser::Serializer>(&self, _: S) -> std::result::Result<S::Ok, S::Error> {
            Err(S::Error::custom("no form for this"))
        }
    }

    #[test]
    fn scalars_are_the_same() {
        assert_eq!(same(&(true, false, i8::MIN, i16::MIN, i32::MIN, i64::MIN, u8::MAX, u16::MAX, u32::MAX, u64::MAX)), "[True, False, -128, -32768, -2147483648, -9223372036854775808, 255, 65535, 4294967295, 18446744073709551615]");
        assert_eq!(same(&(i128::from(u64::MAX), -1i128, i128::from(i64::MIN), u128::from(u64::MAX), 0u128)), "[18446744073709551615, -1, -9223372036854775808, 18446744073709551615, 0]");
        assert_eq!(same(&i128::MAX), same(&u128::MAX));
        assert_eq!(same(&(i128::from(i64::MIN) - 1)), "RuntimeError: cannot serialise: number out of range");
        assert_eq!(same(&(0.1f32, 0.1f64, -0.0f64, 1e300, f64::MIN_POSITIVE, 5e-324, 1.0f64, 3.0f32)), "[0.10000000149011612, 0.1, -0.0, 1e+300, 2.2250738585072014e-308, 5e-324, 1.0, 3.0]");
        assert_eq!(same(&(f64::NAN, f64::INFINITY, f32::NEG_INFINITY, f32::NAN)), "[None, None, None, None]");
        assert_eq!(same(&('a', 'é', '\0', '😀', "", "日本\"\n\\", String::from("x"))), r#"['a', 'é', '\x00', '😀', '', '日本"\n\\', 'x']"#);
        assert_eq!(same(&Bytes(b"\x00\xffab")), "[0, 255, 97, 98]");
        assert_eq!(same(&Bytes(b"")), "[]");
        assert_eq!(same(&((), UnitStruct, None::<i32>, Some(Some(1)), Some(None::<i32>))), "[None, None, None, 1, None]");
    }

    #[test]
    fn enums_structs_and_sequences_are_the_same() {
        let kinds = vec![
            Kind::Unit,
            Kind::Newtype(-7),
            Kind::Tuple(1, "é".into()),
            Kind::Struct { a: None, b: vec![] },
            Kind::Struct { a: Some(f64::NAN), b: vec![Kind::Unit, Kind::Struct { a: Some(2.5), b: vec![Kind::Newtype(0)] }] },
        ];
        assert_eq!(
            same(&kinds),
            "['Unit', {'Newtype': -7}, {'Tuple': [1, 'é']}, {'Struct': {'a': None, 'b': []}}, {'Struct': {'a': None, 'b': ['Unit', {'Struct': {'a': 2.5, 'b': [{'Newtype': 0}]}}]}}]"
        );
        assert_eq!(same(&(Newtype(json!({"k": [1, 2.0]})), TupleStruct(-1, 'z', ()), ((), ()), Vec::<Vec<u8>>::new(), vec![vec![1u8]])), "[{'k': [1, 2.0]}, [-1, 'z', None], [None, None], [], [[1]]]");
        same(&(Tagged::A { x: 1 }, Tagged::B(BTreeMap::from([("k".into(), 2)]))));
        let rest = BTreeMap::from([("middle".into(), json!(null)), ("first".into(), json!("again"))]);
        assert_eq!(same(&Flattened { first: 1, rest, last: 2 }), "{'first': 'again', 'middle': None, 'last': 2}");
        assert_eq!(same(&(Fails,)), "RuntimeError: cannot serialise: no form for this");
        assert_eq!(same(&BTreeMap::from([("a", vec![Fails])])), "RuntimeError: cannot serialise: no form for this");
    }

    /// Each thread has its own cache of names, released when the thread ends: threads
    /// that come and go share the same interned strings with the others.
    #[test]
    fn names_are_the_same_across_threads() {
        let value = || Kind::Struct { a: Some(1.0), b: vec![Kind::Unit] };
        Python::initialize();
        let first = same(&value());
        fn unit(py: Python<'_>) -> Py<PyAny> {
            to_py(py, &Kind::Unit).expect("a str").unbind()
        }
        let here = Python::attach(unit);
        for _ in 0..4 {
            let (again, there) = std::thread::spawn(move || (same(&value()), Python::attach(unit))).join().expect("the thread ends");
            assert_eq!(again, first);
            Python::attach(|py| assert!(here.bind(py).is(there.bind(py)), "the same interned string"));
        }
    }

    #[test]
    fn map_keys_are_the_same() {
        assert_eq!(same(&BTreeMap::from([(-3i64, 'a'), (i64::MAX, 'b')])), "{'-3': 'a', '9223372036854775807': 'b'}");
        assert_eq!(same(&BTreeMap::from([(u128::MAX, 0)])), "{'340282366920938463463374607431768211455': 0}");
        assert_eq!(same(&BTreeMap::from([(i128::MIN, 0), (i128::from(u8::MAX), 1)])), "{'-170141183460469231731687303715884105728': 0, '255': 1}");
        assert_eq!(same(&BTreeMap::from([(true, 1), (false, 0)])), "{'false': 0, 'true': 1}");
        assert_eq!(same(&BTreeMap::from([('é', 1), ('\n', 2)])), "{'\\n': 2, 'é': 1}");
        same(&HashMap::from([(1u8, ()), (2, ()), (200, ()), (7, ())]));
        let floats = Entries(vec![(1.0, 1), (0.1, 2), (-0.0, 3), (1e300, 4), (1e-7, 5), (123456789.0, 6), (f64::MAX, 7)]);
        assert_eq!(same(&floats), "{'1.0': 1, '0.1': 2, '-0.0': 3, '1e+300': 4, '1e-7': 5, '123456789.0': 6, '1.7976931348623157e+308': 7}");
        assert_eq!(same(&Entries(vec![(0.1f32, 1), (16777216.0f32, 2)])), "{'0.1': 1, '16777216.0': 2}");
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(same(&Entries(vec![(bad, 1)])), "RuntimeError: cannot serialise: float key must be finite (got NaN or +/-inf)");
        }
        assert_eq!(same(&Entries(vec![(f32::NAN, 1)])), same(&Entries(vec![(f64::NAN, 1)])));
        assert_eq!(same(&Entries(vec![(Kind::Unit, 1)])), "{'Unit': 1}");
        assert_eq!(same(&Entries(vec![(Newtype(json!("inner")), 1)])), "{'inner': 1}");
        assert_eq!(same(&Entries(vec![("a", 1), ("b", 2), ("a", 3)])), "{'a': 3, 'b': 2}");
        let not_strings = [
            same(&Entries(vec![(None::<i32>, 1)])),
            same(&Entries(vec![(Some("a"), 1)])),
            same(&Entries(vec![((), 1)])),
            same(&Entries(vec![(UnitStruct, 1)])),
            same(&Entries(vec![(Bytes(b"a"), 1)])),
            same(&Entries(vec![(vec!["a"], 1)])),
            same(&Entries(vec![(("a",), 1)])),
            same(&Entries(vec![(TupleStruct(1, 'a', ()), 1)])),
            same(&Entries(vec![(Kind::Newtype(1), 1)])),
            same(&Entries(vec![(Kind::Tuple(1, "a".into()), 1)])),
            same(&Entries(vec![(Kind::Struct { a: None, b: vec![] }, 1)])),
            same(&Entries(vec![(BTreeMap::from([("a", 1)]), 1)])),
            same(&Entries(vec![(Tagged::A { x: 1 }, 1)])),
            same(&Entries(vec![(json!(null), 1)])),
        ];
        for message in not_strings {
            assert_eq!(message, "RuntimeError: cannot serialise: key must be a string");
        }
        assert_eq!(same(&Entries(vec![(json!("k"), json!(1)), (json!(2), json!(3)), (json!(1.5), json!(4))])), "{'k': 1, '2': 3, '1.5': 4}");
    }

    #[test]
    fn json_values_are_the_same_as_the_walk() {
        let value = json!({
            "null": null, "t": true, "f": false, "zero": 0, "i64_min": i64::MIN, "i64_max": i64::MAX, "u64_max": u64::MAX,
            "float": 1.0, "tiny": 5e-324, "neg": -2.5, "big": 1e300,
            "empty": {}, "none": [], "nested": [[[]], {"a": {"b": [1, "x", null]}}],
            "é": "ü", "日本": "😀", "quote\"\n": "\u{0}", "": "",
        });
        same(&value);
        same(&Value::Array(vec![value.clone(), json!([]), json!({}), json!("s"), json!(-1)]));
        Python::attach(|py| {
            let direct = to_py(py, &value).expect("converts");
            let old = json_to_py(py, &value).expect("converts");
            assert!(direct.eq(&old).expect("compares"));
        });
    }

    const T0: i64 = 1_736_121_600_000_000;
    const MIN: i64 = 60_000_000;

    fn shop() -> MapDocument {
        MapDocument::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/maps/shop.json")).expect("the shop map loads")
    }

    fn events() -> Vec<Event> {
        let e = |n: i64, key: &str, name: &str, extra: Value| {
            let mut v = json!({"ts": T0 + n * MIN, "keys": [key], "event": name, "channel": "web"});
            v.as_object_mut().expect("an object").extend(extra.as_object().expect("an object").clone());
            Event::from_value(v).expect("a good event")
        };
        vec![
            e(0, "session:a", "product_view", json!({"properties": {"product": "é-shoe", "price": 19.9, "n": u64::MAX}})),
            e(1, "session:a", "add_to_cart", json!({"rating": {"csat": 4}})),
            e(2, "session:a", "remove_from_cart", json!({})),
            e(3, "session:b", "product_view", json!({"keys": ["session:b", "email:b@example.com"], "department": "sales"})),
            e(4, "email:b@example.com", "add_to_cart", json!({"rating": {"nps": 2}, "properties": {"tags": [], "meta": {}}})),
            e(5, "customer:1", "product_view", json!({"keys": ["customer:1", "session:c"]})),
            e(6, "customer:2", "product_view", json!({"keys": ["customer:2", "session:c"]})),
            e(40, "session:a", "product_view", json!({})),
        ]
    }

    #[test]
    fn tracking_results_are_the_same() {
        let doc = shop();
        same(&doc);
        let tracker = Tracker::new(&doc, TrackerConfig::default()).expect("a tracker");
        same(tracker.config());
        let tracked = tracker.track_batch(events()).expect("tracked");
        same(&tracked);
        let missed = tracker.advance(T0 + 120 * MIN).expect("advanced");
        same(&missed);
        let fired: Vec<_> = tracked.iter().flat_map(|t| &t.actions).chain(&missed).collect();
        assert!(fired.iter().any(|a| a.why.deadline.is_none()), "a waypoint was reached");
        assert!(fired.iter().any(|a| a.why.deadline.is_some()), "a deadline fell due");
        same(&serde_json::to_value(&missed).expect("a value"));
        assert!(!tracker.conflicts().expect("conflicts").is_empty(), "an identity conflict");
        for key in ["session:a", "email:b@example.com", "session:c", "session:none"] {
            let key = IdentityKey::parse(key).expect("a key");
            same(&tracker.context(&key).expect("a context"));
            same(&tracker.journey(&key).expect("a journey"));
            same(&tracker.link_log(&key).expect("a link log"));
        }
        same(&tracker.pending_actions(100).expect("pending actions"));
        same(&tracker.conflicts().expect("conflicts"));
    }

    #[test]
    fn analytics_results_are_the_same() {
        let doc = shop();
        let analysis = Analysis::from_events_and_links(&doc, &events(), &[], AnalysisOptions::default()).expect("an analysis");
        same(&analysis.reach());
        same(&analysis.paths(&PathsOptions::default()));
        same(&analysis.emotion(&EmotionOptions { min_count: 1, ..EmotionOptions::default() }));
        same(&analysis.report(&ReportOptions::default()).expect("a report"));
    }
}
