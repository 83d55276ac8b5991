//! The columnar event table the analytics run on.
//!
//! One row per event, in arrival order, as parallel columns of integers: time, arrival
//! sequence, identity key, event name, channel, department (interned `u32` ids, [`NONE`]
//! for null) and the normalised rating (an `i16` in units of 1/10 000, [`NO_RATING`] for
//! none). Identity links (key, key, time) live beside the events and share the key ids.
//!
//! Ratings keep every scale exact: CSAT `(x - 3) / 2`, NPS `(x - 5) / 5` and labels are
//! multiples of 1/10 000; a raw score is rounded to 4 decimals. Sums of ratings are therefore
//! exact integers, and every published mean is one correctly rounded division.

use crate::emotion::{Rating, Scale};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::time::Micros;

use super::intern::{Interner, NONE};

/// The rating column's value for "no rating".
pub const NO_RATING: i16 = i16::MIN;
/// The unit of the rating column: a stored rating `r` is the normalised emotion `r / RATING_UNIT`.
pub const RATING_UNIT: i64 = 10_000;

/// Converts a normalised emotion in `[-1, 1]` to the rating column's units.
pub fn quantize_rating(normalised: f64) -> i16 {
    (normalised * RATING_UNIT as f64).round() as i16
}

/// Identity links given apart from events: (key, key, time), key ids shared with the events.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// One side of each link.
    pub a: Vec<u32>,
    /// The other side.
    pub b: Vec<u32>,
    /// When the link was made (microseconds); used only when identity limits apply.
    pub ts: Vec<Micros>,
}

impl Links {
    /// The number of links.
    pub fn len(&self) -> usize {
        self.a.len()
    }

    /// Whether there is no link.
    pub fn is_empty(&self) -> bool {
        self.a.is_empty()
    }
}

/// Events as columns (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct EventTable {
    ts: Vec<Micros>,
    seq: Vec<u64>,
    key: Vec<u32>,
    name: Vec<u32>,
    channel: Vec<u32>,
    department: Vec<u32>,
    rating: Vec<i16>,
    keys: Interner,
    names: Interner,
    channels: Interner,
    departments: Interner,
    extra_keys: Vec<(u32, u32)>,
    links: Links,
    scales: u8,
}

fn scale_bit(s: Scale) -> u8 {
    match s {
        Scale::Label => 1,
        Scale::Csat => 2,
        Scale::Nps => 4,
        Scale::Score => 8,
    }
}

/// The scales of a bit set (see [`EventTable::rating_scales`]), in a fixed order.
pub(crate) fn scales_of_bits(bits: u8) -> Vec<Scale> {
    [Scale::Label, Scale::Csat, Scale::Nps, Scale::Score].into_iter().filter(|s| bits & scale_bit(*s) != 0).collect()
}

