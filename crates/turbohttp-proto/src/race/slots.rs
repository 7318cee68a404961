//! The race's two working lists, shaped so that the usual race (one address, one
//! attempt) allocates nothing for them: the attempts not started yet ([`Pending`])
//! and the attempts in flight ([`Slots`]).

use std::collections::VecDeque;
use std::ops::Range;

/// The plan indices not started yet, in plan order. A run of consecutive indices
/// (what one answer planned in order leaves: a literal, a static table entry, one
/// family's addresses) is kept as its bounds; anything else as a queue.
#[derive(Debug, Clone)]
pub(super) enum Pending {
    /// `start..end`, in that order.
    Run(Range<usize>),
    /// Any other order.
    Queue(VecDeque<usize>),
}

impl Default for Pending {
    fn default() -> Self {
        Self::Run(0..0)
    }
}

impl Pending {
    /// The plan indices `run`, in that order.
    pub(super) fn run(run: Range<usize>) -> Self {
        Self::Run(run)
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Self::Run(run) => run.len(),
            Self::Queue(queue) => queue.len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The plan index at `pos` (`pos < len`).
    pub(super) fn get(&self, pos: usize) -> usize {
        match self {
            Self::Run(run) => run.start + pos,
            Self::Queue(queue) => queue[pos],
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let (run, queue) = match self {
            Self::Run(run) => (run.clone(), None),
            Self::Queue(queue) => (0..0, Some(queue.iter().copied())),
        };
        run.chain(queue.into_iter().flatten())
    }

    /// The first position whose index `pred` refuses, the indices being partitioned
    /// by it (all it accepts first).
    pub(super) fn partition_point(&self, mut pred: impl FnMut(usize) -> bool) -> usize {
        match self {
            Self::Run(run) => {
                let (mut low, mut high) = (0, run.len());
                while low < high {
                    let mid = low + (high - low) / 2;
                    if pred(run.start + mid) {
                        low = mid + 1;
                    } else {
                        high = mid;
                    }
                }
                low
            }
            Self::Queue(queue) => queue.partition_point(|&i| pred(i)),
        }
    }

    /// Puts `index` at `pos`, keeping a run a run when it extends it at either end.
    pub(super) fn insert(&mut self, pos: usize, index: usize) {
        if let Self::Run(run) = self {
            if run.start == run.end {
                *run = index..index + 1;
                return;
            }
            if pos == run.len() && index == run.end {
                run.end += 1;
                return;
            }
            if pos == 0 && index.checked_add(1) == Some(run.start) {
                run.start = index;
                return;
            }
        }
        self.queue().insert(pos, index);
    }

    /// Takes out the index at `pos` (`pos < len`).
    pub(super) fn remove(&mut self, pos: usize) {
        if let Self::Run(run) = self {
            if pos == 0 {
                run.start += 1;
                return;
            }
            if pos + 1 == run.len() {
                run.end -= 1;
                return;
            }
        }
        self.queue().remove(pos);
    }

    /// Keeps only the indices `keep` accepts, in order.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        if let Self::Run(run) = self
            && run.clone().all(&mut keep)
        {
            return;
        }
        self.queue().retain(|&i| keep(i));
    }

    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }

    /// The indices as a queue, made from the run if need be.
    fn queue(&mut self) -> &mut VecDeque<usize> {
        if let Self::Run(run) = self {
            *self = Self::Queue(run.clone().collect());
        }
        match self {
            Self::Queue(queue) => queue,
            Self::Run(_) => unreachable!("made a queue above"),
        }
    }
}

impl From<VecDeque<usize>> for Pending {
    fn from(queue: VecDeque<usize>) -> Self {
        Self::Queue(queue)
    }
}

/// A list whose first item is held inline: nothing is allocated until a second one
/// joins it (then every item moves to the heap, for good).
#[derive(Debug, Clone)]
pub(super) enum Slots<T> {
    /// No item, or one.
    One(Option<T>),
    /// Any number.
    Many(Vec<T>),
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Self::One(None)
    }
}

