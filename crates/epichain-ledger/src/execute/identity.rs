//! The identity contract.
//!
//! - A key enrols itself (proof of possession: the enrolment is signed by the key) with an X.509
//!   chain that verifies at block time against the configured roots and follows the national →
//!   province → city hierarchy; the leaf names the role and home region. Re-enrolment renews
//!   the certificate and keeps the nonce; it must bring a certificate newer (by `not_before`)
//!   than the one it replaces, so a superseded certificate cannot restore an old role.
//! - A signer is authenticated when enrolled, not revoked, no CA above it revoked, inside its
//!   chain's validity at block time, and its nonce is the next after its last (a gap waits: a
//!   transaction that overtook an earlier one in the network must not make the earlier stale).
//! - Revocation is final. An authority revokes identities and CAs within its jurisdiction;
//!   authorities and CAs only from strictly above. Anyone may revoke its own key.

use super::{Event, Exec, Executor};
use crate::rules::{Action, require_role, require_within};
use crate::state::{
    AuthorityCertificate, CertificateDer, IdentityRecord, RevocationRecord, StateRead,
};
use epichain_core::cert;
use epichain_core::encoding::{hash_tagged, tag};
use epichain_core::rejection::CertificateProblem;
use epichain_core::sealed::EncryptionPublicKey;
use epichain_core::transaction::RevocationReason;
use epichain_core::{
    EnrollIdentity, PublicKey, Rejection, RevokeIdentity, Role, SignedTransaction,
};

/// A signer's nonces run 1, 2, 3, …: each transaction takes the next one.
fn check_nonce(nonce: u64, last: u64) -> Result<(), Rejection> {
    if nonce <= last {
        return Err(Rejection::StaleNonce { nonce, last });
    }
    if nonce != last + 1 {
        return Err(Rejection::NonceGap { nonce, last });
    }
    Ok(())
}

/// The height since which a (re-)enrolling key holds the leaf's claims: kept by a renewal with
/// the same claims. Review M10: a re-enrolment must bring a newer certificate than the enrolled
/// one, so a superseded certificate cannot be brought back.
fn claims_since(
    existing: Option<&IdentityRecord>,
    leaf: &cert::ParsedCertificate,
    height: u64,
) -> Result<u64, Rejection> {
    let Some(existing) = existing else {
        return Ok(height);
    };
    if leaf.not_before_seconds <= existing.certificate_not_before_seconds {
        return Err(CertificateProblem::Superseded.into());
    }
    let same_claims = existing.role == leaf.claims.role
        && existing.region == leaf.claims.region
        && existing.institution == leaf.claims.institution;
    Ok(if same_claims {
        existing.claims_since_height
    } else {
        height
    })
}

