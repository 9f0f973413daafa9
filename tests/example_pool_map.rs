//! The `pool_map` example: `map` returns the squares in input order, `as_completed` yields all ten.

mod example_process;
mod util;

use std::time::Duration;

#[test]
fn pool_map_returns_results_in_order_and_as_completed() {
    example_process::watchdog("pool_map", Duration::from_secs(60), || {
        let output = example_process::run("pool_map", &[]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        assert!(stdout.contains("= [0, 1, 4, 9, 16, 25, 36, 49, 64, 81] in"), "{stdout}");
        let completed = stdout.lines().find_map(|line| line.strip_prefix("as_completed: ")).expect("{stdout}");
        let mut pairs: Vec<&str> = completed.split(' ').collect();
        pairs.sort_unstable();
        assert_eq!(pairs, ["0->0", "1->1", "2->4", "3->9", "4->16", "5->25", "6->36", "7->49", "8->64", "9->81"]);
    });
}
