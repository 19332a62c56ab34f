//! What an anonymous caller can learn from a node (review H3), for privacy officers and tests:
//! k, the smallest positive number of cases the caller can pin to one cell (disease, region,
//! report day) or one set of cells, read directly or obtained by subtracting the totals of a
//! region's parts from its own. The chain promises k ≥ 5 (`SMALL_CELL_MAX` + 1); cells known to
//! hold 1 to 4 cases without their number (primary suppression) are not a disclosure.
//!
//! The audit also lists the signals an anonymous caller is given with their cases or statistic,
//! and checks that onset-day counts, which late reports change after the fact, are refused.

use crate::{Client, ClientError};
use epichain_api::signals::{CountBasis, CountPoint, CountQuery, SignalQuery};
use epichain_core::{Day, DiseaseCode, Hash, RegionCode, RegionSet};

/// Most signals examined.
pub const SIGNALS_AUDITED_MAX: usize = 1_000;

/// A number of cases an anonymous caller can pin to a cell or a set of cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure {
    /// Disease.
    pub disease: DiseaseCode,
    /// The region answered, or whose parts were subtracted from it.
    pub region: RegionCode,
    /// Report day.
    pub day: Day,
    /// Cases.
    pub cases: u32,
    /// Learnt by subtracting the region's parts from its total (the withheld parts' sum).
    pub by_difference: bool,
}

/// What an anonymous caller learns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DisclosureAudit {
    /// Count answers examined (regions × days × diseases).
    pub cells: usize,
    /// Of those, answered with a positive total.
    pub disclosed_positive: usize,
    /// The smallest positive number of cases learnt; `None` if nothing positive is.
    pub smallest: Option<Exposure>,
    /// Signals given to the caller with their cases or their statistic.
    pub revealing_signals: Vec<Hash>,
    /// Diseases whose onset-day counts were answered to the anonymous caller.
    pub onset_answered: Vec<DiseaseCode>,
}

impl DisclosureAudit {
    /// k: the smallest positive number of cases learnt (`None`: nothing positive is learnt).
    pub fn k(&self) -> Option<u32> {
        self.smallest.as_ref().map(|exposure| exposure.cases)
    }

    fn expose(&mut self, exposure: Exposure) {
        if self
            .smallest
            .as_ref()
            .is_none_or(|smallest| exposure.cases < smallest.cases)
        {
            self.smallest = Some(exposure);
        }
    }
}

/// Audits what `client` (which must not sign its requests) is told about `diseases` in
/// `regions` (and the national total) from `from` to `to`, and about signals.
pub async fn audit_anonymous(
    client: &Client,
    regions: &RegionSet,
    diseases: &[DiseaseCode],
    from: Day,
    to: Day,
) -> Result<DisclosureAudit, ClientError> {
    let mut audit = DisclosureAudit::default();
    let codes: Vec<RegionCode> = std::iter::once(RegionCode::NATIONAL)
        .chain(regions.iter().map(|region| region.code))
        .collect();
    for disease in diseases {
        let mut series = std::collections::BTreeMap::new();
        for region in &codes {
            let points = client
                .counts(&count_query(disease, *region, from, to, None))
                .await?;
            series.insert(*region, points);
        }
        audit_series(&mut audit, regions, disease, &series);
        let onset = client
            .counts(&count_query(
                disease,
                RegionCode::NATIONAL,
                from,
                to,
                Some(CountBasis::Onset),
            ))
            .await;
        if onset.is_ok() {
            audit.onset_answered.push(disease.clone());
        }
    }
    let query = SignalQuery {
        limit: Some(SIGNALS_AUDITED_MAX),
        ..SignalQuery::default()
    };
    for signal in client.signals(&query).await? {
        if !signal.cases.is_empty() || signal.statistic.is_some() {
            audit.revealing_signals.push(signal.id);
        }
    }
    Ok(audit)
}

fn count_query(
    disease: &DiseaseCode,
    region: RegionCode,
    from: Day,
    to: Day,
    basis: Option<CountBasis>,
) -> CountQuery {
    CountQuery {
        disease: disease.to_string(),
        region: region.to_string(),
        basis,
        from: from.to_string(),
        to: to.to_string(),
    }
}

/// Direct disclosures, and for each region with parts, its total minus its parts' totals (what
/// the withheld parts hold together).
fn audit_series(
    audit: &mut DisclosureAudit,
    regions: &RegionSet,
    disease: &DiseaseCode,
    series: &std::collections::BTreeMap<RegionCode, Vec<CountPoint>>,
) {
    for (region, points) in series {
        let children: Vec<&Vec<CountPoint>> = regions
            .children(*region)
            .filter_map(|child| series.get(&child))
            .collect();
        for (index, point) in points.iter().enumerate() {
            audit.cells += 1;
            let Some(total) = point.total else {
                continue;
            };
            let exposure = |cases, by_difference| Exposure {
                disease: disease.clone(),
                region: *region,
                day: point.day,
                cases,
                by_difference,
            };
            if total > 0 {
                audit.disclosed_positive += 1;
                audit.expose(exposure(total, false));
            }
            if children.is_empty() {
                continue;
            }
            let parts: u32 = children
                .iter()
                .filter_map(|child| child.get(index).and_then(|point| point.total))
                .sum();
            let withheld = total.saturating_sub(parts);
            if withheld > 0 {
                audit.expose(exposure(withheld, true));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(day: u32, total: Option<u32>) -> CountPoint {
        CountPoint {
            day: Day(day),
            suspected: None,
            clinical: None,
            confirmed: None,
            total,
            suppressed_regions: 0,
        }
    }

    /// A city of 8 whose districts answer 6 and withheld gives the withheld district away: 2.
    #[test]
    fn a_total_minus_its_parts_is_a_disclosure() {
        let regions = RegionSet::shipped_guangdong().expect("regions");
        let code = |text: &str| text.parse::<RegionCode>().expect("region");
        let disease: DiseaseCode = "DENGUE".parse().expect("disease");
        let mut series = std::collections::BTreeMap::new();
        series.insert(code("440300"), vec![point(1, Some(8))]);
        series.insert(code("440304"), vec![point(1, Some(6))]);
        series.insert(code("440305"), vec![point(1, None)]);
        let mut audit = DisclosureAudit::default();
        audit_series(&mut audit, &regions, &disease, &series);
        assert_eq!(audit.k(), Some(2));
        assert!(
            audit
                .smallest
                .as_ref()
                .is_some_and(|smallest| smallest.by_difference)
        );
        // A city total made of its disclosed parts only gives nothing away.
        series.insert(code("440300"), vec![point(1, Some(6))]);
        let mut audit = DisclosureAudit::default();
        audit_series(&mut audit, &regions, &disease, &series);
        assert_eq!(audit.k(), Some(6));
        assert_eq!((audit.cells, audit.disclosed_positive), (3, 2));
    }
}
