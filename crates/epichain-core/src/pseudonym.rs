//! Patient pseudonyms no reporting site can compute or invert (review H4): a verifiable oblivious
//! PRF (RFC 9497, Ristretto255-SHA512, verifiable mode) whose key only the CDC of a scope holds.
//!
//! A reporting site normalises the identity document number, blinds it (`blind`) and asks on
//! chain for an evaluation; the CDC evaluates the blinded elements with its scope key
//! (`PseudonymSecret::evaluate`) and posts them with a proof that it used the key it published;
//! the site unblinds and checks the proof (`Blinding::finalize`). The site learns the pseudonym
//! of the numbers it asked for and nothing else; the CDC never sees a number; the chain sees
//! blinded and evaluated points, which reveal neither. Every request is on chain (audited) and
//! counted against the requesting institution's daily quota, so a dictionary through the CDC is
//! slow and visible.
//!
//! A scope is a jurisdiction and a purpose: its key derives from the CDC's seed and the scope
//! (`DeriveKeyPair(seed, info)`), so one scope's pseudonyms do not link to another's; only the
//! seed holder links them (`PseudonymSecret::pseudonym`).

use crate::encoding::{Hash, hash_tagged, tag};
use crate::region::RegionCode;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use voprf::{
    BlindedElement, EvaluationElement, Group, Proof, Ristretto255, VoprfClient, VoprfServer,
};

/// Bytes of a blinded or evaluated element (a compressed Ristretto255 point).
pub const ELEMENT_BYTES: usize = 32;

/// Bytes of a batch evaluation proof (two scalars).
pub const PROOF_BYTES: usize = 64;

/// Most identity numbers blinded in one request.
pub const PSEUDONYM_BATCH_MAX: usize = 64;

/// Longest identity document number, in characters, after normalisation.
pub const DOCUMENT_NUMBER_CHARS_MAX: usize = 64;

crate::coded::coded_enum! {
    /// What pseudonyms of a scope are for.
    pub enum PseudonymPurpose("purpose") {
        /// Linking a patient's case reports.
        CaseReporting = 0 => "case-reporting",
        /// Linking contacts and exposures in tracing.
        ContactTracing = 1 => "contact-tracing",
    }
}

/// A jurisdiction and a purpose: one OPRF key.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct PseudonymScope {
    /// The jurisdiction whose reporting sites use it.
    pub region: RegionCode,
    /// What for.
    pub purpose: PseudonymPurpose,
}

impl PseudonymScope {
    /// The `info` of RFC 9497 `DeriveKeyPair` for this scope.
    fn info(&self) -> Vec<u8> {
        crate::encoding::signing_bytes(tag::PATIENT_PSEUDONYM, self)
    }
}

/// A pseudonym transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PseudonymMessage {
    /// A CDC of the scope's region publishes (or rotates) the scope's key; it evaluates the
    /// scope's requests.
    PublishKey {
        /// The scope.
        scope: PseudonymScope,
        /// The scope's public key (a Ristretto255 element).
        #[serde(with = "crate::encoding::hex_array")]
        public_key: [u8; ELEMENT_BYTES],
    },
    /// A reporting site asks for blinded numbers to be evaluated (counted against its
    /// institution's daily quota).
    Request {
        /// The scope.
        scope: PseudonymScope,
        /// 1 to [`PSEUDONYM_BATCH_MAX`] blinded elements.
        #[serde(with = "crate::encoding::hex_arrays")]
        blinded: Vec<[u8; ELEMENT_BYTES]>,
    },
    /// The scope's CDC answers a request: one evaluated element per blinded one and a proof.
    Evaluate {
        /// The request (its transaction id).
        request: Hash,
        /// Evaluated elements, in the request's order.
        #[serde(with = "crate::encoding::hex_arrays")]
        evaluated: Vec<[u8; ELEMENT_BYTES]>,
        /// The batch proof ([`PROOF_BYTES`]).
        #[serde(with = "crate::encoding::hex_bytes")]
        proof: Vec<u8>,
    },
}

/// Why a pseudonym could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PseudonymError {
    /// An 18-character resident identity number with a wrong check digit.
    #[error("resident identity number fails its ISO 7064 MOD 11-2 check digit")]
    CheckDigit,
    /// Empty or not printable.
    #[error("identity document number must be 1 to 64 printable ASCII characters")]
    Format,
    /// No numbers, or more than [`PSEUDONYM_BATCH_MAX`].
    #[error("a request blinds 1 to {PSEUDONYM_BATCH_MAX} numbers")]
    BatchSize,
    /// Not a point of the group (or the identity).
    #[error("not a valid Ristretto255 element")]
    Element,
    /// The evaluation does not match the request, or its proof does not verify against the
    /// scope's published key.
    #[error("the evaluation's proof does not verify against the scope's published key")]
    Proof,
}

