//! Random blocks of fees, delegations, undelegations, redelegations, withdrawals and slashes:
//! no token is created or lost, the module account always holds exactly the outstanding
//! rewards plus the community pool, what was paid out plus what is still held is exactly
//! what was allocated, and every delegation can withdraw what F1 says it is owed.

use super::*;
use crate::staking::Hooks;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use std::cell::RefCell;
use std::collections::BTreeMap;

const KINDS: [&str; 8] = [
    "delegate",
    "undelegate",
    "undelegate_all",
    "redelegate",
    "withdraw",
    "commission",
    "withdraw_address",
    "slash",
];

/// [`DistributionHooks`] that also keep the errors staking ignores (in a slash, a
/// removal), so that a failing hook cannot go unnoticed.
struct Watched {
    inner: DistributionHooks,
    ignored: RefCell<Vec<String>>,
}

impl Watched {
    fn new(ctx: &BlockCtx) -> Watched {
        Watched {
            inner: hooks(ctx),
            ignored: RefCell::new(Vec::new()),
        }
    }

    fn note(&self, what: &str, r: Result<()>) -> Result<()> {
        if let Err(e) = &r {
            self.ignored.borrow_mut().push(format!("{what}: {e}"));
        }
        r
    }
}

impl Hooks for Watched {
    fn after_validator_created(&self, state: &mut dyn State, op: &Address) -> Result<()> {
        self.inner.after_validator_created(state, op)
    }
    fn after_validator_removed(
        &self,
        state: &mut dyn State,
        cons: &Address,
        op: &Address,
    ) -> Result<()> {
        let r = self.inner.after_validator_removed(state, cons, op);
        self.note("after_validator_removed", r)
    }
    fn before_delegation_created(
        &self,
        state: &mut dyn State,
        del: &Address,
        op: &Address,
    ) -> Result<()> {
        self.inner.before_delegation_created(state, del, op)
    }
    fn before_delegation_shares_modified(
        &self,
        state: &mut dyn State,
        del: &Address,
        op: &Address,
    ) -> Result<()> {
        self.inner.before_delegation_shares_modified(state, del, op)
    }
    fn after_delegation_modified(
        &self,
        state: &mut dyn State,
        del: &Address,
        op: &Address,
    ) -> Result<()> {
        self.inner.after_delegation_modified(state, del, op)
    }
    fn before_validator_slashed(
        &self,
        state: &mut dyn State,
        op: &Address,
        fraction: Dec,
    ) -> Result<()> {
        let r = self.inner.before_validator_slashed(state, op, fraction);
        self.note("before_validator_slashed", r)
    }
}

fn pick<T: Copy>(rng: &mut impl RngCore, items: &[T]) -> T {
    items[(rng.next_u32() as usize) % items.len()]
}

/// Mostly up to a few tokens of power, sometimes a few atoms (rounding at the edges).
fn amount(rng: &mut impl RngCore) -> Amount {
    if rng.next_u32().is_multiple_of(4) {
        1 + Amount::from(rng.next_u32() % 50)
    } else {
        1 + Amount::from(rng.next_u64() % (3 * P as u64))
    }
}

