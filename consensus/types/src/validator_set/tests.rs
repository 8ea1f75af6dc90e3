//! Proposer selection and validator-set updates against CometBFT v0.38's own test cases
//! (`types/validator_set_test.go`, transcribed in shared/vectors/proposer-selection.md).

use super::*;
use crate::{PrivateKey, PublicKey};

/// A validator with an ASCII address (zero-padded to 20 bytes, which keeps byte order among
/// the test names) and a dummy key: proposer selection never looks at keys.
fn val(name: &str, power: i64) -> Validator {
    let mut a = [0u8; 20];
    a[..name.len()].copy_from_slice(name.as_bytes());
    Validator {
        address: Address(a),
        pub_key: PublicKey([0; 32]),
        voting_power: power,
        proposer_priority: 0,
    }
}

fn name(v: &Validator) -> String {
    String::from_utf8_lossy(&v.address.0)
        .trim_end_matches('\0')
        .to_owned()
}

fn proposer_name(s: &ValidatorSet) -> String {
    name(s.proposer().expect("non-empty set"))
}

fn priorities(s: &ValidatorSet, names: &[&str]) -> Vec<i64> {
    names
        .iter()
        .map(|n| {
            s.get_by_address(&val(n, 1).address)
                .expect("member")
                .proposer_priority
        })
        .collect()
}

/// TestProposerSelection1: foo=1000, bar=300, baz=330 (total 1630).
///
/// The first rows, worked by hand from the algorithm (priorities foo, bar, baz after the
/// step; each step adds the powers, the highest priority proposes and pays 1630):
///
/// | step | before the choice (after +power) | proposer | after paying 1630 |
/// |------|----------------------------------|----------|-------------------|
/// | 1 | start at −(1630+203)=−1833 each, centred to 0,0,0 → 1000, 300, 330 | foo | −630, 300, 330 |
/// | 2 | 370, 600, 660 | baz | 370, 600, −970 |
/// | 3 | 1370, 900, −640 | foo | −260, 900, −640 |
/// | 4 | 740, 1200, −310 | bar | 740, −430, −310 |
/// | 5 | 1740, −130, 20 | foo | 110, −130, 20 |
///
/// (Before each later increment the set is rescaled — never needed here, the spread stays
/// under 2 × 1630 — and centred, which subtracts an average of 0 because every step takes
/// out exactly what it put in.) The whole 99-entry sequence is CometBFT's.
#[test]
fn proposer_selection_1_matches_cometbft_sequence() {
    let mut set = ValidatorSet::new(vec![val("foo", 1000), val("bar", 300), val("baz", 330)])
        .expect("valid set");
    let trace: [(&str, [i64; 3]); 5] = [
        ("foo", [-630, 300, 330]),
        ("baz", [370, 600, -970]),
        ("foo", [-260, 900, -640]),
        ("bar", [740, -430, -310]),
        ("foo", [110, -130, 20]),
    ];
    let expected = "foo baz foo bar foo foo baz foo bar foo \
        foo baz foo foo bar foo baz foo foo bar \
        foo foo baz foo bar foo foo baz foo bar \
        foo foo baz foo foo bar foo baz foo foo \
        bar foo baz foo foo bar foo baz foo foo \
        bar foo baz foo foo foo baz bar foo foo \
        foo baz foo bar foo foo baz foo bar foo \
        foo baz foo bar foo foo baz foo bar foo \
        foo baz foo foo bar foo baz foo foo bar \
        foo baz foo foo bar foo baz foo foo";
    let mut got = Vec::new();
    for i in 0..99 {
        if let Some((p, pr)) = trace.get(i) {
            assert_eq!(proposer_name(&set), *p, "step {}", i + 1);
            assert_eq!(
                priorities(&set, &["foo", "bar", "baz"]),
                pr.to_vec(),
                "step {}",
                i + 1
            );
        }
        got.push(proposer_name(&set));
        set.increment_proposer_priority(1);
    }
    assert_eq!(got.join(" "), expected);
    let count = |n: &str| got.iter().filter(|g| *g == n).count();
    assert_eq!((count("foo"), count("baz"), count("bar")), (61, 20, 18));
}