impl<S: StateRead> Executor<'_, S> {
    /// An enrolled, unrevoked signer whose chain is valid at block time and whose nonce is fresh.
    pub(super) fn authenticate(&self, key: &PublicKey, nonce: u64) -> Exec<IdentityRecord> {
        let Some(identity) = self.get::<IdentityRecord>(key)? else {
            return Err(Rejection::UnknownSigner(*key).into());
        };
        self.check_standing(&identity)?;
        check_nonce(nonce, identity.nonce)?;
        Ok(identity)
    }

    /// Not revoked, no revoked CA above, certificate chain valid at block time.
    pub(super) fn check_standing(&self, identity: &IdentityRecord) -> Exec<()> {
        if identity.revoked.is_some() || self.is_revoked(&identity.key)? {
            return Err(Rejection::RevokedSigner(identity.key).into());
        }
        for issuer in &identity.issuer_keys {
            if self.is_revoked(issuer)? {
                return Err(Rejection::RevokedIssuer(*issuer).into());
            }
        }
        let now = self.context.time_seconds();
        if now < identity.valid_from_seconds || now > identity.valid_until_seconds {
            return Err(Rejection::CertificateNotValid.into());
        }
        Ok(())
    }

    /// True if the key (an identity or a CA) is revoked.
    pub(super) fn is_revoked(&self, key: &PublicKey) -> Exec<bool> {
        Ok(self.exists::<RevocationRecord>(key)?)
    }

    pub(super) fn enroll(
        &mut self,
        signed: &SignedTransaction,
        enroll: &EnrollIdentity,
    ) -> Exec<()> {
        let transaction = &signed.transaction;
        let intermediates: Vec<Vec<u8>> = enroll
            .intermediates
            .iter()
            .map(|bytes| bytes.0.clone())
            .collect();
        let verified = cert::verify_identity_chain(
            &enroll.certificate,
            &intermediates,
            &self.config.root_certificates,
            self.context.time_seconds().max(0) as u64,
        )
        .map_err(|error| error.problem())?;
        let leaf = &verified.leaf;
        if leaf.key != transaction.signer {
            return Err(CertificateProblem::WrongKey.into());
        }
        // Anyone can sign for a small-order key (its "signatures" verify for every message).
        if leaf.key.is_weak() {
            return Err(CertificateProblem::WeakKey.into());
        }
        // Review H3: the certificate goes on chain; a patient's must not name the patient.
        if leaf.claims.role == Role::Patient && !leaf.common_name.is_empty() {
            return Err(CertificateProblem::PatientNamed.into());
        }
        if !self.config.regions.contains(leaf.claims.region) {
            return Err(Rejection::UnknownRegion(leaf.claims.region).into());
        }
        if self.is_revoked(&leaf.key)? {
            return Err(Rejection::RevokedSigner(leaf.key).into());
        }
        for issuer in &verified.issuers {
            if self.is_revoked(&issuer.key)? {
                return Err(Rejection::RevokedIssuer(issuer.key).into());
            }
        }
        let existing = self.get::<IdentityRecord>(&leaf.key)?;
        check_nonce(
            transaction.nonce,
            existing.as_ref().map_or(0, |existing| existing.nonce),
        )?;
        let claims_since_height = claims_since(existing.as_ref(), leaf, self.context.height)?;
        let certificate_hash = hash_tagged(tag::CERTIFICATE, &enroll.certificate);
        self.overlay.put(
            &certificate_hash,
            CertificateDer(enroll.certificate.clone()),
        );
        self.record_authorities(&verified.issuers)?;
        let record = IdentityRecord {
            key: leaf.key,
            role: leaf.claims.role,
            region: leaf.claims.region,
            institution: leaf.claims.institution.clone(),
            name: leaf.common_name.clone(),
            certificate: certificate_hash,
            issuer_keys: verified.issuers.iter().map(|issuer| issuer.key).collect(),
            valid_from_seconds: verified.valid_from_seconds,
            valid_until_seconds: verified.valid_until_seconds,
            enrolled_height: self.context.height,
            claims_since_height,
            certificate_not_before_seconds: leaf.not_before_seconds,
            nonce: transaction.nonce,
            revoked: None,
        };
        self.pending_events.push(Event::IdentityEnrolled {
            key: record.key,
            role: record.role,
            region: record.region,
        });
        let key = record.key;
        self.overlay.put(&key, record);
        Ok(())
    }

    /// Remembers the CAs of a verified chain (their region bounds whom they may revoke).
    fn record_authorities(&mut self, issuers: &[cert::ParsedCertificate]) -> Exec<()> {
        for issuer in issuers {
            if !self.exists::<AuthorityCertificate>(&issuer.key)? {
                let authority = AuthorityCertificate {
                    key: issuer.key,
                    region: issuer.claims.region,
                    name: issuer.common_name.clone(),
                };
                self.overlay.put(&issuer.key, authority);
            }
        }
        Ok(())
    }

    pub(super) fn revoke(&mut self, signer: &IdentityRecord, revoke: &RevokeIdentity) -> Exec<()> {
        let target = revoke.key;
        if self.is_revoked(&target)? {
            return Err(Rejection::AlreadyRevoked(target).into());
        }
        let identity = self.get::<IdentityRecord>(&target)?;
        if target != signer.key {
            self.check_may_revoke(signer, target, identity.as_ref())?;
        }
        self.write_revocation(target, signer.key, revoke.reason)
    }

    /// Revokes `target` (an identity, a CA, or a key not seen yet), final.
    pub(super) fn write_revocation(
        &mut self,
        target: PublicKey,
        by: PublicKey,
        reason: RevocationReason,
    ) -> Exec<()> {
        let record = RevocationRecord {
            height: self.context.height,
            by,
            reason,
        };
        self.overlay.put(&target, record);
        if let Some(mut identity) = self.get::<IdentityRecord>(&target)? {
            identity.revoked = Some(record);
            self.overlay.put(&target, identity);
        }
        self.pending_events
            .push(Event::KeyRevoked { key: target, by });
        Ok(())
    }

    /// Peers and superiors cannot be revoked: authorities and CAs only from strictly above.
    fn check_may_revoke(
        &self,
        signer: &IdentityRecord,
        target: PublicKey,
        identity: Option<&IdentityRecord>,
    ) -> Exec<()> {
        require_role(signer.role, Action::RevokeOther)?;
        let (region, needs_strictly_below) = match identity {
            Some(identity) => (identity.region, identity.role == Role::Authority),
            None => match self.get::<AuthorityCertificate>(&target)? {
                Some(authority) => (authority.region, true),
                None => return Err(Rejection::UnknownKey(target).into()),
            },
        };
        require_within(region, signer.region)?;
        if needs_strictly_below && region == signer.region {
            return Err(Rejection::OutsideJurisdiction {
                region,
                jurisdiction: signer.region,
            }
            .into());
        }
        Ok(())
    }

    /// Publishes the signer's X25519 key for readers of sealed details.
    pub(super) fn publish_encryption_key(
        &mut self,
        signer: &IdentityRecord,
        key: EncryptionPublicKey,
    ) {
        self.overlay.put(&signer.key, key);
        self.pending_events
            .push(Event::EncryptionKeyPublished { key: signer.key });
    }
}
