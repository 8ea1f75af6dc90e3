//! WAL replay's debts: what the core asked this node to sign while its height was replayed
//! from the log. The log's own records of those proposals and votes follow the inputs that
//! led to them and settle them; what is left when the log ends is signed then — the privval
//! giving back its stored signature for the step it signed last, signing a step never signed,
//! and refusing anything else, which is then left unsigned rather than stopping the node.

use super::{Action, Engine, Input, Result};
use keystone_consensus_types::{BlockId, Height, Round, Time, VoteType};
use keystone_proto::Application;

/// Something the core asked this node to sign during WAL replay (see `Engine::owed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Owed {
    Proposal {
        round: Round,
        value: BlockId,
        pol_round: Option<Round>,
    },
    Vote {
        vote_type: VoteType,
        round: Round,
        value: Option<BlockId>,
    },
}

impl<A: Application> Engine<A> {
    /// During replay: an input of the log that is this node's own proposal or vote settles
    /// what the core asked to sign for it, and goes to peers again (they may have missed it
    /// when this node stopped).
    pub(super) fn settle_owed(&mut self, input: &Input, actions: &mut Vec<Action>) {
        let me = self.privval.address();
        match input {
            Input::Vote(v) if v.validator_address == me => {
                self.owed.retain(|o| {
                    !matches!(o, Owed::Vote { vote_type, round, .. }
                        if *vote_type == v.vote_type && *round == v.round)
                });
                self.broadcast_vote(v, actions);
            }
            Input::Proposal { proposal: p, .. }
                if self
                    .core
                    .as_ref()
                    .and_then(|c| c.proposer(p.round))
                    .is_some_and(|v| v.address == me) =>
            {
                self.owed
                    .retain(|o| !matches!(o, Owed::Proposal { round, .. } if *round == p.round));
                self.broadcast_proposal(p, actions);
            }
            _ => {}
        }
    }

    /// After replay: sign what the core asked for and the log does not hold. The privval
    /// gives back its stored signature for the step it signed last (a crash between its
    /// write and the WAL's), signs a step it never signed, and refuses anything else — which
    /// is then left unsigned rather than stopping the node.
    pub(super) fn sign_owed(
        &mut self,
        height: Height,
        owed: Owed,
        now: Time,
        actions: &mut Vec<Action>,
    ) -> Result<()> {
        match owed {
            Owed::Vote {
                vote_type,
                round,
                value,
            } => {
                if !self.votes_this_height() {
                    return Ok(());
                }
                let Some(vote) = self.sign_vote(height, round, vote_type, value, now)? else {
                    return Ok(());
                };
                self.broadcast_vote(&vote, actions);
                self.apply(Input::Vote(vote), now, actions, true)
            }
            Owed::Proposal {
                round,
                value,
                pol_round,
            } => {
                let Some(p) = self.sign_proposal(height, round, value, pol_round, now)? else {
                    return Ok(());
                };
                self.broadcast_proposal(&p, actions);
                self.apply(
                    Input::Proposal {
                        proposal: p,
                        valid: true,
                    },
                    now,
                    actions,
                    true,
                )
            }
        }
    }
}
