//! The rarely set parts of a profile record, for the stores that keep records in memory.

use serde_json::{Map, Value};

/// A profile's persona and attributes, boxed: most profiles have neither, so a record
/// holds 8 bytes here instead of 96 and spans fewer cache lines.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Extra(Option<Box<Parts>>);

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Parts {
    pub persona: Option<String>,
    pub attributes: Map<String, Value>,
}

impl Extra {
    /// Holds nothing (no box) when there is no persona and no attribute.
    pub fn new(persona: Option<String>, attributes: Map<String, Value>) -> Self {
        if persona.is_none() && attributes.is_empty() { Extra(None) } else { Extra(Some(Box::new(Parts { persona, attributes }))) }
    }

    pub fn persona(&self) -> Option<&String> {
        self.0.as_ref()?.persona.as_ref()
    }

    pub fn attributes(&self) -> Option<&Map<String, Value>> {
        self.0.as_ref().map(|p| &p.attributes)
    }

    /// The parts, made empty on first write.
    pub fn parts(&mut self) -> &mut Parts {
        self.0.get_or_insert_with(Default::default)
    }
}
