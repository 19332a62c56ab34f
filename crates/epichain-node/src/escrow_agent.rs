//! The escrow holder's agent, run by each validator: it publishes the node's encryption key,
//! takes part in the escrow key generation, keeps its share in a 0600 file, and posts sealed
//! decryption shares for every open grant to every grantee.
//!
//! Review M11: the holder's escrow keys are its own ([`HolderKeys`]: an X25519 key and a dealer
//! seed, files beside the share), not derived from the consensus key; and once it holds its
//! share the agent replaces the X25519 key the dealings were sealed to and publishes the new
//! one, so neither the consensus key nor the current encryption key, with the chain, rebuilds
//! the share: the share file is the only copy. [`EscrowAgent::plan`] reads the
//! ledger and says what to post; [`run`] posts it and waits for it to land.

use crate::chain::Chain;
use epichain_core::disclosure::{
    DecryptionShares, GRANTEE_ROLES, RecordVersion, SHARED_RECORDS_MAX,
};
use epichain_core::encoding::Hash;
use epichain_core::keys::{secret_file, write_private_file};
use epichain_core::sealed::{EncryptionKeyPair, EncryptionPublicKey, Envelope};
use epichain_core::{KeyPair, Payload, PublicKey, Role, SignedTransaction, Signer};
use epichain_escrow::holder::{ChainView, DealingView, GeneratedView, Holder};
use epichain_escrow::{EscrowShare, disclosure};
use epichain_ledger::LedgerReader;
use epichain_ledger::state::{DisclosureKey, GrantRecord};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Most transactions the agent posts per round.
const ROUND_TRANSACTIONS_MAX: usize = 32;

/// Records per decryption-share posting (well under the transaction size limit).
const RECORDS_PER_POSTING: usize = 200;

