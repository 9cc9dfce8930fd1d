//! Work split among the machine's cores: a big repository's directories and stacks.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Parts per worker: stacks differ in cost, so equal halves leave one core idle while the
/// other finishes; small parts taken in turn keep both busy to the end.
const PARTS_PER_WORKER: usize = 64;

/// `work` over `items` split into parts taken in turn by one worker per core (the calling
/// thread is one), the parts' results in order.
pub fn in_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    if workers == 1 || items.len() < 2 {
        return vec![work(items)];
    }
    let parts: Vec<&[T]> = items
        .chunks(items.len().div_ceil(workers * PARTS_PER_WORKER))
        .collect();
    let next = AtomicUsize::new(0);
    let take_parts = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(part) = parts.get(index) else {
                return done;
            };
            done.push((index, work(part)));
        }
    };
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers.min(parts.len()))
            .map(|_| scope.spawn(take_parts))
            .collect();
        let mut done = take_parts();
        for helper in helpers {
            done.extend(helper.join().expect("worker thread panicked"));
        }
        done
    });
    done.sort_unstable_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_worked_once_and_the_results_keep_their_order() {
        for count in [0, 1, 2, 3, 31, 1000] {
            let items: Vec<usize> = (0..count).collect();
            let results: Vec<usize> = in_parallel(&items, |part| part.to_vec())
                .into_iter()
                .flatten()
                .collect();
            assert_eq!(results, items, "{count} items");
        }
    }
}
