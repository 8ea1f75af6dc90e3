//! One test (or more) per line group of Algorithm 1. Four validators of power 1 each unless a
//! test says otherwise: +2/3 is 3 votes, f+1 is 2. "me" is validator `ME`; the timelines list
//! inputs top to bottom with the outputs they must produce.

use super::*;
use crate::{Input, Output, Step, Timeout, TimeoutKind};
use keystone_consensus_types::{
    BlockId, Hash, PartSetHeader, PrivateKey, Proposal, Time, Validator, ValidatorSet, Vote,
    VoteType,
};

const CHAIN: &str = "test-chain";
const H: u64 = 7;

struct Fx {
    keys: Vec<PrivateKey>,
    set: ValidatorSet,
}

impl Fx {
    fn new(powers: &[i64]) -> Fx {
        let keys: Vec<PrivateKey> = (0..powers.len())
            .map(|i| PrivateKey::from_seed([i as u8 + 1; 32]))
            .collect();
        let set = ValidatorSet::new(
            keys.iter()
                .zip(powers)
                .map(|(k, p)| Validator::new(k.public_key(), *p))
                .collect(),
        )
        .expect("valid set");
        // Keys in set order, so index i is the i-th validator of the set.
        let keys = set
            .validators()
            .iter()
            .map(|v| {
                keys.iter()
                    .find(|k| k.public_key().address() == v.address)
                    .expect("key")
                    .clone()
            })
            .collect();
        Fx { keys, set }
    }

    fn addr(&self, i: usize) -> Address {
        self.set.validators()[i].address
    }

    fn index_of(&self, a: Address) -> usize {
        self.set.index_of(&a).expect("member")
    }

    fn machine(&self, me: usize) -> Consensus {
        Consensus::new(H, self.set.clone(), Some(self.addr(me)))
    }

    fn vote(&self, i: usize, t: VoteType, round: Round, value: Option<BlockId>) -> Input {
        let mut v = Vote {
            vote_type: t,
            height: H,
            round,
            block_id: value,
            timestamp: Time::UNIX_EPOCH,
            validator_address: self.addr(i),
            validator_index: i as u32,
            signature: None,
        };
        v.sign(CHAIN, &self.keys[i]);
        Input::Vote(v)
    }

    fn proposal(&self, round: Round, value: BlockId, pol: Option<Round>, valid: bool) -> Input {
        let mut p = Proposal {
            height: H,
            round,
            pol_round: pol,
            block_id: value,
            timestamp: Time::UNIX_EPOCH,
            signature: None,
        };
        p.sign(CHAIN, &self.keys[0]);
        Input::Proposal { proposal: p, valid }
    }
}

fn id(b: u8) -> BlockId {
    BlockId {
        hash: Hash([b; 32]),
        part_set_header: PartSetHeader {
            total: 1,
            hash: Hash([b; 32]),
        },
    }
}

fn apply(c: &mut Consensus, i: Input) -> Vec<Output> {
    c.apply(i).expect("accepted")
}

fn prevote(round: Round, value: Option<BlockId>) -> Output {
    Output::Vote {
        vote_type: VoteType::Prevote,
        round,
        value,
    }
}

fn precommit(round: Round, value: Option<BlockId>) -> Output {
    Output::Vote {
        vote_type: VoteType::Precommit,
        round,
        value,
    }
}

fn timeout(kind: TimeoutKind, round: Round) -> Output {
    Output::ScheduleTimeout(Timeout { kind, round })
}

/// A validator that is not the proposer of `rounds`.
fn non_proposer(fx: &Fx, c: &Consensus, rounds: &[Round]) -> usize {
    (0..fx.set.len())
        .find(|i| {
            rounds
                .iter()
                .all(|r| c.proposer(*r).expect("proposer").address != fx.addr(*i))
        })
        .expect("someone does not propose")
}

/// A started machine for a non-proposer of rounds 0..=2 (with four validators, the proposer
/// of round 3).
fn started(fx: &Fx) -> (Consensus, usize) {
    let probe = fx.machine(0);
    let me = non_proposer(fx, &probe, &[0, 1, 2]);
    let mut c = fx.machine(me);
    apply(&mut c, Input::Start);
    (c, me)
}

