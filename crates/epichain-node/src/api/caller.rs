//! Who is asking: an anonymous caller, or an enrolled identity that signed its request
//! (`epichain_core::request`). Line-level metadata — case records, their access logs, patient
//! identities — is served only to an identity whose jurisdiction covers it, and whole blocks only
//! to CDCs and nodes (review H3); aggregates stay public.

use super::{ApiState, Failure, failure};
use crate::wall_clock_ms;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use epichain_api::{READER_KEY_HEADER, READER_SIGNATURE_HEADER, READER_TIME_HEADER};
use epichain_core::request::{READ_REQUEST_SKEW_MS_MAX, read_request_bytes};
use epichain_core::{PublicKey, RegionCode, Signature};
use epichain_ledger::LedgerReader;
use epichain_ledger::rules::{Action, role_may};
use epichain_ledger::state::{CaseRecord, IdentityRecord};

/// Most open grants examined to decide whether a grantee may read a case.
pub const GRANTS_CHECKED_MAX: usize = 1_000;

/// The caller of a request: `None` if it did not sign it.
pub(crate) struct Caller(pub Option<IdentityRecord>);

fn unauthenticated(code: &'static str, message: &str) -> Failure {
    failure(StatusCode::UNAUTHORIZED, code, message)
}

/// The answer to an anonymous request for what only an identity may read.
pub fn authentication_required() -> Failure {
    unauthenticated(
        "authentication_required",
        "sign the request with an enrolled identity's key (see epichain_core::request)",
    )
}

/// The answer to an identity whose jurisdiction does not cover what it asked for.
pub fn not_permitted() -> Failure {
    failure(
        StatusCode::FORBIDDEN,
        "not_permitted",
        "this record is outside your jurisdiction",
    )
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Failure> {
        let Some(key) = header(parts, READER_KEY_HEADER) else {
            return Ok(Caller(None));
        };
        let malformed = || unauthenticated("bad_signature", "malformed read signature headers");
        let key = PublicKey::from_hex(key).map_err(|_| malformed())?;
        let time_ms: u64 = header(parts, READER_TIME_HEADER)
            .and_then(|text| text.parse().ok())
            .ok_or_else(malformed)?;
        let signature: Signature = header(parts, READER_SIGNATURE_HEADER)
            .and_then(|text| text.parse().ok())
            .ok_or_else(malformed)?;
        if wall_clock_ms().abs_diff(time_ms) > READ_REQUEST_SKEW_MS_MAX {
            return Err(unauthenticated(
                "request_expired",
                "the request's time is too far from the node's clock",
            ));
        }
        let target = parts
            .uri
            .path_and_query()
            .map_or(parts.uri.path(), |target| target.as_str());
        let bytes = read_request_bytes(
            &state.chain.chain_id(),
            parts.method.as_str(),
            target,
            time_ms,
        );
        if key.verify(&bytes, &signature).is_err() {
            return Err(unauthenticated(
                "bad_signature",
                "the read signature does not verify",
            ));
        }
        let identity = state.reader()?.identity(&key)?;
        match identity {
            Some(identity) if identity.revoked.is_none() => Ok(Caller(Some(identity))),
            Some(_) => Err(unauthenticated("revoked_signer", "the reader is revoked")),
            None => Err(unauthenticated(
                "unknown_signer",
                "the reader is not enrolled",
            )),
        }
    }
}

impl Caller {
    /// The signing identity, or 401.
    pub fn identity(&self) -> Result<&IdentityRecord, Failure> {
        self.0.as_ref().ok_or_else(authentication_required)
    }

    /// 401 for anonymous callers, 403 unless the identity may read the case's line-level
    /// metadata: its reporter, a reading role whose jurisdiction covers the case, or a grantee
    /// of a grant that covers it.
    pub fn require_case(&self, reader: &LedgerReader, case: &CaseRecord) -> Result<(), Failure> {
        let identity = self.identity()?;
        if may_read_case(reader, identity, case)? {
            Ok(())
        } else {
            Err(not_permitted())
        }
    }

    /// 401 for anonymous callers, 403 unless the identity is the patient or its jurisdiction
    /// covers the patient's.
    pub fn require_patient(&self, patient: &IdentityRecord) -> Result<(), Failure> {
        if self.identity()?.key == patient.key {
            Ok(())
        } else {
            self.require_covers(patient.region)
        }
    }

    /// 401 for anonymous callers, 403 unless the identity's jurisdiction covers `region`.
    pub fn require_covers(&self, region: RegionCode) -> Result<(), Failure> {
        if jurisdiction_covers(self.identity()?, region) {
            Ok(())
        } else {
            Err(not_permitted())
        }
    }

    /// 401 for anonymous callers, 403 unless the identity is a CDC or a node: a whole block
    /// carries every case's line-level metadata, so only those keeping a full copy fetch one.
    pub fn require_follower(&self) -> Result<(), Failure> {
        if role_may(self.identity()?.role, Action::FollowChain) {
            Ok(())
        } else {
            Err(failure(
                StatusCode::FORBIDDEN,
                "not_permitted",
                "only CDCs and nodes fetch whole blocks",
            ))
        }
    }

    /// True if the caller is an identity whose jurisdiction covers `region`.
    pub fn covers(&self, region: RegionCode) -> bool {
        self.0
            .as_ref()
            .is_some_and(|identity| jurisdiction_covers(identity, region))
    }
}

/// The one jurisdiction rule for line-level metadata: a role that reads sealed details
/// (authority, hospital, doctor, laboratory) whose home region contains `region`.
fn jurisdiction_covers(identity: &IdentityRecord, region: RegionCode) -> bool {
    role_may(identity.role, Action::ReadDetails) && region.is_within(identity.region)
}

fn may_read_case(
    reader: &LedgerReader,
    identity: &IdentityRecord,
    case: &CaseRecord,
) -> Result<bool, Failure> {
    if identity.key == case.reporter {
        return Ok(true);
    }
    if jurisdiction_covers(identity, case.region) {
        return Ok(true);
    }
    if !role_may(identity.role, Action::ReadDetails) {
        return Ok(false);
    }
    let now = reader.store().tip()?.map_or(0, |tip| tip.time_ms);
    for grant in reader.open_grants(now, GRANTS_CHECKED_MAX)? {
        if grant
            .scope
            .covers(&case.disease, case.region, case.report_day)
            && grant.admits(identity)
        {
            return Ok(true);
        }
    }
    Ok(false)
}