fn addr_n(n: u8) -> Validator {
    let mut v = val("", 0);
    v.address = Address([0; 20]);
    v.address.0[19] = n;
    v
}

fn set_a(powers: [i64; 3]) -> ValidatorSet {
    let vals = (0..3)
        .map(|i| {
            let mut v = addr_n(i as u8);
            v.voting_power = powers[i];
            v
        })
        .collect();
    ValidatorSet::new(vals).expect("valid")
}

fn last_byte(s: &ValidatorSet) -> u8 {
    s.proposer().expect("non-empty").address.0[19]
}

/// TestProposerSelection2.
#[test]
fn proposer_selection_2_cases() {
    // Equal power: address order, repeating.
    let mut s = set_a([100, 100, 100]);
    for i in 0..15 {
        assert_eq!(last_byte(&s), (i % 3) as u8, "step {i}");
        s.increment_proposer_priority(1);
    }
    // One heavier, not enough for two in a row.
    let mut s = set_a([100, 100, 400]);
    assert_eq!(last_byte(&s), 2);
    s.increment_proposer_priority(1);
    assert_eq!(last_byte(&s), 0);
    // One heavier, enough for two in a row.
    let mut s = set_a([100, 100, 401]);
    assert_eq!(last_byte(&s), 2);
    s.increment_proposer_priority(1);
    assert_eq!(last_byte(&s), 2);
    s.increment_proposer_priority(1);
    assert_eq!(last_byte(&s), 0);
    // Proportional shares over 120 rounds.
    let mut s = set_a([4, 5, 3]);
    let mut counts = [0; 3];
    for _ in 0..120 {
        counts[last_byte(&s) as usize] += 1;
        s.increment_proposer_priority(1);
    }
    assert_eq!(counts, [40, 50, 30]);
}

/// TestProposerSelection3 (property): four power-1 validators with random keys rotate in a
/// fixed order; skipping `times` rounds moves the rotation by `times`, and a protobuf round
/// trip of the set keeps the proposer.
#[test]
fn proposer_selection_3_rotation_property() {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let vals: Vec<Validator> = (0..4)
        .map(|_| Validator::new(PrivateKey::generate(&mut rng).public_key(), 1))
        .collect();
    let mut s = ValidatorSet::new(vals).expect("valid");
    let mut order = Vec::new();
    for _ in 0..4 {
        order.push(s.proposer().expect("p").address);
        s.increment_proposer_priority(1);
    }
    let mut pos = 0usize;
    for _ in 0..2000 {
        assert_eq!(s.proposer().expect("p").address, order[pos % 4]);
        let rebuilt = ValidatorSet::with_priorities(
            s.validators()
                .iter()
                .map(|v| Validator::from_proto(&v.to_proto()).expect("round trip"))
                .collect(),
            s.proposer().map(|p| p.address),
        )
        .expect("valid");
        assert_eq!(rebuilt.proposer().expect("p").address, order[pos % 4]);
        let times = 1 + (rng.next_u32() % 4);
        s.increment_proposer_priority(times);
        pos += times as usize;
    }
}

/// TestAveragingInIncrementProposerPriority: with zero power, an increment only centres.
#[test]
fn averaging_with_zero_power() {
    let cases: [([i64; 3], u32, [i64; 3]); 3] = [
        ([1, 2, 3], 1, [-1, 0, 1]),
        ([10, -10, 1], 11, [10, -10, 1]),
        ([100, -10, 1], 1, [70, -40, -29]),
    ];
    for (before, times, after) in cases {
        let vals = ["a", "b", "c"]
            .iter()
            .zip(before)
            .map(|(n, p)| {
                let mut v = val(n, 0);
                v.proposer_priority = p;
                v
            })
            .collect();
        let s = ValidatorSet::with_priorities(vals, None)
            .expect("valid")
            .copy_increment(times);
        assert_eq!(priorities(&s, &["a", "b", "c"]), after.to_vec());
    }
}