/// Normalises an identity document number (spaces removed, upper case) and checks an
/// 18-character resident identity number's (GB 11643) check digit, so a typo cannot silently
/// make a second person.
pub fn normalise_document_number(document_number: &str) -> Result<String, PseudonymError> {
    let normalised: String = document_number
        .chars()
        .filter(|character| !character.is_whitespace())
        .map(|character| character.to_ascii_uppercase())
        .collect();
    if normalised.is_empty()
        || normalised.len() > DOCUMENT_NUMBER_CHARS_MAX
        || !normalised.bytes().all(|byte| byte.is_ascii_graphic())
    {
        return Err(PseudonymError::Format);
    }
    if looks_like_resident_id(&normalised) && !resident_id_check_digit_ok(&normalised) {
        return Err(PseudonymError::CheckDigit);
    }
    Ok(normalised)
}

fn looks_like_resident_id(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 18
        && bytes[..17].iter().all(u8::is_ascii_digit)
        && (bytes[17].is_ascii_digit() || bytes[17] == b'X')
}

fn resident_id_check_digit_ok(text: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let bytes = text.as_bytes();
    let sum: u32 = bytes[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    CHECK[(sum % 11) as usize] == bytes[17]
}

/// True if `bytes` encode a valid, non-identity group element (what the ledger accepts in
/// requests and evaluations).
pub fn is_element(bytes: &[u8; ELEMENT_BYTES]) -> bool {
    BlindedElement::<Ristretto255>::deserialize(bytes).is_ok()
}

/// The pseudonym on chain: a tagged hash of the OPRF output.
fn pseudonym_of(output: &[u8]) -> Hash {
    hash_tagged(tag::PATIENT_PSEUDONYM, output)
}

/// A CDC's pseudonymisation seed (32 random bytes in a 0600 file, `keys::secret_file`; never on
/// chain): every scope key derives from it.
#[derive(Clone)]
pub struct PseudonymSecret([u8; 32]);

impl std::fmt::Debug for PseudonymSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PseudonymSecret(…)")
    }
}

impl PseudonymSecret {
    /// A seed from its bytes.
    pub fn from_bytes(seed: [u8; 32]) -> Self {
        PseudonymSecret(seed)
    }

    fn server(&self, scope: &PseudonymScope) -> VoprfServer<Ristretto255> {
        VoprfServer::<Ristretto255>::new_from_seed(&self.0, &scope.info())
            .expect("RFC 9497 DeriveKeyPair fails with probability 2^-255 per attempt")
    }

    /// The scope's public key, published on chain.
    pub fn public_key(&self, scope: &PseudonymScope) -> [u8; ELEMENT_BYTES] {
        let element = self.server(scope).get_public_key();
        let mut bytes = [0u8; ELEMENT_BYTES];
        bytes.copy_from_slice(&<Ristretto255 as Group>::serialize_elem(element));
        bytes
    }

    /// Evaluates blinded elements with the scope key, with one proof for the batch.
    pub fn evaluate(
        &self,
        scope: &PseudonymScope,
        blinded: &[[u8; ELEMENT_BYTES]],
    ) -> Result<(Vec<[u8; ELEMENT_BYTES]>, [u8; PROOF_BYTES]), PseudonymError> {
        if blinded.is_empty() || blinded.len() > PSEUDONYM_BATCH_MAX {
            return Err(PseudonymError::BatchSize);
        }
        let elements = blinded
            .iter()
            .map(|bytes| BlindedElement::<Ristretto255>::deserialize(bytes))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| PseudonymError::Element)?;
        let result = self
            .server(scope)
            .batch_blind_evaluate(&mut rand_core_06::OsRng, &elements)
            .map_err(|_| PseudonymError::Element)?;
        let evaluated = result
            .messages
            .iter()
            .map(|message| {
                let mut bytes = [0u8; ELEMENT_BYTES];
                bytes.copy_from_slice(&message.serialize());
                bytes
            })
            .collect();
        let mut proof = [0u8; PROOF_BYTES];
        proof.copy_from_slice(&result.proof.serialize());
        Ok((evaluated, proof))
    }

    /// The pseudonym of a number in a scope, computed directly: what only the seed holder can
    /// do (linkage across scopes, audited; and tests).
    pub fn pseudonym(
        &self,
        scope: &PseudonymScope,
        document_number: &str,
    ) -> Result<Hash, PseudonymError> {
        let normalised = normalise_document_number(document_number)?;
        let output = self
            .server(scope)
            .evaluate(normalised.as_bytes())
            .map_err(|_| PseudonymError::Format)?;
        Ok(pseudonym_of(&output))
    }
}