/// Three validators other than `me` (for quorums without our own vote).
fn others(fx: &Fx, me: usize) -> Vec<usize> {
    (0..fx.set.len()).filter(|i| *i != me).collect()
}

/// Drive round 0 to a polka for `v` and our lock on it.
fn lock_on(fx: &Fx, c: &mut Consensus, me: usize, v: BlockId) {
    apply(c, fx.proposal(0, v, None, true));
    for i in others(fx, me) {
        apply(c, fx.vote(i, VoteType::Prevote, 0, Some(v)));
    }
    assert_eq!(c.state().locked.map(|l| l.value), Some(v));
}

/// Move to `round` through precommit timeouts (no decision).
fn to_round(fx: &Fx, c: &mut Consensus, me: usize, round: Round) {
    while c.round() < round {
        let r = c.round();
        for i in others(fx, me) {
            let _ = c.apply(fx.vote(i, VoteType::Precommit, r, None));
        }
        apply(
            c,
            Input::Timeout(Timeout {
                kind: TimeoutKind::Precommit,
                round: r,
            }),
        );
    }
}

// ---- L10-21 StartRound ------------------------------------------------------------------------

/// L10-12, L21: Start → round 0, step propose, timeout propose scheduled; a non-proposer
/// proposes nothing.
#[test]
fn l11_start_round_as_non_proposer() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let probe = fx.machine(0);
    let me = non_proposer(&fx, &probe, &[0]);
    let mut c = fx.machine(me);
    let out = apply(&mut c, Input::Start);
    let p0 = c.proposer(0).expect("p").address;
    assert_eq!(
        out,
        vec![
            Output::NewRound {
                round: 0,
                proposer: p0
            },
            timeout(TimeoutKind::Propose, 0)
        ]
    );
    assert_eq!((c.round(), c.step()), (0, Step::Propose));
    // Start twice is a no-op.
    assert!(apply(&mut c, Input::Start).is_empty());
}

/// L14-19: the proposer with no valid value asks for one (getValue) and proposes it once.
///
/// | input | output |
/// |---|---|
/// | Start | NewRound, GetValue(0), timeout propose |
/// | ValueReady(0, v) | Propose(0, v, −1) |
/// | ValueReady(0, v) again | — |
#[test]
fn l14_l19_proposer_gets_value_and_proposes() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let p0 = fx.machine(0).proposer(0).expect("p").address;
    let mut c = fx.machine(fx.index_of(p0));
    let out = apply(&mut c, Input::Start);
    assert_eq!(
        out,
        vec![
            Output::NewRound {
                round: 0,
                proposer: p0
            },
            Output::GetValue { round: 0 },
            timeout(TimeoutKind::Propose, 0)
        ]
    );
    let v = id(1);
    assert_eq!(
        apply(&mut c, Input::ValueReady { round: 0, value: v }),
        vec![Output::Propose {
            round: 0,
            value: v,
            pol_round: None
        }]
    );
    assert!(apply(&mut c, Input::ValueReady { round: 0, value: v }).is_empty());
    // A value for another round is ignored.
    assert!(apply(&mut c, Input::ValueReady { round: 3, value: v }).is_empty());
}

/// L15-16: a proposer with a valid value re-proposes it with its round as POL round.
#[test]
fn l15_proposer_reproposes_valid_value() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let probe = fx.machine(0);
    // Someone who proposes in round 1 but not round 0.
    let me = fx.index_of(probe.proposer(1).expect("p").address);
    assert_ne!(probe.proposer(0).expect("p").address, fx.addr(me));
    let mut c = fx.machine(me);
    apply(&mut c, Input::Start);
    let v = id(5);
    lock_on(&fx, &mut c, me, v);
    assert_eq!(c.state().valid.map(|x| (x.value, x.round)), Some((v, 0)));
    for i in others(&fx, me) {
        apply(&mut c, fx.vote(i, VoteType::Precommit, 0, None));
    }
    let out = apply(
        &mut c,
        Input::Timeout(Timeout {
            kind: TimeoutKind::Precommit,
            round: 0,
        }),
    );
    assert!(
        out.contains(&Output::Propose {
            round: 1,
            value: v,
            pol_round: Some(0)
        }),
        "{out:?}"
    );
    assert!(!out.contains(&Output::GetValue { round: 1 }));
}