/// TestAveragingInIncrementProposerPriorityWithVotingPower.
#[test]
fn averaging_with_voting_power() {
    let expected: [([i64; 3], u8); 11] = [
        ([-2, 1, 1], 0),
        ([-4, 2, 2], 0),
        ([-6, 3, 3], 0),
        ([-8, 4, 4], 0),
        ([2, -7, 5], 1),
        ([0, -6, 6], 0),
        ([-2, -5, 7], 0),
        ([-4, -4, 8], 0),
        ([6, -3, -3], 2),
        ([4, -2, -2], 0),
        ([2, -1, -1], 0),
    ];
    let base: Vec<Validator> = [10, 1, 1]
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut v = addr_n(i as u8);
            v.voting_power = *p;
            v
        })
        .collect();
    for (i, (prios, proposer)) in expected.iter().enumerate() {
        let mut s = ValidatorSet::with_priorities(base.clone(), None).expect("valid");
        s.increment_proposer_priority(i as u32 + 1);
        let got: Vec<i64> = (0..3)
            .map(|n| {
                s.get_by_address(&addr_n(n).address)
                    .expect("member")
                    .proposer_priority
            })
            .collect();
        assert_eq!(got, prios.to_vec(), "times {}", i + 1);
        assert_eq!(last_byte(&s), *proposer, "times {}", i + 1);
    }
}

/// TestAvgProposerPriority: the average never overflows and floors.
#[test]
fn average_helper() {
    let cases: [(&[i64], i64); 6] = [
        (&[0, 0, 0], 0),
        (&[i64::MAX, 0, 0], i64::MAX / 3),
        (&[i64::MAX, 0], i64::MAX / 2),
        (&[i64::MAX, i64::MAX], i64::MAX),
        (&[i64::MIN, i64::MIN], i64::MIN),
        (&[-1, 0, 0], -1),
    ];
    for (prios, avg) in cases {
        let vals = prios
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut v = addr_n(i as u8);
                v.proposer_priority = *p;
                v
            })
            .collect();
        let s = ValidatorSet::with_priorities(vals, None).expect("valid");
        assert_eq!(s.avg_proposer_priority(), avg, "{prios:?}");
    }
}

/// Validators by name and power.
type Named<'a> = Vec<(&'a str, i64)>;

fn set(vals: &[(&str, i64)]) -> ValidatorSet {
    ValidatorSet::new(vals.iter().map(|(n, p)| val(n, *p)).collect()).expect("valid set")
}

fn order(s: &ValidatorSet) -> Vec<(String, i64)> {
    s.validators()
        .iter()
        .map(|v| (name(v), v.voting_power))
        .collect()
}

fn check_invariants(s: &ValidatorSet) {
    let n = s.len() as i64;
    let sum: i64 = s.validators().iter().map(|v| v.proposer_priority).sum();
    assert!(sum > -n && sum < n, "priority sum {sum} for {n} validators");
    let max = s
        .validators()
        .iter()
        .map(|v| v.proposer_priority)
        .max()
        .expect("non-empty");
    let min = s
        .validators()
        .iter()
        .map(|v| v.proposer_priority)
        .min()
        .expect("non-empty");
    assert!(max - min <= 2 * s.total_voting_power());
}

