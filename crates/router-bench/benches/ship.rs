//! `cargo bench -p router-bench` (EVENTS=N and ROUNDS=N override): in-process
//! shipping throughput, ours against the original, in one run (see the crate docs).

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let c = router_bench::compare(env_or("EVENTS", 1_000_000), env_or("ROUNDS", 3));
    println!("in-process shipping, {} events, best of {} rounds, current-thread runtime", c.events, c.rounds);
    println!("  original (oxirs 0.3.1):    {:>12.0} events/s", c.original_events_per_s);
    println!("  shipper (ours):            {:>12.0} events/s", c.ours_events_per_s);
    println!("  ratio ours/original:       {:>12.2}", c.ratio());
}
