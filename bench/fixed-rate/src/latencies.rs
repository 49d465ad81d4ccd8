//! Latency samples and their percentiles.

/// Latencies in microseconds.
#[derive(Debug, Default)]
pub struct Latencies {
    samples: Vec<u32>,
    sorted: bool,
}

impl Latencies {
    /// Adds samples.
    pub fn extend(&mut self, samples: Vec<u32>) {
        self.samples.extend(samples);
        self.sorted = false;
    }

    /// How many samples there are.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// The smallest sample that `quantile` (0 to 1) of all samples are at most (the
    /// nearest-rank definition); 0 when there are none.
    pub fn percentile(&mut self, quantile: f64) -> u32 {
        if self.samples.is_empty() {
            return 0;
        }
        if !self.sorted {
            self.samples.sort_unstable();
            self.sorted = true;
        }
        let rank = (quantile * self.samples.len() as f64).ceil() as usize;
        self.samples[rank.clamp(1, self.samples.len()) - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_nearest_rank_percentiles() {
        let mut latencies = Latencies::default();
        latencies.extend((1..=100).rev().collect());
        assert_eq!(latencies.len(), 100);
        for (quantile, want) in [(0.0, 1), (0.5, 50), (0.99, 99), (0.999, 100), (1.0, 100)] {
            assert_eq!(latencies.percentile(quantile), want, "{quantile}");
        }
        assert_eq!(Latencies::default().percentile(0.5), 0);
    }
}
