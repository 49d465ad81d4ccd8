//! The loyalty rule as plain arithmetic: one stamp per transaction (optionally only from a
//! minimum amount), and every `stamps_per_voucher` stamps become one voucher. The Lua script
//! in `award.lua` applies the same rule inside Redis; this is the reference it is tested
//! against.

use serde::Serialize;

/// A user's loyalty balance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Balance {
    /// Stamps not yet turned into a voucher; always below `stamps_per_voucher`.
    pub stamps: u64,
    /// Vouchers earned so far.
    pub vouchers: u64,
}

/// How transactions turn into stamps and stamps into vouchers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stamps that make one voucher; at least 1.
    pub stamps_per_voucher: u64,
    /// Transactions below this amount (minor units) earn no stamp.
    pub min_amount: i64,
}

impl Rule {
    /// Whether a transaction of `amount` earns a stamp.
    pub fn earns_stamp(&self, amount: i64) -> bool {
        amount >= self.min_amount
    }

    /// The balance after one transaction of `amount`.
    pub fn apply(&self, balance: Balance, amount: i64) -> Balance {
        if !self.earns_stamp(amount) {
            return balance;
        }
        let stamps = balance.stamps + 1;
        Balance {
            stamps: stamps % self.stamps_per_voucher,
            vouchers: balance.vouchers + stamps / self.stamps_per_voucher,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(rule: Rule, amounts: &[i64]) -> Balance {
        amounts.iter().fold(Balance::default(), |balance, &amount| {
            rule.apply(balance, amount)
        })
    }

    #[test]
    fn stamps_and_vouchers_after_n_transactions() {
        // (stamps per voucher, transactions, stamps, vouchers)
        let cases: &[(u64, usize, u64, u64)] = &[
            (10, 0, 0, 0),
            (10, 1, 1, 0),
            (10, 9, 9, 0),
            (10, 10, 0, 1),
            (10, 11, 1, 1),
            (10, 25, 5, 2),
            (3, 3, 0, 1),
            (3, 7, 1, 2),
            (1, 1, 0, 1),
            (1, 5, 0, 5),
        ];
        for &(stamps_per_voucher, n, stamps, vouchers) in cases {
            let rule = Rule {
                stamps_per_voucher,
                min_amount: 0,
            };
            assert_eq!(
                after(rule, &vec![100; n]),
                Balance { stamps, vouchers },
                "{n} transactions, {stamps_per_voucher} stamps a voucher"
            );
        }
    }

    #[test]
    fn minimum_amount() {
        let rule = Rule {
            stamps_per_voucher: 3,
            min_amount: 500,
        };
        // (amounts, stamps, vouchers)
        let cases: &[(&[i64], u64, u64)] = &[
            (&[499], 0, 0),
            (&[500], 1, 0),
            (&[501, 1, 499, 2000], 2, 0),
            (&[500, 500, 100, 500], 0, 1),
            (&[1, 2, 3, 4], 0, 0),
        ];
        for &(amounts, stamps, vouchers) in cases {
            assert_eq!(
                after(rule, amounts),
                Balance { stamps, vouchers },
                "{amounts:?}"
            );
        }
    }

    #[test]
    fn stamps_stay_below_the_voucher_size() {
        let rule = Rule {
            stamps_per_voucher: 4,
            min_amount: 0,
        };
        let mut balance = Balance::default();
        for n in 1..=50u64 {
            balance = rule.apply(balance, 1);
            assert!(balance.stamps < 4);
            assert_eq!(balance.stamps + 4 * balance.vouchers, n);
        }
    }
}
