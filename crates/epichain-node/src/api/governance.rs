//! `/v1/governance`: approvers, threshold and the proposals waiting out their timelock.

use super::{ApiState, Failure};
use axum::Json;
use axum::extract::State;
use epichain_api::ApiError;
use epichain_api::governance::{ApproverView, GovernanceView, PendingView};

/// The approver institutions, the threshold, the next sequence number and the approved
/// proposals waiting out their timelock.
#[utoipa::path(
    get,
    path = "/v1/governance",
    responses((status = 200, body = GovernanceView), (status = 500, body = ApiError))
)]
pub async fn governance(State(state): State<ApiState>) -> Result<Json<GovernanceView>, Failure> {
    let config = state.reader()?.config()?;
    Ok(Json(GovernanceView {
        sequence: config.governance_sequence,
        approval_threshold: config.approval_threshold,
        approvers: config
            .approvers
            .into_iter()
            .map(|approver| ApproverView {
                institution: approver.institution,
                keys: approver.keys,
            })
            .collect(),
        pending: config
            .pending_governance
            .into_iter()
            .map(|pending| PendingView {
                sequence: pending.sequence,
                actions: pending.actions,
                submitter: pending.submitter,
                approved_height: pending.approved_height,
                due_time_ms: pending.due_time_ms,
            })
            .collect(),
    }))
}
