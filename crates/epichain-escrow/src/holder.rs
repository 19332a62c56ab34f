//! One escrow holder's side of the key generation: it deals, acknowledges the shares dealt to it,
//! closes its dealing with a signed log, and derives its share once the ledger has combined the
//! logs. Pure: given what the chain shows ([`ChainView`]), [`Holder::step`] says what to post;
//! the node posts it. Replaying the chain after a restart rebuilds the same state (the dealing is
//! derived from the holder's key and the chain id).

use crate::{
    EscrowError, EscrowInfo, EscrowShare, EscrowVariant, collect_logs, combine_rng, dkg_info,
    holder_key, our_key,
};
use commonware_codec::{Decode as _, DecodeExt as _, Encode as _};
use commonware_cryptography::bls12381::dkg::feldman_desmedt::{
    Dealer, DealerPrivMsg, DealerPubMsg, Player, PlayerAck,
};
use commonware_cryptography::ed25519;
use commonware_parallel::Sequential;
use commonware_utils::N3f1;
use epichain_core::disclosure::{EscrowMessage, SealedDealing, dealing_binding};
use epichain_core::encoding::{Hash, hash_tagged_parts};
use epichain_core::sealed::{self, EncryptionKeyPair, EncryptionPublicKey};
use epichain_core::{KeyPair, PublicKey};
use rand::SeedableRng as _;
use std::collections::{BTreeMap, BTreeSet};

/// Blocks a dealer waits for every holder's acknowledgement before it closes its dealing (the
/// shares of holders that did not acknowledge are then revealed in its log).
pub const ACK_WAIT_BLOCKS: u64 = 50;

/// One dealing as the chain shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DealingView {
    /// The dealer's public commitment.
    pub public: Vec<u8>,
    /// The share dealt to this holder, sealed to its encryption key.
    pub sealed_share: Option<Vec<u8>>,
    /// Acknowledgements: (player, ack).
    pub acks: Vec<(PublicKey, Vec<u8>)>,
    /// The dealer's log (empty until posted).
    pub log: Vec<u8>,
    /// Height of the dealing.
    pub height: u64,
}

/// The generated key as the chain shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedView {
    /// The public sharing.
    pub sharing: Vec<u8>,
    /// Dealers whose logs were combined.
    pub dealers: Vec<PublicKey>,
}

/// What a holder needs to know of the chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainView {
    /// Current height.
    pub height: u64,
    /// Dealings by dealer.
    pub dealings: BTreeMap<PublicKey, DealingView>,
    /// Holders' published encryption keys.
    pub encryption_keys: BTreeMap<PublicKey, EncryptionPublicKey>,
    /// The key, once generated.
    pub generated: Option<GeneratedView>,
}

type EscrowDealer = Dealer<EscrowVariant, ed25519::PrivateKey>;
type EscrowPlayer = Player<EscrowVariant, ed25519::PrivateKey>;

/// One holder's key-generation state.
pub struct Holder {
    chain_id: Hash,
    info: EscrowInfo,
    holders: Vec<PublicKey>,
    me: PublicKey,
    encryption: EncryptionKeyPair,
    dealer: Option<EscrowDealer>,
    public_message: DealerPubMsg<EscrowVariant>,
    private_messages: Vec<(ed25519::PublicKey, DealerPrivMsg)>,
    player: Option<EscrowPlayer>,
    processed: BTreeSet<PublicKey>,
    my_acks: BTreeMap<PublicKey, Vec<u8>>,
    log: Option<Vec<u8>>,
    share: Option<EscrowShare>,
}

impl std::fmt::Debug for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Holder")
            .field("me", &self.me)
            .field("processed", &self.processed.len())
            .field("logged", &self.log.is_some())
            .field("has_share", &self.share.is_some())
            .finish()
    }
}

impl Holder {
    /// The holder with signing key `key` among `holders` on chain `chain_id`; `encryption` opens
    /// the shares dealt to it; its dealing's randomness derives from `dealer_seed` (its own
    /// secret, not the signing key: review M11), so a restart deals the same again.
    pub fn new(
        chain_id: Hash,
        holders: &[PublicKey],
        key: &KeyPair,
        encryption: EncryptionKeyPair,
        dealer_seed: &[u8; 32],
    ) -> Result<Self, EscrowError> {
        let info = dkg_info(&chain_id, holders)?;
        let signing = ed25519::PrivateKey::decode(key.seed().to_vec())
            .map_err(|_| EscrowError::InvalidParticipant)?;
        let seed = hash_tagged_parts("epichain/v1/escrow-dealer", &[dealer_seed, &chain_id.0]);
        let random = rand::rngs::StdRng::from_seed(seed.0);
        let (dealer, public_message, private_messages) =
            Dealer::start::<N3f1>(random, info.clone(), signing.clone(), None)
                .map_err(|error| EscrowError::Dkg(error.to_string()))?;
        let player = Player::new(info.clone(), signing)
            .map_err(|error| EscrowError::Dkg(error.to_string()))?;
        Ok(Holder {
            chain_id,
            info,
            holders: holders.to_vec(),
            me: key.public_key(),
            encryption,
            dealer: Some(dealer),
            public_message,
            private_messages,
            player: Some(player),
            processed: BTreeSet::new(),
            my_acks: BTreeMap::new(),
            log: None,
            share: None,
        })
    }