// ---- L22-27 -----------------------------------------------------------------------------------

/// L22-24, L27: unlocked, valid proposal with POL −1 → prevote v, step prevote.
#[test]
fn l22_prevote_for_valid_proposal() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, _) = started(&fx);
    let out = apply(&mut c, fx.proposal(0, id(1), None, true));
    assert_eq!(out, vec![prevote(0, Some(id(1)))]);
    assert_eq!(c.step(), Step::Prevote);
    // The same proposal again changes nothing.
    assert!(apply(&mut c, fx.proposal(0, id(1), None, true)).is_empty());
}

/// L25-26: an invalid proposal → prevote nil.
#[test]
fn l25_prevote_nil_for_invalid_proposal() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, _) = started(&fx);
    assert_eq!(
        apply(&mut c, fx.proposal(0, id(1), None, false)),
        vec![prevote(0, None)]
    );
}

/// L23 lock clause: locked on v in round 0; in round 1 a proposal of w (POL −1) gets nil, a
/// proposal of v gets v.
#[test]
fn l23_lock_decides_the_prevote() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (v, w) = (id(1), id(2));
    for (proposed, expected) in [(w, None), (v, Some(v))] {
        let (mut c, me) = started(&fx);
        lock_on(&fx, &mut c, me, v);
        to_round(&fx, &mut c, me, 1);
        assert_eq!(
            apply(&mut c, fx.proposal(1, proposed, None, true)),
            vec![prevote(1, expected)]
        );
    }
}

// ---- L28-33 -----------------------------------------------------------------------------------

/// L28-30: locked on v in round 0; round 2 proposes w with POL round 1, where w had a polka:
/// lockedRound 0 ≤ 1, so prevote w.
///
/// | input | output |
/// |---|---|
/// | proposal(0, v), 3 prevotes v | precommit v (locked v@0) |
/// | precommits nil, timeouts → round 2 | |
/// | proposal(2, w, pol 1) | — (no polka for w in round 1 yet) |
/// | 3 prevotes w in round 1 | prevote(2, w) |
#[test]
fn l28_prevote_on_newer_pol_and_wait_for_it() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (v, w) = (id(1), id(2));
    let (mut c, me) = started(&fx);
    lock_on(&fx, &mut c, me, v);
    to_round(&fx, &mut c, me, 2);
    assert!(apply(&mut c, fx.proposal(2, w, Some(1), true)).is_empty());
    let others = others(&fx, me);
    apply(&mut c, fx.vote(others[0], VoteType::Prevote, 1, Some(w)));
    apply(&mut c, fx.vote(others[1], VoteType::Prevote, 1, Some(w)));
    let out = apply(&mut c, fx.vote(others[2], VoteType::Prevote, 1, Some(w)));
    assert_eq!(out, vec![prevote(2, Some(w))]);
}

/// L31-32: locked on v in round 1; a proposal of w with POL round 0 is older than the lock →
/// prevote nil. An invalid one also gets nil.
#[test]
fn l31_prevote_nil_on_older_pol() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (v, w) = (id(1), id(2));
    let (mut c, me) = started(&fx);
    to_round(&fx, &mut c, me, 1);
    apply(&mut c, fx.proposal(1, v, None, true));
    for i in others(&fx, me) {
        apply(&mut c, fx.vote(i, VoteType::Prevote, 1, Some(v)));
        apply(&mut c, fx.vote(i, VoteType::Prevote, 0, Some(w)));
    }
    assert_eq!(c.state().locked.map(|l| (l.value, l.round)), Some((v, 1)));
    to_round(&fx, &mut c, me, 2);
    assert_eq!(
        apply(&mut c, fx.proposal(2, w, Some(0), true)),
        vec![prevote(2, None)]
    );
    // Invalid re-proposal of our own locked value with a fresh POL: still nil.
    let (mut c, me) = started(&fx);
    for i in others(&fx, me) {
        apply(&mut c, fx.vote(i, VoteType::Prevote, 0, Some(w)));
    }
    to_round(&fx, &mut c, me, 1);
    assert_eq!(
        apply(&mut c, fx.proposal(1, w, Some(0), false)),
        vec![prevote(1, None)]
    );
}

