//! Shared copies of the waypoint names stores keep per profile.

use std::sync::Arc;

use hashbrown::HashSet;
use rustc_hash::FxBuildHasher;

/// One shared copy of each waypoint name: a profile's list of when each waypoint last
/// fired points into the same few strings (hot in the cache) instead of a copy each, so
/// checking a cap does not chase a cold string per profile.
#[derive(Default)]
pub(crate) struct Names(HashSet<Arc<str>, FxBuildHasher>);

impl Names {
    /// The shared copy of `name`, made on first use.
    pub fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(name) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(name);
        self.0.insert(shared.clone());
        shared
    }
}