/// TestValSetUpdatesBasicTestsExecute.
#[test]
fn updates_basic() {
    let cases: Vec<(Named, Named, Named)> = vec![
        (
            vec![("v1", 10), ("v2", 10)],
            vec![],
            vec![("v1", 10), ("v2", 10)],
        ),
        (
            vec![("v1", 10), ("v2", 10)],
            vec![("v2", 22), ("v1", 11)],
            vec![("v2", 22), ("v1", 11)],
        ),
        (
            vec![("v2", 20), ("v1", 10)],
            vec![("v4", 40), ("v3", 30)],
            vec![("v4", 40), ("v3", 30), ("v2", 20), ("v1", 10)],
        ),
        (
            vec![("v3", 20), ("v1", 10)],
            vec![("v2", 30)],
            vec![("v2", 30), ("v3", 20), ("v1", 10)],
        ),
        (
            vec![("v3", 20), ("v2", 10)],
            vec![("v1", 30)],
            vec![("v1", 30), ("v3", 20), ("v2", 10)],
        ),
        (
            vec![("v3", 30), ("v2", 20), ("v1", 10)],
            vec![("v2", 0)],
            vec![("v3", 30), ("v1", 10)],
        ),
    ];
    for (start, update, expected) in cases {
        let mut s = set(&start);
        let changes: Vec<Validator> = update.iter().map(|(n, p)| val(n, *p)).collect();
        s.update_with_change_set(&changes).expect("update ok");
        let want: Vec<(String, i64)> = expected.iter().map(|(n, p)| (n.to_string(), *p)).collect();
        assert_eq!(order(&s), want);
        check_invariants(&s);
    }
}

/// The failing cases of TestValSetUpdatesDuplicateEntries / overflow / negative / removal:
/// each is an error and leaves the set as it was.
#[test]
fn updates_that_must_fail_leave_the_set_unchanged() {
    let m = MAX_TOTAL_VOTING_POWER;
    let cases: Vec<(Named, Named)> = vec![
        (vec![("v1", 10), ("v2", 10)], vec![("v1", 11), ("v1", 22)]),
        (
            vec![("v1", 10), ("v2", 10)],
            vec![("v1", 11), ("v2", 22), ("v1", 12)],
        ),
        (vec![("v1", 10), ("v2", 10)], vec![("v1", 0), ("v1", 0)]),
        (
            vec![("v1", 10), ("v2", 10)],
            vec![("v1", 0), ("v2", 20), ("v1", 30)],
        ),
        (
            vec![("v1", 10), ("v2", 10), ("v3", 10)],
            vec![("v1", 0), ("v3", 5), ("v2", 20), ("v2", 30), ("v1", 0)],
        ),
        (vec![("v1", 10), ("v2", 10)], vec![("v1", i64::MAX)]),
        (vec![("v1", m)], vec![("v2", i64::MAX)]),
        (vec![("v1", m - 1)], vec![("v2", 5)]),
        (vec![("v1", m / 3), ("v2", m / 3)], vec![("v3", m / 2)]),
        (vec![("v1", m)], vec![("v2", m)]),
        (vec![("v1", 10), ("v2", 10)], vec![("v1", -123)]),
        (vec![("v1", 10), ("v2", 10)], vec![("v3", 0)]),
        (
            vec![("v1", 10), ("v2", 20), ("v3", 30)],
            vec![("v1", 0), ("v2", 0), ("v3", 0)],
        ),
    ];
    for (start, update) in cases {
        let mut s = set(&start);
        let before = s.clone();
        let changes: Vec<Validator> = update.iter().map(|(n, p)| val(n, *p)).collect();
        assert!(
            s.update_with_change_set(&changes).is_err(),
            "{start:?} + {update:?}"
        );
        assert_eq!(s, before);
    }
    // TestUpdatesForNewValidatorSet: a new set refuses duplicates, zero and negative power.
    assert!(ValidatorSet::new(vec![val("v1", 100), val("v1", 123), val("v1", 234)]).is_err());
    assert!(ValidatorSet::new(vec![val("v1", 0), val("v2", 22), val("v3", 33)]).is_err());
    assert!(ValidatorSet::new(vec![val("v1", 10), val("v2", -20), val("v3", 30)]).is_err());
}