// ---- L34-35, L44-46, L61-64 -------------------------------------------------------------------

/// L34-35: +2/3 prevotes for mixed values → timeout prevote, once. L61-63: it fires → precommit
/// nil.
#[test]
fn l34_timeout_prevote_on_mixed_prevotes_then_l61() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, me) = started(&fx);
    apply(&mut c, fx.proposal(0, id(1), None, true));
    // Our own prevote comes back through the driver like anyone's.
    apply(&mut c, fx.vote(me, VoteType::Prevote, 0, Some(id(1))));
    let o = others(&fx, me);
    apply(&mut c, fx.vote(o[0], VoteType::Prevote, 0, Some(id(1))));
    let out = apply(&mut c, fx.vote(o[1], VoteType::Prevote, 0, None));
    assert_eq!(out, vec![timeout(TimeoutKind::Prevote, 0)]);
    assert!(apply(&mut c, fx.vote(o[2], VoteType::Prevote, 0, Some(id(9)))).is_empty());
    let out = apply(
        &mut c,
        Input::Timeout(Timeout {
            kind: TimeoutKind::Prevote,
            round: 0,
        }),
    );
    assert_eq!(out, vec![precommit(0, None)]);
    assert_eq!(c.step(), Step::Precommit);
    // A second firing does nothing.
    assert!(apply(
        &mut c,
        Input::Timeout(Timeout {
            kind: TimeoutKind::Prevote,
            round: 0
        })
    )
    .is_empty());
}

/// L44-46: +2/3 prevotes for nil → precommit nil (no lock).
#[test]
fn l44_precommit_nil_on_nil_polka() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, me) = started(&fx);
    apply(
        &mut c,
        Input::Timeout(Timeout {
            kind: TimeoutKind::Propose,
            round: 0,
        }),
    );
    let o = others(&fx, me);
    apply(&mut c, fx.vote(o[0], VoteType::Prevote, 0, None));
    let out = apply(&mut c, fx.vote(o[1], VoteType::Prevote, 0, None));
    // Our own nil prevote has not come back yet: two nil votes are not +2/3.
    assert!(out.is_empty());
    let out = apply(&mut c, fx.vote(o[2], VoteType::Prevote, 0, None));
    assert_eq!(out, vec![precommit(0, None)]);
    assert_eq!(c.state().locked, None);
}

// ---- L36-43 -----------------------------------------------------------------------------------

/// L36-41: step prevote, proposal v and +2/3 prevotes for v → lock v@r, precommit v,
/// valid v@r.
#[test]
fn l36_lock_and_precommit_on_polka() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, me) = started(&fx);
    let v = id(3);
    apply(&mut c, fx.proposal(0, v, None, true));
    let o = others(&fx, me);
    apply(&mut c, fx.vote(o[0], VoteType::Prevote, 0, Some(v)));
    apply(&mut c, fx.vote(o[1], VoteType::Prevote, 0, Some(v)));
    let out = apply(&mut c, fx.vote(o[2], VoteType::Prevote, 0, Some(v)));
    assert_eq!(out, vec![precommit(0, Some(v))]);
    assert_eq!(c.state().locked.map(|l| (l.value, l.round)), Some((v, 0)));
    assert_eq!(c.state().valid.map(|l| (l.value, l.round)), Some((v, 0)));
}