impl<T> Slots<T> {
    pub(super) fn as_slice(&self) -> &[T] {
        match self {
            Self::One(one) => one.as_slice(),
            Self::Many(many) => many,
        }
    }

    pub(super) fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            Self::One(one) => one.as_mut_slice(),
            Self::Many(many) => many,
        }
    }

    pub(super) fn iter(&self) -> std::slice::Iter<'_, T> {
        self.as_slice().iter()
    }

    pub(super) fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    pub(super) fn push(&mut self, item: T) {
        match self {
            Self::One(one @ None) => *one = Some(item),
            Self::One(Some(_)) => {
                let first = std::mem::take(self).into_iter();
                let mut many = Vec::with_capacity(4);
                many.extend(first);
                many.push(item);
                *self = Self::Many(many);
            }
            Self::Many(many) => many.push(item),
        }
    }

    /// Takes out the item at `pos` (`pos < len`), keeping the others in order.
    pub(super) fn remove(&mut self, pos: usize) -> T {
        match self {
            Self::One(one) => match one.take() {
                Some(item) if pos == 0 => item,
                _ => panic!("removal index {pos} past the end of the slots"),
            },
            Self::Many(many) => many.remove(pos),
        }
    }
}

impl<T> IntoIterator for Slots<T> {
    type Item = T;
    type IntoIter = std::iter::Chain<std::option::IntoIter<T>, std::vec::IntoIter<T>>;

    fn into_iter(self) -> Self::IntoIter {
        let (one, many) = match self {
            Self::One(one) => (one, Vec::new()),
            Self::Many(many) => (None, many),
        };
        one.into_iter().chain(many)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pending` holds what `model` does, in the same order.
    fn same(pending: &Pending, model: &VecDeque<usize>) {
        assert_eq!(pending.len(), model.len());
        assert_eq!(pending.iter().collect::<Vec<_>>(), Vec::from(model.clone()));
        for (pos, &i) in model.iter().enumerate() {
            assert_eq!(pending.get(pos), i);
        }
    }

    #[test]
    fn pending_behaves_as_a_queue_and_stays_a_run_while_it_can() {
        let mut pending = Pending::default();
        let mut model = VecDeque::new();
        for i in 0..4 {
            pending.insert(pending.len(), i);
            model.push_back(i);
        }
        assert!(matches!(pending, Pending::Run(_)));
        same(&pending, &model);
        pending.remove(0);
        model.remove(0);
        pending.remove(pending.len() - 1);
        model.pop_back();
        pending.insert(0, 0);
        model.push_front(0);
        assert!(matches!(pending, Pending::Run(_)));
        same(&pending, &model);
        assert_eq!(pending.partition_point(|i| i < 2), 2);
        // Out of order: a queue from now on, and still the same.
        pending.insert(1, 9);
        model.insert(1, 9);
        assert!(matches!(pending, Pending::Queue(_)));
        same(&pending, &model);
        pending.retain(|i| i != 9);
        model.retain(|&i| i != 9);
        same(&pending, &model);
        let mut run = Pending::run(3..8);
        run.remove(2);
        same(&run, &VecDeque::from([3, 4, 6, 7]));
        let mut run = Pending::run(3..8);
        run.retain(|i| i % 2 == 0);
        same(&run, &VecDeque::from([4, 6]));
        run.clear();
        assert!(run.is_empty());
    }

    #[test]
    fn slots_keep_order_inline_and_on_the_heap() {
        let mut slots = Slots::default();
        assert!(slots.is_empty());
        slots.push(1);
        assert!(matches!(slots, Slots::One(Some(1))));
        assert_eq!(slots.remove(0), 1);
        assert!(slots.is_empty());
        for i in 1..=4 {
            slots.push(i);
        }
        assert_eq!(slots.as_slice(), [1, 2, 3, 4]);
        assert_eq!(slots.remove(1), 2);
        slots.as_mut_slice()[0] = 10;
        assert_eq!(slots.iter().copied().collect::<Vec<_>>(), [10, 3, 4]);
        assert_eq!(slots.len(), 3);
        assert_eq!(slots.into_iter().collect::<Vec<_>>(), [10, 3, 4]);
    }
}
