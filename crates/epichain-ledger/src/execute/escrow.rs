//! The escrow key-generation contract (a Joint-Feldman DKG run through the chain).
//!
//! - Only the configured holders (the genesis validators) take part, and only until the key
//!   exists. Each holder deals once: a public commitment and one sealed share per holder.
//! - Holders acknowledge dealings; a dealer closes its dealing with a signed log.
//! - The key is combined, as a pure function of the logs on chain, once every holder logged, or
//!   at the end of a block once a quorum logged and `ESCROW_COMBINE_WAIT_BLOCKS` passed since
//!   the first log (a silent holder cannot stall it).

use super::{Event, Exec, Executor};
use crate::StorageError;
use crate::state::{DealingAck, DealingRecord, EscrowKeyRecord, IdentityRecord, StateRead};
use epichain_core::PublicKey;
use epichain_core::disclosure::{ESCROW_MESSAGE_BYTES_MAX, EscrowMessage, SealedDealing};
use epichain_core::rejection::EscrowProblem;
use std::collections::BTreeMap;

/// Blocks after the first dealer's log at which a quorum of logs is combined even if some
/// holders never logged.
pub const ESCROW_COMBINE_WAIT_BLOCKS: u64 = 100;

/// Largest sealed payload a holder posts: one share of a dealing, or one bundle of decryption
/// shares for a grantee.
pub(super) const HOLDER_SEALED_BYTES_MAX: usize = 48 * 1024;

impl<S: StateRead> Executor<'_, S> {
    /// A key-generation message from an escrow holder.
    pub(super) fn escrow(&mut self, signer: &IdentityRecord, message: &EscrowMessage) -> Exec<()> {
        if !self.config.escrow_holders.contains(&signer.key) {
            return Err(EscrowProblem::NotHolder.into());
        }
        if self.exists::<EscrowKeyRecord>(&())? {
            return Err(EscrowProblem::KeyGenerated.into());
        }
        match message {
            EscrowMessage::Deal { public, shares } => self.deal(signer, public, shares),
            EscrowMessage::Ack { dealer, ack } => self.acknowledge(signer, dealer, ack),
            EscrowMessage::Log { log } => self.close_dealing(signer, log),
        }
    }

    fn deal(
        &mut self,
        signer: &IdentityRecord,
        public: &[u8],
        shares: &[SealedDealing],
    ) -> Exec<()> {
        let holders = &self.config.escrow_holders;
        if self.exists::<DealingRecord>(&signer.key)? {
            return Err(EscrowProblem::AlreadyDealt.into());
        }
        if public.len() > ESCROW_MESSAGE_BYTES_MAX {
            return Err(EscrowProblem::BadCommitment.into());
        }
        epichain_escrow::check_commitment(public, holders.len())
            .map_err(|_| EscrowProblem::BadCommitment)?;
        let mut players: Vec<PublicKey> = shares.iter().map(|share| share.player).collect();
        players.sort();
        let mut expected = holders.clone();
        expected.sort();
        if players != expected {
            return Err(EscrowProblem::SharesNotOnePerHolder.into());
        }
        if shares
            .iter()
            .any(|share| share.sealed.len() > HOLDER_SEALED_BYTES_MAX)
        {
            return Err(EscrowProblem::ShareTooLarge.into());
        }
        let record = DealingRecord {
            dealer: signer.key,
            public: public.to_vec(),
            shares: shares.to_vec(),
            height: self.context.height,
            acks: Vec::new(),
            log: Vec::new(),
            log_height: None,
        };
        self.overlay.put(&signer.key, record);
        Ok(())
    }

    fn acknowledge(&mut self, signer: &IdentityRecord, dealer: &PublicKey, ack: &[u8]) -> Exec<()> {
        let Some(mut dealing) = self.get::<DealingRecord>(dealer)? else {
            return Err(EscrowProblem::NoDealing(*dealer).into());
        };
        if !dealing.log.is_empty() {
            return Err(EscrowProblem::DealingClosed.into());
        }
        if dealing.acks.iter().any(|known| known.player == signer.key) {
            return Err(EscrowProblem::AlreadyAcknowledged.into());
        }
        epichain_escrow::check_ack(ack).map_err(|_| EscrowProblem::BadAck)?;
        dealing.acks.push(DealingAck {
            player: signer.key,
            ack: ack.to_vec(),
        });
        self.overlay.put(dealer, dealing);
        Ok(())
    }

    fn close_dealing(&mut self, signer: &IdentityRecord, log: &[u8]) -> Exec<()> {
        let holders = &self.config.escrow_holders;
        let Some(mut dealing) = self.get::<DealingRecord>(&signer.key)? else {
            return Err(EscrowProblem::NoDealing(signer.key).into());
        };
        if !dealing.log.is_empty() {
            return Err(EscrowProblem::DealingClosed.into());
        }
        // Without a round for these holders no log can verify.
        let info = epichain_escrow::dkg_info(&self.config.chain_id, holders)
            .map_err(|_| EscrowProblem::BadLog)?;
        let checked = epichain_escrow::check_log(&info, holders.len(), log);
        if checked.map(|(dealer, _)| epichain_escrow::our_key(&dealer)) != Some(signer.key) {
            return Err(EscrowProblem::BadLog.into());
        }
        dealing.log = log.to_vec();
        dealing.log_height = Some(self.context.height);
        self.overlay.put(&signer.key, dealing);
        self.combine_escrow(false)?;
        Ok(())
    }

    /// Combines the logs into the escrow key once every holder logged, or (with `deadline`) once
    /// a quorum logged and [`ESCROW_COMBINE_WAIT_BLOCKS`] passed since the first log.
    fn combine_escrow(&mut self, deadline: bool) -> Result<(), StorageError> {
        let holders = self.config.escrow_holders.clone();
        let mut logs = BTreeMap::new();
        let mut first_log = u64::MAX;
        for holder in &holders {
            if let Some(dealing) = self.get::<DealingRecord>(holder)?
                && let Some(height) = dealing.log_height
            {
                first_log = first_log.min(height);
                logs.insert(*holder, dealing.log);
            }
        }
        let everyone = logs.len() == holders.len();
        let waited = deadline
            && logs.len() >= epichain_escrow::threshold_for(holders.len()) as usize
            && self.context.height >= first_log.saturating_add(ESCROW_COMBINE_WAIT_BLOCKS);
        if !everyone && !waited {
            return Ok(());
        }
        let Ok(info) = epichain_escrow::dkg_info(&self.config.chain_id, &holders) else {
            return Ok(());
        };
        let Ok(generated) =
            epichain_escrow::observe_logs(&self.config.chain_id, &info, holders.len(), &logs)
        else {
            return Ok(());
        };
        let record = EscrowKeyRecord {
            sharing: generated.sharing,
            threshold: generated.threshold,
            holders: generated.holders,
            dealers: generated.dealers,
            height: self.context.height,
        };
        self.pending_events.push(Event::EscrowKeyGenerated {
            threshold: record.threshold,
            holders: record.holders.len() as u32,
            revealed: generated.revealed.len() as u32,
        });
        self.overlay.put(&(), record);
        Ok(())
    }

    /// End of block: a quorum of logs is combined after the wait even if some holders are silent.
    pub(super) fn escrow_deadline(&mut self) -> Result<(), StorageError> {
        if self.config.escrow_holders.is_empty() || self.exists::<EscrowKeyRecord>(&())? {
            return Ok(());
        }
        self.combine_escrow(true)?;
        self.output.events.append(&mut self.pending_events);
        self.commit_own_writes();
        Ok(())
    }
}