/// L42-43 alone: already in step precommit (nil, after timeout prevote), the polka completes
/// → validValue := v, but no lock and no second precommit.
#[test]
fn l42_polka_after_precommit_only_updates_valid_value() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, me) = started(&fx);
    let v = id(3);
    apply(&mut c, fx.proposal(0, v, None, true));
    let o = others(&fx, me);
    apply(&mut c, fx.vote(o[0], VoteType::Prevote, 0, Some(v)));
    apply(&mut c, fx.vote(o[1], VoteType::Prevote, 0, None));
    apply(
        &mut c,
        Input::Timeout(Timeout {
            kind: TimeoutKind::Prevote,
            round: 0,
        }),
    );
    assert_eq!(c.step(), Step::Precommit);
    // Our own prevote for v arrives, then one more: 3 prevotes for v.
    apply(&mut c, fx.vote(me, VoteType::Prevote, 0, Some(v)));
    let out = apply(&mut c, fx.vote(o[2], VoteType::Prevote, 0, Some(v)));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(c.state().locked, None);
    assert_eq!(c.state().valid.map(|l| (l.value, l.round)), Some((v, 0)));
}

/// L36 needs valid(v): a polka for an invalid proposal locks nothing.
#[test]
fn l36_no_lock_on_invalid_value() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, me) = started(&fx);
    let v = id(3);
    apply(&mut c, fx.proposal(0, v, None, false));
    for i in others(&fx, me) {
        apply(&mut c, fx.vote(i, VoteType::Prevote, 0, Some(v)));
    }
    assert_eq!(c.state().locked, None);
    assert_eq!(c.state().valid, None);
}

// ---- L47-48, L65-67 ---------------------------------------------------------------------------

/// L47-48: +2/3 precommits of any kind → timeout precommit, once; L65-67: it fires → round+1.
/// A stale timeout is ignored.
#[test]
fn l47_timeout_precommit_then_l65_next_round() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, me) = started(&fx);
    let o = others(&fx, me);
    apply(&mut c, fx.vote(o[0], VoteType::Precommit, 0, None));
    apply(&mut c, fx.vote(o[1], VoteType::Precommit, 0, Some(id(1))));
    let out = apply(&mut c, fx.vote(o[2], VoteType::Precommit, 0, Some(id(2))));
    assert_eq!(out, vec![timeout(TimeoutKind::Precommit, 0)]);
    let out = apply(
        &mut c,
        Input::Timeout(Timeout {
            kind: TimeoutKind::Precommit,
            round: 0,
        }),
    );
    let p1 = c.proposer(1).expect("p").address;
    assert_eq!(
        out,
        vec![
            Output::NewRound {
                round: 1,
                proposer: p1
            },
            timeout(TimeoutKind::Propose, 1)
        ]
    );
    assert!(apply(
        &mut c,
        Input::Timeout(Timeout {
            kind: TimeoutKind::Precommit,
            round: 0
        })
    )
    .is_empty());
    assert_eq!(c.round(), 1);
}

// ---- L49-54 -----------------------------------------------------------------------------------

/// L49-51: proposal v and +2/3 precommits for v → decide.
#[test]
fn l49_decide_in_current_round() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, me) = started(&fx);
    let v = id(4);
    apply(&mut c, fx.proposal(0, v, None, true));
    let o = others(&fx, me);
    apply(&mut c, fx.vote(o[0], VoteType::Precommit, 0, Some(v)));
    apply(&mut c, fx.vote(o[1], VoteType::Precommit, 0, Some(v)));
    let out = apply(&mut c, fx.vote(o[2], VoteType::Precommit, 0, Some(v)));
    assert!(
        out.contains(&Output::Decide { round: 0, value: v }),
        "{out:?}"
    );
    assert_eq!(c.step(), Step::Commit);
    assert_eq!(c.precommits_for(0, v).len(), 3);
    // Nothing more happens after the decision, even timeouts.
    assert!(apply(
        &mut c,
        Input::Timeout(Timeout {
            kind: TimeoutKind::Precommit,
            round: 0
        })
    )
    .is_empty());
}

/// L49 for an earlier round: a node that skipped ahead to round 2 learns that round 0
/// decided (the proposal and the precommits reach it late).
#[test]
fn l49_decide_for_an_earlier_round() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, me) = started(&fx);
    let v = id(4);
    let o = others(&fx, me);
    apply(&mut c, fx.vote(o[0], VoteType::Prevote, 2, None));
    apply(&mut c, fx.vote(o[1], VoteType::Prevote, 2, None));
    assert_eq!(c.round(), 2);
    apply(&mut c, fx.proposal(0, v, None, true));
    for i in &o {
        apply(&mut c, fx.vote(*i, VoteType::Precommit, 0, Some(v)));
    }
    assert_eq!(c.state().decision.map(|d| (d.value, d.round)), Some((v, 0)));
}