impl EventTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty table with room for `events` events.
    pub fn with_capacity(events: usize) -> Self {
        EventTable {
            ts: Vec::with_capacity(events),
            seq: Vec::with_capacity(events),
            key: Vec::with_capacity(events),
            name: Vec::with_capacity(events),
            channel: Vec::with_capacity(events),
            department: Vec::with_capacity(events),
            rating: Vec::with_capacity(events),
            ..Self::default()
        }
    }

    /// Builds a table from events; an event's `seq` is its position in the iterator.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Result<Self> {
        let mut t = EventTable::new();
        for (i, e) in events.into_iter().enumerate() {
            let keys: Vec<&str> = e.keys.iter().map(|k| k.as_str()).collect();
            t.push(e.ts, i as u64, &keys, &e.name, e.channel.as_str(), e.department.as_ref().map(|d| d.as_str()), e.rating)
                .map_err(|err| match err {
                    Error::BadEvent { field, message, .. } => Error::BadEvent { index: Some(i), field, message },
                    other => other,
                })?;
        }
        Ok(t)
    }

    /// Appends one event. `keys` must not be empty (the first is the event's key, the others
    /// are linked to it); the rating is checked against its scale.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        ts: Micros,
        seq: u64,
        keys: &[&str],
        name: &str,
        channel: &str,
        department: Option<&str>,
        rating: Option<Rating>,
    ) -> Result<()> {
        let Some((first, others)) = keys.split_first() else {
            return Err(Error::BadEvent { index: None, field: "keys".into(), message: "an event needs at least one identity key".into() });
        };
        let r = match rating {
            None => NO_RATING,
            Some(r) => {
                let e = r.normalize()?;
                self.scales |= scale_bit(r.scale());
                quantize_rating(e.value())
            }
        };
        let row = self.ts.len() as u32;
        self.ts.push(ts);
        self.seq.push(seq);
        self.key.push(self.keys.intern(first));
        for k in others {
            let id = self.keys.intern(k);
            self.extra_keys.push((row, id));
        }
        self.name.push(self.names.intern(name));
        self.channel.push(self.channels.intern(channel));
        self.department.push(department.map_or(NONE, |d| self.departments.intern(d)));
        self.rating.push(r);
        Ok(())
    }

    /// Adds an identity link between two keys, made at `ts`.
    pub fn push_link(&mut self, a: &str, b: &str, ts: Micros) {
        let a = self.keys.intern(a);
        let b = self.keys.intern(b);
        self.links.a.push(a);
        self.links.b.push(b);
        self.links.ts.push(ts);
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Whether there is no event.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Event times (microseconds since the Unix epoch, UTC).
    pub fn ts(&self) -> &[Micros] {
        &self.ts
    }
    /// Arrival sequence numbers.
    pub fn seq(&self) -> &[u64] {
        &self.seq
    }
    /// Each event's (first) identity key id, into [`Self::keys`].
    pub fn key(&self) -> &[u32] {
        &self.key
    }
    /// Each event's name id, into [`Self::names`].
    pub fn name(&self) -> &[u32] {
        &self.name
    }
    /// Each event's channel id, into [`Self::channels`] ([`NONE`] when unknown).
    pub fn channel(&self) -> &[u32] {
        &self.channel
    }
    /// Each event's own department id, into [`Self::departments`] ([`NONE`] when not given).
    pub fn department(&self) -> &[u32] {
        &self.department
    }
    /// Each event's rating in units of 1/[`RATING_UNIT`] ([`NO_RATING`] when none).
    pub fn rating(&self) -> &[i16] {
        &self.rating
    }
    /// The identity keys.
    pub fn keys(&self) -> &Interner {
        &self.keys
    }
    /// The raw event names.
    pub fn names(&self) -> &Interner {
        &self.names
    }
    /// The channels.
    pub fn channels(&self) -> &Interner {
        &self.channels
    }
    /// The departments given on events.
    pub fn departments(&self) -> &Interner {
        &self.departments
    }
    /// Further keys carried by events: (row, key id); each is linked to the row's key.
    pub fn extra_keys(&self) -> &[(u32, u32)] {
        &self.extra_keys
    }
    /// The identity links given apart from events.
    pub fn links(&self) -> &Links {
        &self.links
    }
    /// The scales the ratings were given in.
    pub fn rating_scales(&self) -> Vec<Scale> {
        scales_of_bits(self.scales)
    }
    /// The scales the ratings were given in, as a bit set (merged by `|` across partial states).
    pub(crate) fn rating_scale_bits(&self) -> u8 {
        self.scales
    }
    /// The latest event time, if any event.
    pub fn max_ts(&self) -> Option<Micros> {
        self.ts.iter().copied().max()
    }

    #[cfg(feature = "arrow")]
    /// Records that ratings of this scale were loaded (for column builders).
    pub(crate) fn note_scale(&mut self, s: Scale) {
        self.scales |= scale_bit(s);
    }

    #[cfg(feature = "arrow")]
    /// Raw column access for builders in this module tree.
    #[allow(clippy::type_complexity)]
    pub(crate) fn columns_mut(
        &mut self,
    ) -> (&mut Vec<Micros>, &mut Vec<u64>, &mut Vec<u32>, &mut Vec<u32>, &mut Vec<u32>, &mut Vec<u32>, &mut Vec<i16>) {
        (&mut self.ts, &mut self.seq, &mut self.key, &mut self.name, &mut self.channel, &mut self.department, &mut self.rating)
    }

    #[cfg(feature = "arrow")]
    /// The interners, mutably, for column builders: keys, names, channels, departments.
    pub(crate) fn interners_mut(&mut self) -> (&mut Interner, &mut Interner, &mut Interner, &mut Interner) {
        (&mut self.keys, &mut self.names, &mut self.channels, &mut self.departments)
    }

    #[cfg(feature = "arrow")]
    /// Links, mutably, for column builders.
    pub(crate) fn links_mut(&mut self) -> &mut Links {
        &mut self.links
    }

    /// Appends every event and link of `other` after this table's (ids are remapped).
    pub fn append(&mut self, other: EventTable) {
        let km = self.keys.absorb(&other.keys);
        let nm = self.names.absorb(&other.names);
        let cm = self.channels.absorb(&other.channels);
        let dm = self.departments.absorb(&other.departments);
        let map = |m: &[u32], v: u32| if v == NONE { NONE } else { m[v as usize] };
        let base = self.ts.len() as u32;
        self.ts.extend_from_slice(&other.ts);
        self.seq.extend_from_slice(&other.seq);
        self.key.extend(other.key.iter().map(|&k| map(&km, k)));
        self.name.extend(other.name.iter().map(|&k| map(&nm, k)));
        self.channel.extend(other.channel.iter().map(|&k| map(&cm, k)));
        self.department.extend(other.department.iter().map(|&k| map(&dm, k)));
        self.rating.extend_from_slice(&other.rating);
        self.extra_keys.extend(other.extra_keys.iter().map(|&(r, k)| (r + base, map(&km, k))));
        self.links.a.extend(other.links.a.iter().map(|&k| map(&km, k)));
        self.links.b.extend(other.links.b.iter().map(|&k| map(&km, k)));
        self.links.ts.extend_from_slice(&other.links.ts);
        self.scales |= other.scales;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityKey;

    #[test]
    fn builds_from_events() {
        let k = |s: &str| IdentityKey::parse(s).unwrap();
        let events = [
            Event::new(10, k("session:a"), "view", "web").with_rating(Rating::Csat(2)),
            Event::new(5, k("session:b"), "call", "phone").with_key(k("phone:+1")).with_department("support"),
        ];
        let t = EventTable::from_events(&events).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.seq(), &[0, 1]);
        assert_eq!(t.rating(), &[-5000, NO_RATING]);
        assert_eq!(t.extra_keys(), &[(1, 2)]);
        assert_eq!(t.department(), &[NONE, 0]);
        assert_eq!(t.rating_scales(), vec![Scale::Csat]);
        let mut u = EventTable::new();
        u.push(1, 7, &["session:b"], "view", "web", None, None).unwrap();
        u.push_link("session:b", "email:x", 3);
        let mut all = t.clone();
        all.append(u);
        assert_eq!(all.key(), &[0, 1, 1]);
        assert_eq!(all.name(), &[0, 1, 0]);
        assert_eq!(all.links().a, vec![1]);
        assert_eq!(all.keys().get(all.links().b[0]), "email:x");
    }
}