    /// This holder's key.
    pub fn key(&self) -> PublicKey {
        self.me
    }

    /// The share, once the key is generated.
    pub fn share(&self) -> Option<&EscrowShare> {
        self.share.as_ref()
    }

    /// Advances with what the chain shows; returns the messages to post now (each one is
    /// returned again by later steps until the chain shows it).
    pub fn step(&mut self, view: &ChainView) -> Result<Vec<EscrowMessage>, EscrowError> {
        if self.share.is_some() {
            return Ok(Vec::new());
        }
        let mut messages = Vec::new();
        self.receive_dealings(view);
        if let Some(generated) = &view.generated {
            self.finalize(view, generated)?;
            return Ok(messages);
        }
        match view.dealings.get(&self.me) {
            None => {
                if let Some(deal) = self.deal(view)? {
                    messages.push(deal);
                }
            }
            Some(mine) => {
                if let Some(log) = self.close_dealing(view, mine) {
                    messages.push(log);
                }
            }
        }
        for (dealer, ack) in &self.my_acks {
            let Some(dealing) = view.dealings.get(dealer) else {
                continue;
            };
            let acknowledged = dealing.acks.iter().any(|(player, _)| *player == self.me);
            if dealing.log.is_empty() && !acknowledged {
                messages.push(EscrowMessage::Ack {
                    dealer: *dealer,
                    ack: ack.clone(),
                });
            }
        }
        Ok(messages)
    }

    /// The dealing, once every holder has published an encryption key.
    fn deal(&self, view: &ChainView) -> Result<Option<EscrowMessage>, EscrowError> {
        let mut shares = Vec::with_capacity(self.private_messages.len());
        for (player, message) in &self.private_messages {
            let player = our_key(player);
            let Some(recipient) = view.encryption_keys.get(&player) else {
                return Ok(None);
            };
            let sealed = sealed::seal_to(
                recipient,
                &message.encode(),
                &dealing_binding(&self.chain_id, &self.me, &player),
            )
            .map_err(|error| EscrowError::Malformed(error.to_string()))?;
            shares.push(SealedDealing { player, sealed });
        }
        Ok(Some(EscrowMessage::Deal {
            public: self.public_message.encode().to_vec(),
            shares,
        }))
    }

    /// Feeds the player every dealing it has not seen; valid ones earn an acknowledgement.
    fn receive_dealings(&mut self, view: &ChainView) {
        let Some(player) = self.player.as_mut() else {
            return;
        };
        for (dealer, dealing) in &view.dealings {
            if self.processed.contains(dealer) {
                continue;
            }
            let Some(sealed_share) = &dealing.sealed_share else {
                self.processed.insert(*dealer);
                continue;
            };
            self.processed.insert(*dealer);
            let opened = sealed::open_from(
                &self.encryption,
                sealed_share,
                &dealing_binding(&self.chain_id, dealer, &self.me),
            );
            let (Ok(private), Ok(public), Ok(dealer_key)) = (
                opened
                    .ok()
                    .and_then(|bytes| DealerPrivMsg::decode(bytes).ok())
                    .ok_or(()),
                DealerPubMsg::<EscrowVariant>::decode_cfg(
                    dealing.public.clone(),
                    &crate::participants_bound(self.holders.len()),
                ),
                holder_key(dealer),
            ) else {
                continue;
            };
            if let Ok(Some(ack)) = player.dealer_message::<N3f1>(dealer_key, public, private) {
                self.my_acks.insert(*dealer, ack.encode().to_vec());
            }
        }
    }

    /// The log of this holder's dealing once every holder acknowledged it or the wait is over.
    fn close_dealing(&mut self, view: &ChainView, mine: &DealingView) -> Option<EscrowMessage> {
        if !mine.log.is_empty() {
            return None;
        }
        if let Some(log) = &self.log {
            return Some(EscrowMessage::Log { log: log.clone() });
        }
        let dealer = self.dealer.as_mut()?;
        let mut acknowledged = BTreeSet::new();
        for (player, ack) in &mine.acks {
            let (Ok(player_key), Ok(ack)) = (
                holder_key(player),
                PlayerAck::<ed25519::PublicKey>::decode(ack.clone()),
            ) else {
                continue;
            };
            if dealer.receive_player_ack(player_key, ack).is_ok() {
                acknowledged.insert(*player);
            }
        }
        let everyone = self
            .holders
            .iter()
            .all(|holder| acknowledged.contains(holder));
        if !everyone && view.height < mine.height.saturating_add(ACK_WAIT_BLOCKS) {
            return None;
        }
        let dealer = self.dealer.take()?;
        let log = dealer.finalize::<N3f1>().encode().to_vec();
        self.log = Some(log.clone());
        Some(EscrowMessage::Log { log })
    }

