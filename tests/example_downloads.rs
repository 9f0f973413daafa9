//! The `downloads` example in small mode: every page is fetched but the ones that never answer in time,
//! failed first attempts are retried, and results come back in input order.

mod example_process;
mod util;

use std::time::Duration;

#[test]
fn downloads_fetches_every_page_with_retries_and_timeouts() {
    example_process::watchdog("downloads", Duration::from_secs(120), || {
        let output =
            example_process::run("downloads", &["--urls", "300", "--concurrency", "20", "--timeout-ms", "300"]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        // Pages 13 and 263 never answer in time; pages 7, 107 and 207 fail once with 503, then succeed.
        // (A busy machine may time out a slow page once more: at least three retries, not exactly.)
        assert!(stdout.contains("ok: 298 (") && stdout.contains("failed: 2 [13, 263]"), "{stdout}");
        let retried: u32 =
            stdout.split("ok: 298 (").nth(1).and_then(|rest| rest.split(' ').next()?.parse().ok()).unwrap();
        assert!(retried >= 3, "{stdout}");
        assert!(stdout.contains("/page/0: Ok(\"page 0\") after 1 attempt(s)"), "{stdout}");
        assert!(stdout.contains("/page/2: Ok(\"page 2\")"), "{stdout}");
    });
}