/// TestValSetUpdateOverflowRelated.
#[test]
fn updates_near_the_power_cap() {
    let m = MAX_TOTAL_VOTING_POWER;
    let mut s = set(&[("v2", m - 1), ("v1", 1)]);
    s.update_with_change_set(&[val("v1", m - 1), val("v2", 1)])
        .expect("ok");
    assert_eq!(order(&s), vec![("v1".into(), m - 1), ("v2".into(), 1)]);

    let mut s = set(&[("v2", m - 1), ("v1", 1)]);
    s.update_with_change_set(&[val("v1", m / 2 - 1), val("v2", m / 2)])
        .expect("ok");
    assert_eq!(
        order(&s),
        vec![("v2".into(), m / 2), ("v1".into(), m / 2 - 1)]
    );

    let mut s = set(&[("v1", m - 2), ("v2", 1), ("v3", 1)]);
    s.update_with_change_set(&[val("v1", 0), val("v4", m - 2)])
        .expect("ok");
    assert_eq!(
        order(&s),
        vec![("v4".into(), m - 2), ("v2".into(), 1), ("v3".into(), 1)]
    );

    let mut s = set(&[("v1", m / 4), ("v2", m / 4), ("v3", m / 4), ("v4", m / 4)]);
    s.update_with_change_set(&[
        val("v2", 0),
        val("v1", m / 2 - 2),
        val("v3", m / 2 - 3),
        val("v4", 2),
        val("v5", 3),
    ])
    .expect("ok");
    assert_eq!(
        order(&s),
        vec![
            ("v1".into(), m / 2 - 2),
            ("v3".into(), m / 2 - 3),
            ("v5".into(), 3),
            ("v4".into(), 2)
        ]
    );

    let names = ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"];
    let mut s = set(&names.iter().map(|n| (*n, 1)).collect::<Vec<_>>());
    let before = s.clone();
    let mut changes: Vec<Validator> = names[..8].iter().map(|n| val(n, m)).collect();
    changes.push(val("v9", 8));
    assert!(s.update_with_change_set(&changes).is_err());
    assert_eq!(s, before);
}

/// TestValSetUpdatePriorityOrderTests: added validators get the lowest, equal priority.
#[test]
fn added_validators_start_last() {
    let mut s = set(&[("v3", 1000), ("v2", 2), ("v1", 1)]);
    s.increment_proposer_priority(7);
    s.update_with_change_set(&[val("v3", 0), val("v2", 1), val("v5", 50), val("v4", 40)])
        .expect("ok");
    assert_eq!(
        order(&s),
        vec![
            ("v5".into(), 50),
            ("v4".into(), 40),
            ("v1".into(), 1),
            ("v2".into(), 1)
        ]
    );
    let p = priorities(&s, &["v5", "v4", "v1", "v2"]);
    assert_eq!(p[0], p[1]);
    assert!(p[0] < p[2] && p[0] < p[3], "{p:?}");
    check_invariants(&s);
}

/// The validator-set hash CometBFT computes (tendermint-rs `test_validator_set`, Go-generated).
#[test]
fn validator_set_hash_matches_go() {
    let v = |pk: &str, power: i64| {
        let bytes: [u8; 32] = hex::decode(pk).expect("hex").try_into().expect("32");
        Validator::new(PublicKey(bytes), power)
    };
    let s = ValidatorSet::new(vec![
        v(
            "30a33784e793e6a3389e7fdab38bd467da597a7ee55854302000b9ae3f48cb34",
            148151478422287875,
        ),
        v(
            "36fdae99794a91b46f10d630c16d688637a29710b6727d8720c3ecf840704a65",
            158095448483785107,
        ),
        v(
            "b6cd0d56931b4131a0760bb47523ce2344131bad455ccce0c833f951698070f4",
            770561664770006272,
        ),
    ])
    .expect("valid");
    assert_eq!(
        s.hash().to_hex().to_lowercase(),
        "0b406b04ea51e84bccc7a072e561f35f76d511163954477ac8a9c0fc2994dfb4"
    );
    assert_eq!(
        s.validators()[2].address.to_string(),
        "F917F10C9AF2B6FCC28005D59F0D54A7E4E7A8E1"
    );
}