/// A reporting site's blinded numbers, kept until the CDC's evaluation arrives.
pub struct Blinding {
    inputs: Vec<String>,
    clients: Vec<VoprfClient<Ristretto255>>,
}

impl std::fmt::Debug for Blinding {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "Blinding({} numbers)", self.inputs.len())
    }
}

/// Normalises and blinds identity document numbers with fresh random blinds; returns the state
/// to keep and the blinded elements to send.
pub fn blind(
    document_numbers: &[&str],
) -> Result<(Blinding, Vec<[u8; ELEMENT_BYTES]>), PseudonymError> {
    if document_numbers.is_empty() || document_numbers.len() > PSEUDONYM_BATCH_MAX {
        return Err(PseudonymError::BatchSize);
    }
    let mut blinding = Blinding {
        inputs: Vec::with_capacity(document_numbers.len()),
        clients: Vec::with_capacity(document_numbers.len()),
    };
    let mut blinded = Vec::with_capacity(document_numbers.len());
    for number in document_numbers {
        let normalised = normalise_document_number(number)?;
        let result =
            VoprfClient::<Ristretto255>::blind(normalised.as_bytes(), &mut rand_core_06::OsRng)
                .map_err(|_| PseudonymError::Format)?;
        let mut bytes = [0u8; ELEMENT_BYTES];
        bytes.copy_from_slice(&result.message.serialize());
        blinded.push(bytes);
        blinding.inputs.push(normalised);
        blinding.clients.push(result.state);
    }
    Ok((blinding, blinded))
}