/// L49 needs the proposal, and L50 needs valid(v).
#[test]
fn l49_needs_the_proposal_and_l50_validity() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let v = id(4);
    for valid in [true, false] {
        let (mut c, me) = started(&fx);
        for i in others(&fx, me) {
            apply(&mut c, fx.vote(i, VoteType::Precommit, 0, Some(v)));
        }
        assert_eq!(c.state().decision, None);
        apply(&mut c, fx.proposal(0, v, None, valid));
        assert_eq!(c.state().decision.is_some(), valid);
    }
}

// ---- L55-56 -----------------------------------------------------------------------------------

/// L55-56: f+1 (more than 1/3 of power) sending in round 5 → start round 5; f alone does not.
#[test]
fn l55_round_skip_on_f_plus_one() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, me) = started(&fx);
    let o = others(&fx, me);
    assert!(apply(&mut c, fx.vote(o[0], VoteType::Prevote, 5, None)).is_empty());
    assert_eq!(c.round(), 0);
    let out = apply(&mut c, fx.vote(o[1], VoteType::Precommit, 5, Some(id(1))));
    assert_eq!(c.round(), 5);
    assert!(
        matches!(out[0], Output::NewRound { round: 5, .. }),
        "{out:?}"
    );
}

/// Round skip weighs power, not count: one validator holding more than 1/3 is enough.
#[test]
fn l55_round_skip_by_power() {
    let fx = Fx::new(&[10, 1, 1, 1]);
    let heavy = fx.set.validators()[0].address;
    let probe = fx.machine(0);
    let me = (1..4)
        .find(|i| probe.proposer(0).expect("p").address != fx.addr(*i))
        .expect("me");
    let mut c = fx.machine(me);
    apply(&mut c, Input::Start);
    apply(
        &mut c,
        fx.vote(fx.index_of(heavy), VoteType::Prevote, 3, None),
    );
    assert_eq!(c.round(), 3);
}

// ---- L57-60 -----------------------------------------------------------------------------------

/// L57-60: timeout propose in step propose → prevote nil; a stale one (other round, or after
/// prevoting) is ignored.
#[test]
fn l57_timeout_propose() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, _) = started(&fx);
    assert!(apply(
        &mut c,
        Input::Timeout(Timeout {
            kind: TimeoutKind::Propose,
            round: 1
        })
    )
    .is_empty());
    let out = apply(
        &mut c,
        Input::Timeout(Timeout {
            kind: TimeoutKind::Propose,
            round: 0,
        }),
    );
    assert_eq!(out, vec![prevote(0, None)]);
    assert!(apply(
        &mut c,
        Input::Timeout(Timeout {
            kind: TimeoutKind::Propose,
            round: 0
        })
    )
    .is_empty());
    // A late proposal gets no second prevote.
    assert!(apply(&mut c, fx.proposal(0, id(1), None, true)).is_empty());
}

// ---- intake -----------------------------------------------------------------------------------

#[test]
fn equivocation_is_reported() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, me) = started(&fx);
    let o = others(&fx, me)[0];
    apply(&mut c, fx.vote(o, VoteType::Prevote, 0, Some(id(1))));
    let out = apply(&mut c, fx.vote(o, VoteType::Prevote, 0, Some(id(2))));
    assert!(matches!(&out[..], [Output::Equivocation { first, second }]
        if first.block_id == Some(id(1)) && second.block_id == Some(id(2))));
}