/// What entered and left the distribution module account in `events`.
fn flows(events: &[Event]) -> (Coins, Coins) {
    let module = Address::module(MODULE_NAME).to_string();
    let (mut inflow, mut outflow) = (Coins::new(), Coins::new());
    for e in events {
        let get = |k: &str| {
            e.attributes
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let amount = || get("amount").parse::<Coins>().expect("event amount");
        match e.kind.as_str() {
            "coin_received" if get("receiver") == module => {
                inflow = inflow.checked_add(&amount()).expect("sum")
            }
            "coin_spent" if get("spender") == module => {
                outflow = outflow.checked_add(&amount()).expect("sum")
            }
            _ => {}
        }
    }
    (inflow, outflow)
}

/// Totals over a run: allocated in, paid out.
#[derive(Default)]
struct Ledger {
    allocated: Coins,
    paid: Coins,
}

impl Ledger {
    /// Apply `f` as a transaction and book what it moved if it succeeded; a refusal must be
    /// a refusal, never a broken invariant (`undefined`) or a fault of the books.
    fn run<T>(
        &mut self,
        s: &mut MemState,
        what: &str,
        f: impl FnOnce(&mut dyn State) -> Result<T>,
    ) -> bool {
        let (r, events) = apply_events(s, f);
        match r {
            Ok(_) => {
                let (inflow, outflow) = flows(&events);
                self.allocated = self.allocated.checked_add(&inflow).expect("sum");
                self.paid = self.paid.checked_add(&outflow).expect("sum");
                true
            }
            Err(e) => {
                assert!(
                    !matches!(e.codespace(), "undefined" | "keystone"),
                    "{what} failed unexpectedly: {e}"
                );
                false
            }
        }
    }

    /// Paid out + still held (outstanding and community pool) = allocated, exactly; and the
    /// module account holds what the books say.
    fn check(&self, s: &MemState) {
        check_books(s);
        let held = books(s)
            .checked_add(&DecCoins::from_coins(&self.paid))
            .expect("sum");
        assert_eq!(
            held,
            DecCoins::from_coins(&self.allocated),
            "paid + held = allocated"
        );
    }
}

/// For each validator: its commission plus what every delegation could withdraw now fits in
/// its outstanding rewards, and what no one can claim is less than a token. (Not only the
/// 10^-18 of truncated ratios: an undelegation takes its tokens truncated to an integer, and
/// the fraction left in the validator is in the divisor of every later period without being
/// in anyone's recorded stake — as in the SDK.)
fn check_can_withdraw(s: &MemState, ctx: &BlockCtx) {
    for v in staking::validators(s).expect("validators") {
        let mut owed = commission_of(s, v.operator.0[0]);
        for del in staking::delegations_to(s, &v.operator).expect("delegations") {
            let r = delegation_rewards(s, ctx, &del.delegator, &v.operator).expect("rewards");
            owed = owed.checked_add(&r).expect("sum");
        }
        let outstanding = outstanding_of(s, v.operator.0[0]);
        let dust = outstanding
            .checked_sub(&owed)
            .unwrap_or_else(|_| panic!("owed {owed} exceeds outstanding {outstanding}"));
        for c in dust.iter() {
            assert!(c.amount < Dec::one(), "undistributed {dust}");
        }
    }
}

fn one_run(seed: u64, counts: &mut BTreeMap<&'static str, (u32, u32)>, removed: &mut u32) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let accounts: Vec<(u8, Amount)> = (1..=10).map(|b| (b, 100 * P)).collect();
    let mut s = setup(&accounts);
    let staking_params = staking::Params {
        unbonding_time: 1_000,
        max_validators: 3,
        ..staking::Params::default()
    };
    apply(&mut s, |st| staking::set_params(st, &staking_params)).expect("params");
    let vals = [1u8, 2, 3, 4];
    let rates = ["0", "0.05", "0.1", "0.333333333333333333"];
    let c = at(1, 0);
    for v in vals {
        let amount = (1 + Amount::from(rng.next_u32() % 8)) * P;
        create(&mut s, &c, v, amount, pick(&mut rng, &rates));
    }
    end_block(&mut s, &c);
    let mut ledger = Ledger::default();
    let (mut height, mut secs) = (2u64, 5i64);
    for _ in 0..60 {
        let c = at(height, secs);
        // Begin block: this block's fees (sometimes in a second denom), allocated among the
        // last set.
        let fee = Coins::from_list(vec![Coin {
            denom: "stake".into(),
            amount: Amount::from(rng.next_u32() % 5_000),
        }])
        .unwrap_or_default();
        let atom = if rng.next_u32().is_multiple_of(3) {
            Coins::from_list(vec![Coin {
                denom: "uatom".into(),
                amount: 1 + Amount::from(rng.next_u32() % 300),
            }])
            .expect("coins")
        } else {
            Coins::new()
        };
        let fees = fee.checked_add(&atom).expect("fees");
        apply(&mut s, |st| {
            bank::mint(st, &Address::module(auth::FEE_COLLECTOR), &fees)
        })
        .expect("fees");
        let mut votes = Vec::new();
        for v in staking::validators(&s).expect("validators") {
            let power = staking::last_validator_power(&s, &v.operator).expect("power");
            if power > 0 {
                votes.push((v.cons_address().0, power));
            }
        }
        assert!(ledger.run(&mut s, "begin block", |st| begin_block(st, &c, &votes)));
        ledger.check(&s);

        for _ in 0..(rng.next_u32() % 6) {
            let kind = KINDS[(rng.next_u32() as usize) % KINDS.len()];
            let (mut del, mut v, v2) = (
                pick(&mut rng, &[1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
                pick(&mut rng, &vals),
                pick(&mut rng, &vals),
            );
            // Mostly an existing delegation, so that undelegations, redelegations and
            // withdrawals are tried on something.
            let existing = staking::all_delegations(&s).expect("delegations");
            if !existing.is_empty() && !rng.next_u32().is_multiple_of(3) {
                let dl = &existing[(rng.next_u32() as usize) % existing.len()];
                (del, v) = (dl.delegator.0[0], dl.validator.0[0]);
            }
            let (amt, r1) = (amount(&mut rng), rng.next_u32());
            let factor = pick(&mut rng, &["0.01", "0.1", "0.5"]);
            let h = Watched::new(&c);
            let ok = ledger.run(&mut s, kind, |st| match kind {
                "delegate" => delegate_msg(del, v, amt).execute(st, &c, &h),
                "undelegate" => undelegate_msg(del, v, amt).execute(st, &c, &h).map(|_| ()),
                "undelegate_all" => {
                    // Everything the delegation is worth, so that delegations (and
                    // validators) go away.
                    let Some(dl) = staking::delegation(&*st, &addr(del), &addr(v))? else {
                        return Err(staking::StakingError::NoDelegation.into());
                    };
                    let val = staking::validator(&*st, &addr(v))?
                        .ok_or(staking::StakingError::NoValidatorFound)?;
                    let all = val.tokens_from_shares(dl.shares)?.truncate_int()?;
                    undelegate_msg(del, v, all.max(1))
                        .execute(st, &c, &h)
                        .map(|_| ())
                }
                "redelegate" => redelegate_msg(del, v, v2, amt)
                    .execute(st, &c, &h)
                    .map(|_| ()),
                "withdraw" => withdraw_msg(del, v).execute(st, &c).map(|_| ()),
                "commission" => MsgWithdrawValidatorCommission {
                    validator_address: addr(v).to_valoper(),
                }
                .execute(st)
                .map(|_| ()),
                "withdraw_address" => MsgSetWithdrawAddress {
                    delegator_address: addr(del).to_string(),
                    withdraw_address: addr([del, 11, 12][(r1 % 3) as usize]).to_string(),
                }
                .execute(st, &Default::default()),
                _ => {
                    let val = staking::validator(&*st, &addr(v))?
                        .ok_or(staking::StakingError::NoValidatorFound)?;
                    if val.is_unbonded() {
                        // Staking refuses that as a broken invariant; nothing to test.
                        return Err(staking::StakingError::NoValidatorFound.into());
                    }
                    let power = match staking::last_validator_power(&*st, &addr(v))? {
                        0 => val.potential_consensus_power() as i64,
                        p => p,
                    };
                    let infraction = height.saturating_sub(u64::from(r1 % 3)).max(1);
                    staking::slash(st, &c, &Address(cons(v)), infraction, power, d(factor), &h)
                        .map(|_| ())
                }
            });
            assert_eq!(h.ignored.borrow().as_slice(), &[] as &[String], "{kind}");
            let entry = counts.entry(kind).or_default();
            if ok {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
            ledger.check(&s);
        }

        let h = Watched::new(&c);
        assert!(ledger.run(&mut s, "end block", |st| staking::end_block(st, &c, &h)));
        assert_eq!(h.ignored.borrow().as_slice(), &[] as &[String]);
        ledger.check(&s);
        if height % 10 == 0 {
            check_can_withdraw(&s, &c);
        }
        height += 1;
        secs += 5 + i64::from(rng.next_u32() % 300);
    }

    // Everyone withdraws everything: the books empty down to the dust.
    let c = at(height, secs);
    check_can_withdraw(&s, &c);
    for v in staking::validators(&s).expect("validators") {
        for dl in staking::delegations_to(&s, &v.operator).expect("delegations") {
            assert!(ledger.run(&mut s, "final withdraw", |st| {
                withdraw_delegation_rewards(st, &c, &dl.delegator, &v.operator)
            }));
        }
        // A validator without commission left is refused, which is fine.
        ledger.run(&mut s, "final commission", |st| {
            withdraw_validator_commission(st, &v.operator)
        });
        for coin in outstanding_of(&s, v.operator.0[0]).iter() {
            assert!(
                coin.amount < Dec::one(),
                "{}: {coin:?} left",
                v.operator.to_valoper()
            );
        }
    }
    ledger.check(&s);
    *removed += vals
        .iter()
        .filter(|v| staking::validator(&s, &addr(**v)).expect("read").is_none())
        .count() as u32;
}

#[test]
fn books_balance_under_random_operations() {
    let mut counts = BTreeMap::new();
    let mut removed = 0;
    for seed in 0..10 {
        one_run(seed, &mut counts, &mut removed);
    }
    for kind in KINDS {
        let (ok, _) = counts.get(kind).copied().unwrap_or_default();
        assert!(ok >= 10, "{kind} succeeded only {ok} times: {counts:?}");
    }
    assert!(removed >= 1, "no validator was ever removed: {counts:?}");
}