    /// Derives the share from the combined logs and checks it against the public sharing.
    fn finalize(&mut self, view: &ChainView, generated: &GeneratedView) -> Result<(), EscrowError> {
        let Some(player) = self.player.take() else {
            return Ok(());
        };
        let logs: BTreeMap<PublicKey, Vec<u8>> = generated
            .dealers
            .iter()
            .filter_map(|dealer| {
                view.dealings
                    .get(dealer)
                    .map(|dealing| (*dealer, dealing.log.clone()))
            })
            .collect();
        let collected = collect_logs(&self.info, self.holders.len(), &logs);
        let (output, share) = player
            .finalize::<N3f1>(&mut combine_rng(&self.chain_id), collected, &Sequential)
            .map_err(|failure| EscrowError::Dkg(format!("{failure:?}")))?;
        if output.public().encode().as_ref() != generated.sharing.as_slice() {
            return Err(EscrowError::Dkg(
                "this holder's view of the key differs from the chain's".into(),
            ));
        }
        self.share = Some(share);
        Ok(())
    }
}

/// Encodes a share for storage (secret: the node writes it to a 0600 file).
pub fn encode_share(share: &EscrowShare) -> Vec<u8> {
    share.encode().to_vec()
}

/// Decodes a stored share.
pub fn decode_share(bytes: &[u8]) -> Result<EscrowShare, EscrowError> {
    EscrowShare::decode(bytes.to_vec()).map_err(|error| EscrowError::Malformed(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test holder's dealer seed (its own, distinct from its signing key's seed).
    fn dealer_seed(key: &KeyPair) -> [u8; 32] {
        hash_tagged_parts("test/dealer-seed", &[&key.seed()]).0
    }
    use crate::{decode_sharing, observe_logs, partial_decryption, release, wrap};

    /// A stand-in for the chain: every posted message lands in the next round.
    #[derive(Default)]
    struct Board {
        height: u64,
        dealings: BTreeMap<PublicKey, (DealingView, Vec<SealedDealing>)>,
        encryption_keys: BTreeMap<PublicKey, EncryptionPublicKey>,
        generated: Option<GeneratedView>,
    }

    impl Board {
        fn view_for(&self, me: &PublicKey) -> ChainView {
            ChainView {
                height: self.height,
                dealings: self
                    .dealings
                    .iter()
                    .map(|(dealer, (dealing, shares))| {
                        let mut dealing = dealing.clone();
                        dealing.sealed_share = shares
                            .iter()
                            .find(|share| share.player == *me)
                            .map(|share| share.sealed.clone());
                        (*dealer, dealing)
                    })
                    .collect(),
                encryption_keys: self.encryption_keys.clone(),
                generated: self.generated.clone(),
            }
        }

        fn post(&mut self, from: PublicKey, message: EscrowMessage) {
            match message {
                EscrowMessage::Deal { public, shares } => {
                    let dealing = DealingView {
                        public,
                        height: self.height,
                        ..DealingView::default()
                    };
                    self.dealings.entry(from).or_insert((dealing, shares));
                }
                EscrowMessage::Ack { dealer, ack } => {
                    if let Some((dealing, _)) = self.dealings.get_mut(&dealer) {
                        dealing.acks.push((from, ack));
                    }
                }
                EscrowMessage::Log { log } => {
                    if let Some((dealing, _)) = self.dealings.get_mut(&from) {
                        dealing.log = log;
                    }
                }
            }
        }

        fn logs(&self) -> BTreeMap<PublicKey, Vec<u8>> {
            self.dealings
                .iter()
                .filter(|(_, (dealing, _))| !dealing.log.is_empty())
                .map(|(dealer, (dealing, _))| (*dealer, dealing.log.clone()))
                .collect()
        }
    }

    /// Runs the protocol among `count` holders; `silent` holders never act. The ledger's rule:
    /// combine once every acting holder has logged.
    fn run(count: usize, silent: &[usize]) -> (Hash, Vec<Holder>, crate::Generated) {
        let chain_id = Hash([7; 32]);
        let keys: Vec<KeyPair> = (0..count)
            .map(|index| KeyPair::from_seed([index as u8 + 1; 32]))
            .collect();
        let encryption: Vec<EncryptionKeyPair> = (0..count)
            .map(|index| EncryptionKeyPair::from_seed([index as u8 + 100; 32]))
            .collect();
        let holders: Vec<PublicKey> = keys.iter().map(KeyPair::public_key).collect();
        let mut board = Board {
            encryption_keys: holders
                .iter()
                .zip(&encryption)
                .map(|(key, encryption)| (*key, encryption.public()))
                .collect(),
            ..Board::default()
        };
        let mut members: Vec<Holder> = keys
            .iter()
            .zip(&encryption)
            .map(|(key, encryption)| {
                Holder::new(
                    chain_id,
                    &holders,
                    key,
                    encryption.clone(),
                    &dealer_seed(key),
                )
                .expect("holder")
            })
            .collect();
        let mut generated = None;
        for round in 0..(ACK_WAIT_BLOCKS * 2) {
            board.height = round;
            let mut posted = Vec::new();
            for (index, member) in members.iter_mut().enumerate() {
                if silent.contains(&index) {
                    continue;
                }
                for message in member.step(&board.view_for(&member.key())).expect("step") {
                    posted.push((member.key(), message));
                }
            }
            for (from, message) in posted {
                board.post(from, message);
            }
            let logs = board.logs();
            if generated.is_none() && logs.len() + silent.len() == count {
                let info = dkg_info(&chain_id, &holders).expect("info");
                let output = observe_logs(&chain_id, &info, count, &logs).expect("observe");
                board.generated = Some(GeneratedView {
                    sharing: output.sharing.clone(),
                    dealers: output.dealers.clone(),
                });
                generated = Some(output);
            }
            let done = members
                .iter()
                .enumerate()
                .all(|(index, member)| silent.contains(&index) || member.share().is_some());
            if done && generated.is_some() {
                break;
            }
        }
        (chain_id, members, generated.expect("key generated"))
    }

    fn release_with(
        chain_id: &Hash,
        generated: &crate::Generated,
        shares: &[&EscrowShare],
    ) -> Result<[u8; 32], EscrowError> {
        let sharing = decode_sharing(&generated.sharing, generated.holders.len())?;
        let target = b"case/version";
        let wrapped = wrap(&sharing, chain_id, target, &[9; 32])?;
        let partials: Vec<Vec<u8>> = shares
            .iter()
            .map(|share| partial_decryption(share, chain_id, target))
            .collect();
        release(&sharing, chain_id, target, &partials, &wrapped)
    }

    #[test]
    fn four_holders_generate_a_three_of_four_key_through_the_chain() {
        let (chain_id, members, generated) = run(4, &[]);
        assert_eq!(generated.threshold, 3);
        // The scheme combines a quorum of the valid dealings.
        assert!(generated.dealers.len() >= 3);
        assert!(generated.revealed.is_empty());
        let shares: Vec<&EscrowShare> = members
            .iter()
            .map(|member| member.share().expect("share"))
            .collect();
        assert_eq!(
            release_with(&chain_id, &generated, &shares[..3]),
            Ok([9; 32])
        );
        assert_eq!(
            release_with(&chain_id, &generated, &shares[1..]),
            Ok([9; 32])
        );
        assert!(matches!(
            release_with(&chain_id, &generated, &shares[..2]),
            Err(EscrowError::Release(_))
        ));
        // A stored share decodes to the same share.
        let stored = decode_share(&encode_share(shares[0])).expect("decode");
        assert_eq!(&stored, shares[0]);
    }

    #[test]
    fn a_silent_holder_delays_but_does_not_block_the_key() {
        let (chain_id, members, generated) = run(4, &[3]);
        assert_eq!(generated.dealers.len(), 3);
        // The silent holder never acknowledged: its shares were revealed in the logs.
        assert_eq!(generated.revealed.len(), 1);
        let shares: Vec<&EscrowShare> = members[..3]
            .iter()
            .map(|member| member.share().expect("share"))
            .collect();
        assert_eq!(release_with(&chain_id, &generated, &shares), Ok([9; 32]));
    }

    #[test]
    fn a_restarted_holder_rebuilds_its_dealing_and_share_from_the_chain() {
        let (chain_id, members, generated) = run(4, &[]);
        let key = KeyPair::from_seed([1; 32]);
        let holders: Vec<PublicKey> = (0..4)
            .map(|index| KeyPair::from_seed([index as u8 + 1; 32]).public_key())
            .collect();
        let again = Holder::new(
            chain_id,
            &holders,
            &key,
            EncryptionKeyPair::from_seed([100; 32]),
            &dealer_seed(&key),
        )
        .expect("holder");
        // Same deterministic dealing.
        assert_eq!(
            again.public_message.encode(),
            members[0].public_message.encode()
        );
        let _ = generated;
    }
}