#[test]
fn bad_inputs_are_rejected_without_change() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, me) = started(&fx);
    let before = *c.state();
    let Input::Vote(mut v) = fx.vote(others(&fx, me)[0], VoteType::Prevote, 0, None) else {
        unreachable!("vote")
    };
    let mut wrong_height = v.clone();
    wrong_height.height = H + 1;
    assert!(matches!(
        c.apply(Input::Vote(wrong_height)),
        Err(Rejected::WrongHeight { .. })
    ));
    let mut stranger = v.clone();
    stranger.validator_address = Address([0xee; 20]);
    assert!(matches!(
        c.apply(Input::Vote(stranger)),
        Err(Rejected::UnknownValidator(_))
    ));
    let mut wrong_index = v.clone();
    wrong_index.validator_index = (wrong_index.validator_index + 1) % 4;
    assert!(matches!(
        c.apply(Input::Vote(wrong_index)),
        Err(Rejected::WrongValidatorIndex { .. })
    ));
    v.signature = None;
    assert!(matches!(c.apply(Input::Vote(v)), Err(Rejected::Unsigned)));
    let Input::Proposal { mut proposal, .. } = fx.proposal(2, id(1), None, true) else {
        unreachable!("proposal")
    };
    proposal.pol_round = Some(2);
    assert!(matches!(
        c.apply(Input::Proposal {
            proposal,
            valid: true
        }),
        Err(Rejected::BadPolRound { .. })
    ));
    apply(&mut c, fx.proposal(1, id(1), None, true));
    assert!(matches!(
        c.apply(fx.proposal(1, id(2), None, true)),
        Err(Rejected::ConflictingProposal(1))
    ));
    assert_eq!(*c.state(), before);
}

/// Same inputs, same outputs: a random input sequence applied to two machines.
#[test]
fn deterministic() {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    let fx = Fx::new(&[3, 1, 2, 1]);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut inputs = vec![Input::Start];
    for _ in 0..400 {
        let r = rng.next_u32() % 3;
        let val = match rng.next_u32() % 3 {
            0 => None,
            n => Some(id(n as u8)),
        };
        let who = (rng.next_u32() % 4) as usize;
        inputs.push(match rng.next_u32() % 5 {
            0 => fx.vote(who, VoteType::Prevote, r, val),
            1 => fx.vote(who, VoteType::Precommit, r, val),
            2 => fx.proposal(r, val.unwrap_or(id(7)), None, rng.next_u32() % 4 != 0),
            3 => Input::Timeout(Timeout {
                kind: [
                    TimeoutKind::Propose,
                    TimeoutKind::Prevote,
                    TimeoutKind::Precommit,
                ][(rng.next_u32() % 3) as usize],
                round: r,
            }),
            _ => Input::ValueReady {
                round: r,
                value: id(8),
            },
        });
    }
    let run = || {
        let mut c = fx.machine(1);
        let outs: Vec<_> = inputs.iter().map(|i| c.apply(i.clone())).collect();
        (outs, *c.state())
    };
    assert_eq!(run(), run());
}

/// An equivocating proposer sent us v and the others w. A second proposal for the round is
/// refused until more than 1/3 of the power voted for its value; then it is kept, and L49
/// decides w.
#[test]
fn l49_decides_the_other_proposal_of_an_equivocating_proposer() {
    let fx = Fx::new(&[1, 1, 1, 1]);
    let (mut c, me) = started(&fx);
    let (v, w) = (id(1), id(2));
    apply(&mut c, fx.proposal(0, v, None, true));
    assert!(matches!(
        c.apply(fx.proposal(0, w, None, true)),
        Err(Rejected::ConflictingProposal(0))
    ));
    let o = others(&fx, me);
    apply(&mut c, fx.vote(o[0], VoteType::Precommit, 0, Some(w)));
    apply(&mut c, fx.vote(o[1], VoteType::Precommit, 0, Some(w)));
    apply(&mut c, fx.vote(o[2], VoteType::Precommit, 0, Some(w)));
    assert_eq!(c.state().decision, None, "w's proposal not received yet");
    let out = apply(&mut c, fx.proposal(0, w, None, true));
    assert!(
        out.contains(&Output::Decide { round: 0, value: w }),
        "{out:?}"
    );
    assert_eq!(c.proposal_for(0, w).map(|p| p.block_id), Some(w));
    assert_eq!(c.proposal(0).map(|p| p.block_id), Some(v));
}
