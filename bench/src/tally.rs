//! What one client received: which sequence numbers (loss, duplicates,
//! order) and how late (an HDR histogram of publish→receive latency).
//!
//! Each client keeps its own [`Tally`], touched by nobody else, so the hot
//! path has no lock and no shared counter beyond one relaxed add; the
//! tallies are merged once the run is over.

use hdrhistogram::Histogram;

/// Highest latency the histograms track, in microseconds (2 minutes);
/// longer ones are recorded as this value.
pub const MAX_TRACKABLE_US: u64 = 120_000_000;

/// Significant figures of the latency histograms: 3 (0.1 %) for up to 2,000
/// clients, 2 (1 %) beyond, where 3 would cost 140 KB per client.
pub fn sigfig_for(clients: usize) -> u8 {
    if clients <= 2000 { 3 } else { 2 }
}

/// An empty latency histogram (microseconds).
pub fn new_histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKABLE_US, sigfig).expect("valid histogram bounds")
}

/// The deliveries one client saw, by sequence number.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Events published: sequence numbers 0..expected.
    expected: u64,
    /// One bit per sequence number: seen at least once.
    seen: Vec<u64>,
    /// Distinct sequence numbers seen.
    pub distinct: u64,
    /// Every benchmark event received, duplicates included.
    pub received: u64,
    /// Events received again.
    pub duplicated: u64,
    /// Events received after a higher sequence number.
    pub reordered: u64,
    /// Sequence numbers outside 0..expected (another run's events).
    pub unexpected: u64,
    highest: Option<u64>,
    /// Microseconds since the epoch of the last delivery.
    pub last_delivery_us: u64,
    /// Publish→receive latency of every delivery, in microseconds. Created
    /// on the first delivery, so idle clients cost nothing.
    pub latency: Option<Histogram<u64>>,
    sigfig: u8,
}

impl Tally {
    pub fn new(expected: u64, sigfig: u8) -> Tally {
        Tally {
            expected,
            seen: vec![0; expected.div_ceil(64) as usize],
            distinct: 0,
            received: 0,
            duplicated: 0,
            reordered: 0,
            unexpected: 0,
            highest: None,
            last_delivery_us: 0,
            latency: None,
            sigfig,
        }
    }

    /// Records the delivery of event `seq`, sent at `sent_us` and received
    /// at `now_us` (both microseconds since the epoch).
    pub fn record(&mut self, seq: u64, sent_us: u64, now_us: u64) {
        self.received += 1;
        if seq >= self.expected {
            self.unexpected += 1;
            return;
        }
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if self.seen[word] & bit != 0 {
            self.duplicated += 1;
        } else {
            self.seen[word] |= bit;
            self.distinct += 1;
        }
        match self.highest {
            Some(high) if seq < high => self.reordered += 1,
            _ => self.highest = Some(seq),
        }
        self.last_delivery_us = self.last_delivery_us.max(now_us);
        let sigfig = self.sigfig;
        self.latency
            .get_or_insert_with(|| new_histogram(sigfig))
            .saturating_record(now_us.saturating_sub(sent_us).max(1));
    }

    /// Events published that this client never received.
    pub fn lost(&self) -> u64 {
        self.expected - self.distinct
    }

    /// The sequence numbers below `published` this client never received.
    pub fn missing(&self, published: u64) -> impl Iterator<Item = u64> + '_ {
        (0..published.min(self.expected))
            .filter(|seq| self.seen[(seq / 64) as usize] & (1u64 << (seq % 64)) == 0)
    }
}

/// The tallies of many clients, added up.
#[derive(Debug, Clone)]
pub struct Totals {
    pub clients: u64,
    pub expected: u64,
    pub received: u64,
    pub distinct: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub unexpected: u64,
    /// Clients that missed at least one event.
    pub clients_with_loss: u64,
    pub last_delivery_us: u64,
    pub latency: Histogram<u64>,
}