impl Blinding {
    /// Unblinds the CDC's evaluation after checking its proof against the scope's published
    /// `public_key`; one pseudonym per number, in order.
    pub fn finalize(
        &self,
        evaluated: &[[u8; ELEMENT_BYTES]],
        proof: &[u8; PROOF_BYTES],
        public_key: &[u8; ELEMENT_BYTES],
    ) -> Result<Vec<Hash>, PseudonymError> {
        if evaluated.len() != self.clients.len() {
            return Err(PseudonymError::Proof);
        }
        let messages = evaluated
            .iter()
            .map(|bytes| EvaluationElement::<Ristretto255>::deserialize(bytes))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| PseudonymError::Element)?;
        let proof = Proof::<Ristretto255>::deserialize(proof).map_err(|_| PseudonymError::Proof)?;
        let key = <Ristretto255 as Group>::deserialize_elem(public_key)
            .map_err(|_| PseudonymError::Element)?;
        let inputs: Vec<&[u8]> = self.inputs.iter().map(String::as_bytes).collect();
        let outputs = VoprfClient::batch_finalize(&inputs, &self.clients, &messages, &proof, key)
            .map_err(|_| PseudonymError::Proof)?;
        outputs
            .map(|output| {
                output
                    .map(|output| pseudonym_of(&output))
                    .map_err(|_| PseudonymError::Proof)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(region: &str, purpose: PseudonymPurpose) -> PseudonymScope {
        PseudonymScope {
            region: region.parse().expect("region"),
            purpose,
        }
    }

    /// A valid GB 11643 number: county, birth date, sequence, and its check digit.
    fn resident_id(county: &str, birth: &str, sequence: u32) -> String {
        let body = format!("{county}{birth}{sequence:03}");
        (0..11)
            .map(|check| format!("{body}{}", b"10X98765432"[check] as char))
            .find(|candidate| resident_id_check_digit_ok(candidate))
            .expect("one check digit fits")
    }

    /// The site's protocol run: blind, the CDC evaluates, the site finalizes.
    fn through_the_cdc(
        secret: &PseudonymSecret,
        scope: &PseudonymScope,
        numbers: &[&str],
    ) -> Vec<Hash> {
        let (blinding, blinded) = blind(numbers).expect("blind");
        let (evaluated, proof) = secret.evaluate(scope, &blinded).expect("evaluate");
        blinding
            .finalize(&evaluated, &proof, &secret.public_key(scope))
            .expect("finalize")
    }

    #[test]
    fn sites_get_the_cdc_pseudonym_and_scopes_do_not_link() {
        let secret = PseudonymSecret::from_bytes([7; 32]);
        let shenzhen = scope("440300", PseudonymPurpose::CaseReporting);
        let id = resident_id("440304", "19850314", 123);
        let spaced = format!("{} {}", &id[..6], id[6..].to_lowercase());
        let pseudonyms = through_the_cdc(&secret, &shenzhen, &[&id, &spaced, "E12345678"]);
        assert_eq!(pseudonyms[0], pseudonyms[1], "normalised before blinding");
        assert_eq!(
            pseudonyms[0],
            secret.pseudonym(&shenzhen, &id).expect("direct")
        );
        assert_ne!(pseudonyms[0], pseudonyms[2]);
        // Fresh blinds each time, the same pseudonym.
        assert_eq!(
            through_the_cdc(&secret, &shenzhen, &[&id])[0],
            pseudonyms[0]
        );
        for other in [
            scope("440100", PseudonymPurpose::CaseReporting),
            scope("440300", PseudonymPurpose::ContactTracing),
        ] {
            assert_ne!(through_the_cdc(&secret, &other, &[&id])[0], pseudonyms[0]);
        }
        let mut wrong = id.clone();
        wrong.replace_range(17.., if id.ends_with('1') { "2" } else { "1" });
        assert_eq!(blind(&[&wrong]).err(), Some(PseudonymError::CheckDigit));
        assert_eq!(blind(&["  "]).err(), Some(PseudonymError::Format));
        assert_eq!(blind(&[]).err(), Some(PseudonymError::BatchSize));
    }

    /// A CDC that evaluates with another key than the one it published is caught by the site.
    #[test]
    fn an_evaluation_under_another_key_is_refused() {
        let published = PseudonymSecret::from_bytes([7; 32]);
        let other = PseudonymSecret::from_bytes([8; 32]);
        let shenzhen = scope("440300", PseudonymPurpose::CaseReporting);
        let (blinding, blinded) = blind(&["E12345678"]).expect("blind");
        let (evaluated, proof) = other.evaluate(&shenzhen, &blinded).expect("evaluate");
        assert_eq!(
            blinding.finalize(&evaluated, &proof, &published.public_key(&shenzhen)),
            Err(PseudonymError::Proof)
        );
        assert!(
            !is_element(&[0u8; ELEMENT_BYTES]),
            "the identity is refused"
        );
        assert!(is_element(&blinded[0]));
    }

    /// Review H4: with everything a hospital holds — its own patients' numbers, blinds and
    /// evaluations, the scope's public key, and every blinded request, evaluation and pseudonym
    /// on chain — a dictionary over one county's numbers (a month of birth dates × 100 sequence
    /// numbers) does not recover another patient's pseudonym; the seed holder's key finds it in
    /// the same dictionary, so the dictionary does cover the patient.
    #[test]
    fn a_dictionary_with_what_a_hospital_holds_recovers_no_pseudonym() {
        let secret = PseudonymSecret::from_bytes([7; 32]);
        let shenzhen = scope("440300", PseudonymPurpose::CaseReporting);
        let public_key = secret.public_key(&shenzhen);
        let target = resident_id("440304", "19850314", 123);
        let on_chain = through_the_cdc(&secret, &shenzhen, &[&target])[0];
        // The hospital's own patient: its blinding state, the evaluation and proof it got.
        let own = resident_id("440304", "19900101", 555);
        let (own_blinding, own_blinded) = blind(&[&own]).expect("blind");
        let (own_evaluated, own_proof) = secret.evaluate(&shenzhen, &own_blinded).expect("eval");
        let dictionary: Vec<String> = (1..=31)
            .flat_map(|day| (100..200).map(move |sequence| (day, sequence)))
            .map(|(day, sequence)| resident_id("440304", &format!("198503{day:02}"), sequence))
            .collect();
        assert!(dictionary.contains(&target));
        let mut recovered = 0;
        for candidate in &dictionary {
            // The only PRF output the hospital can use: its own evaluation, unblinded with its
            // own blind, finalized as if for the candidate.
            let reused = Blinding {
                inputs: vec![candidate.clone()],
                clients: own_blinding.clients.clone(),
            };
            let guess = reused
                .finalize(&own_evaluated, &own_proof, &public_key)
                .expect("its own proof verifies")[0];
            if guess == on_chain {
                recovered += 1;
            }
        }
        assert_eq!(recovered, 0, "the hospital recovered the pseudonym");
        let found = dictionary
            .iter()
            .filter(|candidate| secret.pseudonym(&shenzhen, candidate) == Ok(on_chain))
            .count();
        assert_eq!(found, 1, "the key holder finds it in the same dictionary");
    }
}
