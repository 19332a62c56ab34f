//! The signal workflow contract.
//!
//! - Steps: verification by the CDC of the signal's region, regional consultation by a city (or
//!   higher) CDC, pathogen analysis by a laboratory, expert consultation and final confirmation
//!   by a provincial (or national) CDC. Each step is taken once, in any order, by the right role,
//!   at a level at least the step's and the signal's, within the signer's jurisdiction.
//! - The final confirmation needs the rule's required steps first and names its outcome; a
//!   confirmed outbreak opens a disclosure grant (see `disclosure.rs`) and closes the signal.
//! - What a step found is a code ([`epichain_core::warning::StepFinding`]); its words, if any,
//!   are sealed to the authorities over the signal's region (review M14).
//! - Separation of duties (review C2): each step is taken by a distinct institution
//!   (the certificate's [`epichain_core::Institution`]), and a confirmed outbreak needs at least one other institution's step
//!   and a confirmer above the verifying institution's level: no single institution can open a
//!   disclosure grant.

use super::{Event, Exec, Executor};
use crate::state::{IdentityRecord, SignalRecord, SignalStatus, StateRead, StepRecord};
use epichain_core::rejection::WorkflowProblem;
use epichain_core::warning::{STEP_NOTE_SEALED_BYTES_MAX, SignalAction, SignalOutcome, Step};
use epichain_core::{Level, Rejection, Role};

impl<S: StateRead> Executor<'_, S> {
    pub(super) fn signal_action(
        &mut self,
        signer: &IdentityRecord,
        action: &SignalAction,
    ) -> Exec<()> {
        let Some(mut signal) = self.get::<SignalRecord>(&action.signal)? else {
            return Err(Rejection::UnknownSignal(action.signal).into());
        };
        let mut taken_by = Vec::with_capacity(signal.steps.len());
        for taken in &signal.steps {
            // A step's signer was enrolled when it signed, and identities stay.
            let identity = self.get::<IdentityRecord>(&taken.by)?.ok_or_else(|| {
                crate::StorageError::Corrupt(format!("no identity for step signer {}", taken.by))
            })?;
            taken_by.push((taken.step, identity));
        }
        let status = validate_step(signer, &signal, &taken_by, action)?;
        self.check_envelope(&action.sealed_note, signal.region)?;
        signal.steps.push(StepRecord {
            step: action.step,
            by: signer.key,
            height: self.context.height,
            time_ms: self.context.time_ms,
            outcome: action.outcome,
            finding: action.finding,
            sealed_note: action.sealed_note.clone(),
        });
        signal.status = status;
        self.pending_events.push(Event::SignalStepTaken {
            signal: action.signal,
            step: action.step,
        });
        if status == SignalStatus::ConfirmedOutbreak {
            self.open_outbreak_grant(&signal)?;
        }
        self.overlay.put(&action.signal, signal);
        Ok(())
    }
}

/// The role and the highest (least senior) level that may take a step.
fn step_taker(step: Step) -> (Role, Level) {
    match step {
        Step::Verify => (Role::Authority, Level::District),
        Step::RegionalConsultation => (Role::Authority, Level::City),
        Step::PathogenAnalysis => (Role::Lab, Level::District),
        Step::ExpertConsultation | Step::FinalConfirmation => (Role::Authority, Level::Province),
    }
}

/// Checks that the signer's institution took no other step of the signal.
fn distinct_institution(
    signer: &IdentityRecord,
    taken_by: &[(Step, IdentityRecord)],
    step: Step,
) -> Result<(), Rejection> {
    match taken_by
        .iter()
        .find(|(_, identity)| identity.institution == signer.institution)
    {
        Some((took, _)) => Err(WorkflowProblem::SameInstitution { step, took: *took }.into()),
        None => Ok(()),
    }
}

/// Checks that a confirmed outbreak rests on another institution's step, with the confirmer
/// above the verifying institution's level.
fn confirmation_above_others(
    signer: &IdentityRecord,
    taken_by: &[(Step, IdentityRecord)],
) -> Result<(), Rejection> {
    let verifier = taken_by.iter().find(|(step, _)| *step == Step::Verify);
    let above_verifier =
        verifier.is_none_or(|(_, identity)| signer.region.level() < identity.region.level());
    if taken_by.is_empty() || !above_verifier {
        return Err(WorkflowProblem::SingleInstitution.into());
    }
    Ok(())
}

/// Checks a workflow step against the signal, the steps taken (with their signers) and the
/// signer's role and jurisdiction; returns the status after it.
pub fn validate_step(
    signer: &IdentityRecord,
    signal: &SignalRecord,
    taken_by: &[(Step, IdentityRecord)],
    action: &SignalAction,
) -> Result<SignalStatus, Rejection> {
    if signal.status != SignalStatus::Open {
        return Err(WorkflowProblem::SignalClosed.into());
    }
    if signal.steps.iter().any(|taken| taken.step == action.step) {
        return Err(WorkflowProblem::StepTaken(action.step).into());
    }
    if action.sealed_note.len() > STEP_NOTE_SEALED_BYTES_MAX {
        return Err(WorkflowProblem::NoteTooLong(action.sealed_note.len() as u32).into());
    }
    let (role, highest_level) = step_taker(action.step);
    if signer.role != role {
        return Err(WorkflowProblem::WrongRole {
            role: signer.role,
            step: action.step,
        }
        .into());
    }
    // The signer's level must be at least the step's (a city CDC consults, a district CDC
    // cannot) and at least the signal's own level.
    let needed = highest_level.min(signal.level);
    if signer.region.level() > needed {
        return Err(WorkflowProblem::LevelTooLow {
            step: action.step,
            needed,
        }
        .into());
    }
    if !signal.region.is_within(signer.region) {
        return Err(Rejection::OutsideJurisdiction {
            region: signal.region,
            jurisdiction: signer.region,
        });
    }
    distinct_institution(signer, taken_by, action.step)?;
    if action.step == Step::FinalConfirmation {
        let missing: Vec<Step> = signal
            .required_steps
            .iter()
            .filter(|required| !signal.steps.iter().any(|taken| taken.step == **required))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(WorkflowProblem::MissingSteps(missing).into());
        }
        return match action.outcome {
            Some(SignalOutcome::ConfirmedOutbreak) => {
                confirmation_above_others(signer, taken_by)?;
                Ok(SignalStatus::ConfirmedOutbreak)
            }
            Some(SignalOutcome::Dismissed) => Ok(SignalStatus::Dismissed),
            None => Err(WorkflowProblem::OutcomeMissing.into()),
        };
    }
    if action.outcome.is_some() {
        return Err(WorkflowProblem::OutcomeNotAllowed.into());
    }
    Ok(SignalStatus::Open)
}