/// Why the agent could not act.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Reading the ledger.
    #[error(transparent)]
    Ledger(#[from] epichain_ledger::LedgerError),
    /// Reading the store.
    #[error(transparent)]
    Storage(#[from] epichain_ledger::StorageError),
    /// The escrow scheme.
    #[error(transparent)]
    Escrow(#[from] epichain_escrow::EscrowError),
    /// The node's chain state.
    #[error("chain: {0}")]
    Chain(String),
    /// The share file or a key file beside it.
    #[error("escrow file {path}: {message}")]
    File {
        /// Path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A key or seed file.
    #[error(transparent)]
    Key(#[from] epichain_core::keys::KeyError),
}

/// File of a holder's X25519 escrow key, in its data directory.
pub const ESCROW_ENCRYPTION_FILE: &str = "escrow.enc";

/// File of a holder's dealer seed, in its data directory.
pub const ESCROW_DEALER_SEED_FILE: &str = "escrow-dealer.seed";

/// A holder's escrow keys, apart from its consensus and signing key (review M11).
#[derive(Clone)]
pub struct HolderKeys {
    encryption: EncryptionKeyPair,
    dealer_seed: [u8; 32],
    encryption_path: Option<PathBuf>,
}

impl std::fmt::Debug for HolderKeys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "HolderKeys({})",
            hex::encode(self.encryption.public().0)
        )
    }
}

fn file_error(path: &std::path::Path, error: impl ToString) -> AgentError {
    AgentError::File {
        path: path.display().to_string(),
        message: error.to_string(),
    }
}

impl HolderKeys {
    /// Keys held in memory only (tests).
    pub fn in_memory(encryption: EncryptionKeyPair, dealer_seed: [u8; 32]) -> Self {
        HolderKeys {
            encryption,
            dealer_seed,
            encryption_path: None,
        }
    }

    /// The keys in `directory` ([`ESCROW_ENCRYPTION_FILE`], [`ESCROW_DEALER_SEED_FILE`]),
    /// made fresh (mode 0600) on first start.
    pub fn in_directory(directory: &std::path::Path) -> Result<Self, AgentError> {
        let encryption_path = directory.join(ESCROW_ENCRYPTION_FILE);
        Ok(HolderKeys {
            encryption: EncryptionKeyPair::from_seed(secret_file(&encryption_path)?),
            dealer_seed: secret_file(&directory.join(ESCROW_DEALER_SEED_FILE))?,
            encryption_path: Some(encryption_path),
        })
    }

    /// Replaces the encryption key with a fresh one (the file atomically, by rename).
    fn rotate_encryption(&mut self) -> Result<(), AgentError> {
        let seed = epichain_core::keys::random_secret()?;
        if let Some(path) = &self.encryption_path {
            let next = path.with_extension("enc.next");
            let _ = std::fs::remove_file(&next);
            write_private_file(&next, format!("{}\n", hex::encode(seed)).as_bytes())?;
            std::fs::rename(&next, path).map_err(|error| file_error(path, error))?;
        }
        self.encryption = EncryptionKeyPair::from_seed(seed);
        Ok(())
    }
}

/// One validator's escrow agent.
#[derive(Debug)]
pub struct EscrowAgent {
    chain_id: Hash,
    holders: Vec<PublicKey>,
    key: KeyPair,
    keys: HolderKeys,
    holder: Option<Holder>,
    share: Option<EscrowShare>,
    share_path: Option<PathBuf>,
    /// Whether the encryption key was replaced since the share was obtained.
    rotated: bool,
}

impl EscrowAgent {
    /// The agent of the holder with signing key `key` and escrow keys `keys`; its share is kept
    /// at `share_path`.
    pub fn new(
        chain_id: Hash,
        holders: Vec<PublicKey>,
        key: KeyPair,
        keys: HolderKeys,
        share_path: Option<PathBuf>,
    ) -> Self {
        EscrowAgent {
            chain_id,
            holders,
            key,
            keys,
            holder: None,
            share: None,
            share_path,
            rotated: false,
        }
    }

    /// The holder's current escrow keys.
    pub fn keys(&self) -> &HolderKeys {
        &self.keys
    }

    /// This holder's key.
    pub fn key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// True once the holder has its share.
    pub fn has_share(&self) -> bool {
        self.share.is_some()
    }

    /// What to post now, given the ledger state (at most [`ROUND_TRANSACTIONS_MAX`] payloads).
    pub fn plan(&mut self, reader: &LedgerReader) -> Result<Vec<Payload>, AgentError> {
        let me = self.key();
        if !self.holders.contains(&me) {
            return Ok(Vec::new());
        }
        let Some(identity) = reader.identity(&me)? else {
            return Ok(Vec::new());
        };
        if identity.revoked.is_some() {
            return Ok(Vec::new());
        }
        let generated = reader.get::<epichain_ledger::state::EscrowKeyRecord>(&())?;
        if self.share.is_none()
            && let Some(key) = &generated
        {
            self.load_share(&key.sharing)?;
        }
        if self.share.is_some() && !self.rotated {
            // The dealings on chain are sealed to the key held until now: replace it.
            self.keys.rotate_encryption()?;
            self.rotated = true;
        }
        let public = self.keys.encryption.public();
        let publish =
            reader.get::<epichain_core::sealed::EncryptionPublicKey>(&me)? != Some(public);
        if publish && self.share.is_none() {
            // Dealings are sealed to the published key: publish it before taking part.
            return Ok(vec![Payload::PublishEncryptionKey(public)]);
        }
        if self.share.is_none() {
            let view = self.view(reader, generated.as_ref())?;
            let holder = match self.holder.as_mut() {
                Some(holder) => holder,
                None => self.holder.insert(Holder::new(
                    self.chain_id,
                    &self.holders,
                    &self.key,
                    self.keys.encryption.clone(),
                    &self.keys.dealer_seed,
                )?),
            };
            let messages = holder.step(&view)?;
            if let Some(share) = holder.share().cloned() {
                self.store_share(&share)?;
                self.share = Some(share);
                self.holder = None;
            }
            return Ok(messages.into_iter().map(Payload::Escrow).collect());
        }
        let mut payloads = self.disclosures(reader)?;
        if publish {
            payloads.truncate(ROUND_TRANSACTIONS_MAX - 1);
            payloads.insert(0, Payload::PublishEncryptionKey(public));
        }
        Ok(payloads)
    }

    /// The key generation as the chain shows it to this holder.
    fn view(
        &self,
        reader: &LedgerReader,
        generated: Option<&epichain_ledger::state::EscrowKeyRecord>,
    ) -> Result<ChainView, AgentError> {
        let me = self.key();
        let mut view = ChainView {
            height: reader.store().tip()?.map_or(0, |tip| tip.height),
            generated: generated.map(|key| GeneratedView {
                sharing: key.sharing.clone(),
                dealers: key.dealers.clone(),
            }),
            ..ChainView::default()
        };
        for holder in &self.holders {
            if let Some(key) = reader.get::<epichain_core::sealed::EncryptionPublicKey>(holder)? {
                view.encryption_keys.insert(*holder, key);
            }
            if let Some(dealing) = reader.get::<epichain_ledger::state::DealingRecord>(holder)? {
                view.dealings.insert(
                    *holder,
                    DealingView {
                        public: dealing.public,
                        sealed_share: dealing
                            .shares
                            .into_iter()
                            .find(|share| share.player == me)
                            .map(|share| share.sealed),
                        acks: dealing
                            .acks
                            .into_iter()
                            .map(|ack| (ack.player, ack.ack))
                            .collect(),
                        log: dealing.log,
                        height: dealing.height,
                    },
                );
            }
        }
        Ok(view)
    }

    fn load_share(&mut self, sharing: &[u8]) -> Result<(), AgentError> {
        let Some(path) = &self.share_path else {
            return Ok(());
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return Ok(());
        };
        let bytes = hex::decode(text.trim()).map_err(|error| file_error(path, error))?;
        let share = epichain_escrow::holder::decode_share(&bytes)?;
        let sharing = epichain_escrow::decode_sharing(sharing, self.holders.len())?;
        if !epichain_escrow::share_matches(&sharing, &share) {
            return Err(file_error(
                path,
                "the stored share does not match the chain's escrow key",
            ));
        }
        self.share = Some(share);
        Ok(())
    }

    fn store_share(&self, share: &EscrowShare) -> Result<(), AgentError> {
        let Some(path) = &self.share_path else {
            return Ok(());
        };
        let text = format!(
            "{}\n",
            hex::encode(epichain_escrow::holder::encode_share(share))
        );
        Ok(write_private_file(path, text.as_bytes())?)
    }

    /// Decryption shares still owed to grantees of open grants.
    fn disclosures(&self, reader: &LedgerReader) -> Result<Vec<Payload>, AgentError> {
        let Some(share) = &self.share else {
            return Ok(Vec::new());
        };
        let Some(tip) = reader.store().tip()? else {
            return Ok(Vec::new());
        };
        let me = self.key();
        let mut payloads = Vec::new();
        // Every open grant, however many (review M8: only the newest 1,000 were served).
        for grant in reader.open_grants(tip.time_ms, usize::MAX)? {
            let records = granted_records(reader, &grant)?;
            if records.is_empty() {
                continue;
            }
            for (grantee, encryption) in grantees(reader, &grant)? {
                let key = DisclosureKey {
                    grant: grant.id,
                    grantee,
                    holder: me,
                };
                let mut owed: Vec<RecordVersion> = Vec::new();
                for record in &records {
                    if !reader.is_shared(&key, *record)? {
                        owed.push(*record);
                    }
                }
                for chunk in owed.chunks(RECORDS_PER_POSTING.min(SHARED_RECORDS_MAX)) {
                    let sealed = disclosure::seal_partials(
                        share,
                        &self.chain_id,
                        &grant.id,
                        (&grantee, &encryption),
                        &me,
                        chunk,
                    )?;
                    payloads.push(Payload::DecryptionShares(DecryptionShares {
                        grant: grant.id,
                        grantee,
                        records: chunk.to_vec(),
                        sealed,
                    }));
                    if payloads.len() >= ROUND_TRANSACTIONS_MAX {
                        return Ok(payloads);
                    }
                }
            }
        }
        Ok(payloads)
    }

    /// Signs payloads with consecutive nonces after the signer's last.
    pub fn sign(
        &self,
        reader: &LedgerReader,
        payloads: Vec<Payload>,
    ) -> Result<Vec<SignedTransaction>, AgentError> {
        let last = reader
            .identity(&self.key())?
            .map_or(0, |identity| identity.nonce);
        let mut signer = Signer::new(self.key.clone(), self.chain_id, last);
        Ok(payloads
            .into_iter()
            .map(|payload| signer.sign(payload))
            .collect())
    }
}

/// The record versions a grant covers that carry an escrow wrap, in order.
pub fn granted_records(
    reader: &LedgerReader,
    grant: &GrantRecord,
) -> Result<Vec<RecordVersion>, AgentError> {
    let scope = &grant.scope;
    let cases = reader.store().cases_by_disease(
        &scope.disease,
        scope.region,
        scope.first_day.0,
        scope.last_day.0,
        100_000,
    )?;
    let mut records = Vec::new();
    for case_id in cases {
        let Some(case) = reader.case(&case_id)? else {
            continue;
        };
        if !scope.covers(&case.disease, case.region, case.report_day) {
            continue;
        }
        for view in reader.case_history(&case_id)? {
            let escrowed = Envelope::from_bytes(view.change.sealed())
                .is_ok_and(|envelope| !envelope.escrow.is_empty());
            if escrowed {
                records.push(RecordVersion {
                    case_id,
                    version: view.version.version,
                });
            }
        }
    }
    records.sort();
    records.dedup();
    Ok(records)
}

/// The grantees of a grant that can receive shares now: admitted by the grant (in its audience
/// since before it opened), unrevoked, with a published encryption key.
pub fn grantees(
    reader: &LedgerReader,
    grant: &GrantRecord,
) -> Result<Vec<(PublicKey, EncryptionPublicKey)>, AgentError> {
    let store = reader.store();
    let mut keys = Vec::new();
    for neighbour in &grant.audience.neighbours {
        for role in GRANTEE_ROLES {
            keys.extend(store.identities_within(role, *neighbour)?);
        }
    }
    for parent in &grant.audience.parents {
        keys.extend(store.identities_at(Role::Authority, *parent)?);
    }
    keys.sort();
    keys.dedup();
    let mut found = Vec::new();
    for key in keys {
        let Some(identity) = reader.identity(&key)? else {
            continue;
        };
        if identity.revoked.is_some() || !grant.admits(&identity) {
            continue;
        }
        if let Some(encryption) = reader.get::<epichain_core::sealed::EncryptionPublicKey>(&key)? {
            found.push((key, encryption));
        }
    }
    Ok(found)
}

/// Rounds a posting may be neither pending nor landed (on its way into a block) before the
/// agent plans it again.
const MISSING_ROUNDS_MAX: u32 = 10;

/// Plans and signs one round: what the agent owes (its escrow messages, decryption shares).
fn plan_round(
    agent: &mut EscrowAgent,
    chain: &Chain,
) -> Result<Vec<SignedTransaction>, AgentError> {
    let reader = chain
        .reader()
        .map_err(|error| AgentError::Chain(error.to_string()))?;
    let payloads = agent.plan(&reader)?;
    agent.sign(&reader, payloads)
}

/// Runs the agent until the process stops: every `interval`, unless earlier postings are still
/// on their way, plans, signs and submits (locally and by gossip). Planning reads the ledger and
/// computes partial decryptions: it runs where blocking work goes, never on the consensus
/// workers (review M8).
pub async fn run<C: commonware_runtime::Clock + commonware_runtime::Spawner>(
    mut agent: EscrowAgent,
    chain: Arc<Chain>,
    gossip: futures::channel::mpsc::UnboundedSender<Arc<SignedTransaction>>,
    clock: C,
    interval: Duration,
) {
    let mut in_flight: Vec<(Hash, u32)> = Vec::new();
    let mut last_error = String::new();
    loop {
        clock.sleep(interval).await;
        let Ok(reader) = chain.reader() else {
            continue;
        };
        in_flight.retain_mut(|(id, missing)| {
            if reader.receipt(id).ok().flatten().is_some() {
                return false;
            }
            if !chain.is_pending(id) {
                *missing += 1;
            }
            *missing <= MISSING_ROUNDS_MAX
        });
        drop(reader);
        if !in_flight.is_empty() {
            continue;
        }
        let worker_chain = chain.clone();
        let round = clock
            .child("plan")
            .shared(true)
            .spawn(move |_| async move {
                let planned = plan_round(&mut agent, &worker_chain);
                (agent, planned)
            })
            .await;
        let planned = match round {
            Ok((returned, planned)) => {
                agent = returned;
                planned
            }
            Err(error) => {
                tracing::error!(?error, "escrow agent stopped");
                return;
            }
        };
        let transactions = match planned {
            Ok(transactions) => transactions,
            Err(error) => {
                let message = error.to_string();
                if message != last_error {
                    tracing::warn!(%message, "escrow agent");
                    last_error = message;
                }
                continue;
            }
        };
        let now = crate::application::now_ms(&clock);
        for transaction in transactions {
            let id = transaction.id();
            if chain.submit(&transaction.to_bytes(), now).is_ok() {
                in_flight.push((id, 0));
                let _ = gossip.unbounded_send(Arc::new(transaction));
            }
        }
    }
}
