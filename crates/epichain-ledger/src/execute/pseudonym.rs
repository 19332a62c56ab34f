//! The pseudonym contract (review H4): a CDC publishes a scope's OPRF key; reporting sites of the
//! scope's region post blinded identity numbers, within their institution's daily quota; the
//! scope's CDC answers each request with evaluated elements and a proof, which the site checks
//! against the published key. The chain holds only blinded and evaluated points, and every
//! request names its requester: the audit trail of who asked for how many pseudonyms.

use super::{Exec, Executor};
use crate::rules::{Action, require_role};
use crate::state::{
    IdentityRecord, PSEUDONYM_ELEMENTS_PER_INSTITUTION_DAY_MAX, PSEUDONYM_PENDING_MAX,
    PseudonymAnswer, PseudonymQuota, PseudonymQuotaKey, PseudonymRequestRecord,
    PseudonymScopeRecord, StateRead,
};
use epichain_core::encoding::Hash;
use epichain_core::pseudonym::{
    ELEMENT_BYTES, PROOF_BYTES, PSEUDONYM_BATCH_MAX, PseudonymMessage, PseudonymScope, is_element,
};
use epichain_core::rejection::PseudonymProblem;

impl<S: StateRead> Executor<'_, S> {
    /// A pseudonym key, request or answer.
    pub(super) fn pseudonym(
        &mut self,
        id: Hash,
        signer: &IdentityRecord,
        message: &PseudonymMessage,
    ) -> Exec<()> {
        match message {
            PseudonymMessage::PublishKey { scope, public_key } => {
                self.publish_pseudonym_key(signer, scope, public_key)
            }
            PseudonymMessage::Request { scope, blinded } => {
                self.request_pseudonyms(id, signer, scope, blinded)
            }
            PseudonymMessage::Evaluate {
                request,
                evaluated,
                proof,
            } => self.answer_pseudonyms(signer, request, evaluated, proof),
        }
    }

    /// A CDC of exactly the scope's region publishes or rotates its key (unanswered requests
    /// stay queued for the new key).
    fn publish_pseudonym_key(
        &mut self,
        signer: &IdentityRecord,
        scope: &PseudonymScope,
        public_key: &[u8; ELEMENT_BYTES],
    ) -> Exec<()> {
        require_role(signer.role, Action::EvaluatePseudonyms)?;
        if signer.region != scope.region {
            return Err(PseudonymProblem::NotScopeAuthority.into());
        }
        if !is_element(public_key) {
            return Err(PseudonymProblem::BadElement.into());
        }
        let pending = self
            .get::<PseudonymScopeRecord>(scope)?
            .map(|record| record.pending)
            .unwrap_or_default();
        self.overlay.put(
            scope,
            PseudonymScopeRecord {
                scope: *scope,
                public_key: *public_key,
                evaluator: signer.key,
                published_height: self.context.height,
                pending,
            },
        );
        Ok(())
    }

    fn request_pseudonyms(
        &mut self,
        id: Hash,
        signer: &IdentityRecord,
        scope: &PseudonymScope,
        blinded: &[[u8; ELEMENT_BYTES]],
    ) -> Exec<()> {
        require_role(signer.role, Action::RequestPseudonyms)?;
        if !signer.region.is_within(scope.region) {
            return Err(PseudonymProblem::OutsideScope.into());
        }
        let mut record = self
            .get::<PseudonymScopeRecord>(scope)?
            .ok_or(PseudonymProblem::UnknownScope)?;
        if blinded.is_empty() || blinded.len() > PSEUDONYM_BATCH_MAX {
            return Err(PseudonymProblem::BatchSize.into());
        }
        if !blinded.iter().all(is_element) {
            return Err(PseudonymProblem::BadElement.into());
        }
        if record.pending.len() >= PSEUDONYM_PENDING_MAX {
            return Err(PseudonymProblem::QueueFull.into());
        }
        let quota_key = PseudonymQuotaKey {
            institution: signer.institution.clone(),
            day: self.context.day(),
        };
        let used = self
            .get::<PseudonymQuota>(&quota_key)?
            .unwrap_or_default()
            .0;
        let after = used.saturating_add(blinded.len() as u32);
        if after > PSEUDONYM_ELEMENTS_PER_INSTITUTION_DAY_MAX {
            return Err(PseudonymProblem::QuotaExceeded {
                limit: PSEUDONYM_ELEMENTS_PER_INSTITUTION_DAY_MAX,
            }
            .into());
        }
        self.overlay.put(&quota_key, PseudonymQuota(after));
        record.pending.push(id);
        self.overlay.put(scope, record);
        self.overlay.put(
            &id,
            PseudonymRequestRecord {
                id,
                scope: *scope,
                requester: signer.key,
                institution: signer.institution.clone(),
                blinded: blinded.to_vec(),
                height: self.context.height,
                time_ms: self.context.time_ms,
                answer: None,
            },
        );
        Ok(())
    }

    /// The scope's evaluator answers: one element per blinded one and a proof of the right size.
    /// Whether the proof verifies is the requester's check (against the key recorded here).
    fn answer_pseudonyms(
        &mut self,
        signer: &IdentityRecord,
        request: &Hash,
        evaluated: &[[u8; ELEMENT_BYTES]],
        proof: &[u8],
    ) -> Exec<()> {
        let mut record = self
            .get::<PseudonymRequestRecord>(request)?
            .ok_or(PseudonymProblem::UnknownRequest(*request))?;
        if record.answer.is_some() {
            return Err(PseudonymProblem::AlreadyAnswered.into());
        }
        let mut scope = self
            .get::<PseudonymScopeRecord>(&record.scope)?
            .ok_or(PseudonymProblem::UnknownScope)?;
        if scope.evaluator != signer.key {
            return Err(PseudonymProblem::NotEvaluator.into());
        }
        if evaluated.len() != record.blinded.len() || proof.len() != PROOF_BYTES {
            return Err(PseudonymProblem::AnswerShape.into());
        }
        if !evaluated.iter().all(is_element) {
            return Err(PseudonymProblem::BadElement.into());
        }
        record.answer = Some(PseudonymAnswer {
            evaluated: evaluated.to_vec(),
            proof: proof.to_vec(),
            public_key: scope.public_key,
            by: signer.key,
            height: self.context.height,
        });
        scope.pending.retain(|pending| pending != request);
        self.overlay.put(&record.scope, scope);
        self.overlay.put(request, record);
        Ok(())
    }
}
