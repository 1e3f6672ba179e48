//! Descriptive statistics of a sample as the paper reports them: mean, min, max,
//! standard deviation and a 95 % confidence interval of the mean from Student's
//! t-distribution (the paper's "70 runs per point, 95 % CI").

/// Two-sided 97.5 % quantiles of Student's t for 1..=30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The 97.5 % quantile of t with `df` degrees of freedom (0 for none).
pub fn t975(df: usize) -> f64 {
    match df {
        0 => 0.0,
        1..=30 => T975.get(df - 1).copied().unwrap_or(0.0),
        _ => {
            // Cornish-Fisher expansion around the normal quantile: within 1e-3
            // of the exact value beyond 30 degrees of freedom.
            let z: f64 = 1.959_964;
            let n = df as f64;
            z + (z.powi(3) + z) / (4.0 * n)
                + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * n * n)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// Sample standard deviation (n - 1 in the denominator).
    pub sd: f64,
    /// Half-width of the 95 % confidence interval of the mean.
    pub ci95: f64,
}

impl Summary {
    /// `None` for an empty sample; a single value has no spread (sd and CI 0).
    pub fn of(values: &[f64]) -> Option<Summary> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sd = if n > 1 {
            let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
            (ss / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let ci95 = t975(n - 1) * sd / (n as f64).sqrt();
        Some(Summary {
            n,
            mean,
            min,
            max,
            sd,
            ci95,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-3
    }

    #[test]
    fn summary_of_a_small_sample() {
        let s = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!((s.n, s.mean, s.min, s.max), (8, 5.0, 2.0, 9.0));
        assert!(close(s.sd, 2.138_090), "{}", s.sd);
        assert!(close(s.ci95, 2.365 * 2.138_090 / 8f64.sqrt()), "{}", s.ci95);
    }

    #[test]
    fn one_value_has_no_spread_and_none_has_no_summary() {
        let s = Summary::of(&[3.5]).unwrap();
        assert_eq!((s.mean, s.sd, s.ci95), (3.5, 0.0, 0.0));
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn t_quantiles_join_the_table_smoothly() {
        assert_eq!(t975(0), 0.0);
        assert_eq!(t975(4), 2.776);
        // Exact: df 40 -> 2.0211, df 69 -> 1.9949, df 1000 -> 1.9623.
        assert!((t975(40) - 2.0211).abs() < 1e-3, "{}", t975(40));
        assert!((t975(69) - 1.9949).abs() < 1e-3, "{}", t975(69));
        assert!((t975(1000) - 1.9623).abs() < 1e-3, "{}", t975(1000));
        assert!(t975(31) < t975(30));
    }
}
