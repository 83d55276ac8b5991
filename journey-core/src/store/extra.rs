//! The rarely set parts of a profile record, for the stores that keep records in memory.

use serde_json::{Map, Value};

/// A profile's persona and attributes, boxed: most profiles have neither, so a record
/// holds 8 bytes here instead of 96 and spans fewer cache lines.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Extra(Option<Box<Parts>>);

#[derive(Debug, Default, Clone, PartialEq)]
struct Parts {
    persona: Option<String>,
    attributes: Map<String, Value>,
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

    /// Sets the persona, returning the one it replaced.
    pub fn set_persona(&mut self, persona: Option<String>) -> Option<String> {
        let old = std::mem::replace(&mut self.parts().persona, persona);
        self.unbox_if_empty();
        old
    }

    /// Sets the attributes, returning the ones they replaced.
    pub fn set_attributes(&mut self, attributes: Map<String, Value>) -> Map<String, Value> {
        let old = std::mem::replace(&mut self.parts().attributes, attributes);
        self.unbox_if_empty();
        old
    }

    fn parts(&mut self) -> &mut Parts {
        self.0.get_or_insert_with(Default::default)
    }

    /// Back to no box once both parts are empty again (a persona cleared, a set undone).
    fn unbox_if_empty(&mut self) {
        if self.0.as_ref().is_some_and(|p| p.persona.is_none() && p.attributes.is_empty()) {
            self.0 = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_and_clearing_leaves_no_box() {
        let mut extra = Extra::default();
        assert_eq!(extra.set_persona(Some("browser".into())), None);
        assert_eq!(extra.persona().map(String::as_str), Some("browser"));
        let attributes: Map<String, Value> = [("tier".to_string(), Value::from("gold"))].into_iter().collect();
        assert!(extra.set_attributes(attributes.clone()).is_empty());
        assert_eq!(extra.set_persona(None).as_deref(), Some("browser"));
        assert_eq!(extra.attributes(), Some(&attributes));
        assert_eq!(extra.set_attributes(Map::new()), attributes);
        assert_eq!(extra, Extra::default(), "both parts empty: unboxed");
        assert_eq!(Extra::new(None, Map::new()), Extra::default());
    }
}