impl Totals {
    pub fn new(sigfig: u8) -> Totals {
        Totals {
            clients: 0,
            expected: 0,
            received: 0,
            distinct: 0,
            lost: 0,
            duplicated: 0,
            reordered: 0,
            unexpected: 0,
            clients_with_loss: 0,
            last_delivery_us: 0,
            latency: new_histogram(sigfig),
        }
    }

    /// Adds one client's tally.
    pub fn add(&mut self, tally: &Tally) {
        self.clients += 1;
        self.expected += tally.expected;
        self.received += tally.received;
        self.distinct += tally.distinct;
        self.lost += tally.lost();
        self.duplicated += tally.duplicated;
        self.reordered += tally.reordered;
        self.unexpected += tally.unexpected;
        self.clients_with_loss += u64::from(tally.lost() > 0);
        self.last_delivery_us = self.last_delivery_us.max(tally.last_delivery_us);
        if let Some(latency) = &tally.latency {
            // Same bounds; a histogram of fewer significant figures still
            // adds (its values are re-recorded at this one's precision).
            self.latency
                .add(latency)
                .expect("histograms with the same bounds add up");
        }
    }

    /// Counts a client that never connected as having lost everything.
    pub fn add_absent(&mut self, expected: u64) {
        self.clients += 1;
        self.expected += expected;
        self.lost += expected;
        self.clients_with_loss += u64::from(expected > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_loss_duplicates_reordering_and_strangers() {
        let mut tally = Tally::new(130, 3);
        for seq in [0, 1, 2, 2, 129, 5, 7000] {
            tally.record(seq, 1_000, 1_500);
        }
        assert_eq!(tally.received, 7);
        assert_eq!(tally.distinct, 5, "0 1 2 129 5");
        assert_eq!(tally.duplicated, 1);
        assert_eq!(tally.reordered, 1, "the 5 came after 129");
        assert_eq!(tally.unexpected, 1);
        assert_eq!(tally.lost(), 125);
        let latency = tally.latency.as_ref().unwrap();
        assert_eq!(latency.len(), 6, "the stranger is not timed");
        assert_eq!(latency.value_at_quantile(0.5), 500);
    }

    #[test]
    fn an_idle_client_has_no_histogram_and_a_clock_step_back_is_not_negative() {
        let tally = Tally::new(0, 2);
        assert!(tally.latency.is_none());
        assert_eq!(tally.lost(), 0);
        let mut tally = Tally::new(1, 2);
        tally.record(0, 2_000, 1_000);
        assert_eq!(tally.latency.unwrap().max(), 1);
    }

    #[test]
    fn totals_merge_histograms_and_count_absent_clients() {
        let mut a = Tally::new(4, 3);
        let mut b = Tally::new(4, 3);
        for seq in 0..4 {
            a.record(seq, 0, 100);
            b.record(seq, 0, 10_000);
        }
        b.record(3, 0, 20_000);
        let mut totals = Totals::new(3);
        totals.add(&a);
        totals.add(&b);
        totals.add_absent(4);
        assert_eq!(totals.clients, 3);
        assert_eq!(totals.expected, 12);
        assert_eq!(totals.received, 9);
        assert_eq!(totals.distinct, 8);
        assert_eq!(totals.lost, 4);
        assert_eq!(totals.duplicated, 1);
        assert_eq!(totals.clients_with_loss, 1);
        assert_eq!(totals.last_delivery_us, 20_000);
        assert_eq!(totals.latency.len(), 9);
        assert_eq!(totals.latency.value_at_quantile(0.25), 100);
        assert!(totals.latency.value_at_quantile(0.75).abs_diff(10_000) <= 10);
        assert!(totals.latency.max().abs_diff(20_000) <= 20);
    }

    #[test]
    fn histograms_of_different_precision_merge() {
        let mut coarse = Tally::new(1, 2);
        coarse.record(0, 0, 12_345);
        let mut totals = Totals::new(3);
        totals.add(&coarse);
        assert!(totals.latency.max().abs_diff(12_345) < 150);
    }

    #[test]
    fn sigfig_drops_for_many_clients() {
        assert_eq!(sigfig_for(1000), 3);
        assert_eq!(sigfig_for(10_000), 2);
    }
}
