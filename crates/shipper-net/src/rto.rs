//! The adaptive answer timeout: the configured timeout as a floor, raised to what the measured
//! round trips need (the retransmission timeout of RFC 6298, after Jacobson and Karels).
//!
//! A fixed ack timeout shorter than the link's round trip presumes every healthy connection
//! stuck: the sender closes it, resends on a new one and times out again, and nothing is ever
//! acknowledged. Measuring the round trip and waiting a few deviations longer keeps a slow link
//! working, while the floor keeps a fast link's failure detection exactly as configured.
//!
//! The contract (the `recovery` and `settle-ok` rules of shipsim derive their bounds from it):
//! - with no sample yet, the timeout is the floor;
//! - afterwards it is `srtt + max(1 ms, 4 × rttvar)`, never below the floor and never above the
//!   cap (a timeout longer than the longest call helps no call);
//! - `srtt` and `rttvar` are RFC 6298's smoothed round trip and deviation (gains 1/8 and 1/4,
//!   the first sample `R` giving `srtt = R`, `rttvar = R / 2`); both are weighted means of
//!   samples, so the timeout never exceeds the floor or `5 × S + 1 ms`, `S` the longest sample
//!   taken (see [`Rto::bound`]);
//! - there is no exponential backoff on a timeout (RFC 6298's 5.5): a timed-out connection is
//!   replaced by a new one, whose handshake is itself a sample, so a link that slowed down is
//!   measured at the next connection without having to guess. A handshake counts twice its
//!   duration ([`Rto::handshake_round_trip`]): under turmoil a connect completes in one
//!   one-way trip, and a sample of half the round trip would let the timeout settle below it.

use std::time::Duration;

use crate::broken::{self, Variant};

/// The clock granularity of RFC 6298's `G`: a millisecond.
const GRANULARITY: Duration = Duration::from_millis(1);

/// One destination's round-trip estimate and the answer timeout it gives.
#[derive(Debug, Clone)]
pub struct Rto {
    floor: Duration,
    cap: Duration,
    estimate: Option<Estimate>,
}

#[derive(Debug, Clone, Copy)]
struct Estimate {
    srtt: Duration,
    rttvar: Duration,
}

impl Rto {
    /// An estimator whose timeout never goes below `floor` (the configured timeout) nor above
    /// `cap` (the longest call; raised to `floor` when lower).
    pub fn new(floor: Duration, cap: Duration) -> Self {
        Rto { floor, cap: cap.max(floor), estimate: None }
    }

    /// Learns one round trip: from a write to its answer, or a connection's handshake.
    pub fn sample(&mut self, rtt: Duration) {
        self.estimate = Some(match self.estimate {
            None => Estimate { srtt: rtt, rttvar: rtt / 2 },
            Some(Estimate { srtt, rttvar }) => {
                let deviation = srtt.abs_diff(rtt);
                Estimate { srtt: srtt * 7 / 8 + rtt / 8, rttvar: rttvar * 3 / 4 + deviation / 4 }
            }
        });
    }

    /// The round trip a connection handshake of `took` stands for: twice it. A handshake takes
    /// between a one-way trip (turmoil completes a connect when the server accepts it) and a
    /// round trip (a kernel's SYN and SYN-ACK); counted as a one-way trip, it never stands
    /// for less than the round trip a ping or an ack will need.
    pub fn handshake_round_trip(took: Duration) -> Duration {
        took * 2
    }

    /// How long an answer may take now.
    pub fn current(&self) -> Duration {
        // broken::FixedAckTimeout: the timeout never leaves the configured value.
        if broken::is(Variant::FixedAckTimeout) {
            return self.floor;
        }
        match self.estimate {
            None => self.floor,
            Some(Estimate { srtt, rttvar }) => {
                (srtt + (rttvar * 4).max(GRANULARITY)).clamp(self.floor, self.cap)
            }
        }
    }

    /// The largest timeout an estimator with `floor` and `cap` can reach when no sample exceeds
    /// `longest_sample`: what a checker may allow without trusting the transport's report.
    pub fn bound(floor: Duration, cap: Duration, longest_sample: Duration) -> Duration {
        (longest_sample * 5 + GRANULARITY).clamp(floor, cap.max(floor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn without_samples_the_floor_holds() {
        assert_eq!(Rto::new(ms(50), ms(3000)).current(), ms(50));
    }

    #[test]
    fn fast_round_trips_leave_the_floor_alone() {
        let mut rto = Rto::new(ms(200), ms(3000));
        for _ in 0..20 {
            rto.sample(ms(20));
        }
        assert_eq!(rto.current(), ms(200));
    }

    #[test]
    fn a_slow_link_raises_the_timeout_above_its_round_trip() {
        let mut rto = Rto::new(ms(50), ms(3000));
        rto.sample(ms(250));
        assert_eq!(rto.current(), ms(750), "R + 4 × R/2 after the first sample");
        for _ in 0..50 {
            rto.sample(ms(250));
        }
        assert!(rto.current() > ms(250) && rto.current() < ms(300), "{:?}", rto.current());
    }

    #[test]
    fn the_cap_and_the_bound_hold() {
        let mut rto = Rto::new(ms(50), ms(400));
        rto.sample(ms(2000));
        assert_eq!(rto.current(), ms(400));
        let mut samples = Rto::new(ms(1), ms(60_000));
        for rtt in [5, 900, 1, 1000, 3, 1000, 1000, 2, 0, 1000] {
            samples.sample(ms(rtt));
            assert!(samples.current() <= Rto::bound(ms(1), ms(60_000), ms(1000)));
        }
        assert_eq!(Rto::bound(ms(50), ms(3000), ms(100)), ms(501));
        assert_eq!(Rto::bound(ms(50), ms(3000), ms(5)), ms(50));
        assert_eq!(Rto::bound(ms(50), ms(300), ms(100)), ms(300));
    }
}
