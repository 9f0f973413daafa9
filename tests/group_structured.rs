//! A `Group` never returns while a member it spawned still runs, also when a member panics.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use util::{in_child, runtime};

/// Counts live members.
struct Live(Arc<AtomicUsize>);

impl Live {
    fn enter(count: &Arc<AtomicUsize>) -> Live {
        count.fetch_add(1, Ordering::SeqCst);
        Live(count.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn map_cancels_and_awaits_the_other_members_when_one_panics() {
    in_child("map_cancels_and_awaits_the_other_members_when_one_panics", Duration::from_secs(60), || {
        runtime(2).block_on(|| {
            let live = Arc::new(AtomicUsize::new(0));
            let finished = Arc::new(AtomicUsize::new(0));
            for unordered in [false, true] {
                let (live_in, finished_in) = (live.clone(), finished.clone());
                let work = move |i: u32| {
                    let _live = Live::enter(&live_in);
                    if i == 3 {
                        panic!("member 3 fails");
                    }
                    green::sleep(Duration::from_secs(3600)); // cancelled, not waited out
                    finished_in.fetch_add(1, Ordering::SeqCst);
                };
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    if unordered {
                        green::Group::new().map_unordered(0..8, work)
                    } else {
                        green::Group::new().map(0..8, work)
                    }
                }));
                let payload = outcome.unwrap_err();
                assert_eq!(payload.downcast_ref::<&str>(), Some(&"member 3 fails"));
                assert_eq!(live.load(Ordering::SeqCst), 0, "no member outlives the map (unordered: {unordered})");
                assert_eq!(finished.load(Ordering::SeqCst), 0);
            }
        });
    });
}
