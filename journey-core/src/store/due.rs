//! Armed deadlines by due time, earliest first: a 4-ary min-heap.
//!
//! A pop moves a hole from the root to a leaf and back up. With four children per node
//! the path is half as long as a binary heap's (7 levels for 20,000 deadlines, not 14),
//! and the four children of a node are adjacent in memory, so each level costs about one
//! cache miss instead of one per level of a binary heap twice as deep. Popping the front
//! is what every tracked event may do (deadlines falling due, stale entries pruned).

/// Children per node.
const D: usize = 4;

/// A min-heap: [`DueHeap::peek`] and [`DueHeap::pop`] give the least item.
#[derive(Debug, Clone)]
pub(crate) struct DueHeap<T> {
    items: Vec<T>,
}

impl<T> Default for DueHeap<T> {
    fn default() -> Self {
        DueHeap { items: Vec::new() }
    }
}

impl<T: Ord> DueHeap<T> {
    /// The least item.
    pub fn peek(&self) -> Option<&T> {
        self.items.first()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The items, in no particular order.
    #[cfg(test)]
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// Adds an item.
    pub fn push(&mut self, item: T) {
        self.items.push(item);
        self.sift_up(self.items.len() - 1);
    }

    /// Removes and returns the least item.
    pub fn pop(&mut self) -> Option<T> {
        let last = self.items.pop()?;
        if self.items.is_empty() {
            return Some(last);
        }
        let least = std::mem::replace(&mut self.items[0], last);
        // The hole goes down to a leaf along the least children, then the item moved into
        // it from the end goes back up: fewer comparisons than stopping on the way down,
        // as that item, from the bottom, almost always belongs near the bottom again.
        let end = self.items.len();
        let mut at = 0;
        while let Some(child) = self.least_child(at, end) {
            self.items.swap(at, child);
            at = child;
        }
        self.sift_up(at);
        Some(least)
    }

    /// The least child of `at` among the items before `end`, if it has any.
    fn least_child(&self, at: usize, end: usize) -> Option<usize> {
        let first = D * at + 1;
        if first >= end {
            return None;
        }
        let mut least = first;
        for child in first + 1..(first + D).min(end) {
            if self.items[child] < self.items[least] {
                least = child;
            }
        }
        Some(least)
    }

    fn sift_up(&mut self, mut at: usize) {
        while at > 0 {
            let parent = (at - 1) / D;
            if self.items[at] >= self.items[parent] {
                break;
            }
            self.items.swap(at, parent);
            at = parent;
        }
    }
}

impl<T: Ord> FromIterator<T> for DueHeap<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut heap = DueHeap { items: items.into_iter().collect() };
        // Floyd's construction: every parent, last first, sifted down.
        let end = heap.items.len();
        for start in (0..end.div_ceil(D)).rev() {
            let mut at = start;
            while let Some(child) = heap.least_child(at, end) {
                if heap.items[child] >= heap.items[at] {
                    break;
                }
                heap.items.swap(at, child);
                at = child;
            }
        }
        heap
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BinaryHeap;
    use std::cmp::Reverse;

    use super::*;

    /// Random pushes and pops give what the standard binary heap gives, item for item,
    /// and a heap built at once pops in sorted order.
    #[test]
    fn pops_in_order_like_the_standard_heap() {
        let mut seed: u64 = 3;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed >> 33
        };
        let (mut ours, mut std) = (DueHeap::default(), BinaryHeap::new());
        for _ in 0..50_000 {
            if next() % 3 == 0 {
                assert_eq!(ours.pop(), std.pop().map(|Reverse(x)| x));
            } else {
                let item = (next() % 500, next() % 7);
                ours.push(item);
                std.push(Reverse(item));
            }
            assert_eq!(ours.peek(), std.peek().map(|Reverse(x)| x));
            assert_eq!(ours.len(), std.len());
        }
        for n in [0, 1, 2, 4, 5, 17, 1000] {
            let items: Vec<u64> = (0..n).map(|_| next() % 100).collect();
            let mut heap: DueHeap<u64> = items.iter().copied().collect();
            let mut sorted = items.clone();
            sorted.sort_unstable();
            let popped: Vec<u64> = std::iter::from_fn(|| heap.pop()).collect();
            assert_eq!(popped, sorted, "{n} items");
        }
    }
}
