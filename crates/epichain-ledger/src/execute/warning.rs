//! Counts and the warning contracts.
//!
//! - Every case is counted per disease × region × day at all four levels (its district, city,
//!   province and the nation), by report day and by onset day, in the bucket of its current
//!   status; a status change moves it between buckets; excluded cases are not counted. Counts
//!   never go below zero.
//! - After the block's transactions, every daily rule runs on the series the block touched, and
//!   every weekly rule runs on all its series when the block closed a week. A series × method ×
//!   period opens at most one signal; cases reported into the series while it is open join it.

use super::{Event, Executor};
use crate::StorageError;
use crate::state::{
    CaseRecord, CountBasis, CountKey, SIGNAL_CASES_MAX, SignalRecord, SignalStatus, StateRead,
    StatusCounts,
};
use crate::warning::{applies, method_of, regions_at, signal_id};
use epichain_core::warning::{Period, WarningRule, first_day_of_week, week_of};
use epichain_core::{CaseStatus, Day, DiseaseCode, Hash, RegionCode};
use epichain_detect::MethodConfig;

impl<S: StateRead> Executor<'_, S> {
    /// Adds `delta` cases of `status` to the record's counts at every level, by report day and
    /// by onset day.
    pub(super) fn count(
        &mut self,
        record: &CaseRecord,
        status: CaseStatus,
        delta: i64,
    ) -> Result<(), StorageError> {
        for region in record.region.lineage() {
            for (basis, day) in [
                (CountBasis::Report, record.report_day),
                (CountBasis::Onset, record.onset_day),
            ] {
                let key = CountKey {
                    disease: record.disease.clone(),
                    region,
                    basis,
                    day,
                };
                let mut counts = self.get::<StatusCounts>(&key)?.unwrap_or_default();
                counts.adjust(status, delta);
                self.overlay.put(&key, counts);
            }
        }
        Ok(())
    }

    /// Report-basis totals of one series for `length` periods ending at `last` (a day, or a
    /// week number for weekly series); `None` where that reaches before the counts begin.
    fn series(
        &self,
        disease: &DiseaseCode,
        region: RegionCode,
        period: Period,
        last: u32,
        length: usize,
    ) -> Result<Option<Vec<f64>>, StorageError> {
        let days_per_period = match period {
            Period::Daily => 1,
            Period::Weekly => 7,
        };
        let last_day = match period {
            Period::Daily => last,
            Period::Weekly => first_day_of_week(last).0 + 6,
        };
        let span = (length as u32).saturating_mul(days_per_period);
        if span == 0 || last_day + 1 < span {
            return Ok(None);
        }
        let first_day = last_day + 1 - span;
        if first_day < self.config.coverage_start_day.0 {
            return Ok(None);
        }
        let mut values = Vec::with_capacity(length);
        let mut total = 0u64;
        for (offset, day) in (first_day..=last_day).enumerate() {
            let key = CountKey {
                disease: disease.clone(),
                region,
                basis: CountBasis::Report,
                day: Day(day),
            };
            if let Some(counts) = self.get::<StatusCounts>(&key)? {
                total += u64::from(counts.total());
            }
            if (offset as u32 + 1).is_multiple_of(days_per_period) {
                values.push(total as f64);
                total = 0;
            }
        }
        Ok(Some(values))
    }

    /// After the block's transactions: evaluates every daily rule on the series the block
    /// touched, and every weekly rule on all its series when the block closed a week.
    pub(super) fn evaluate_warnings(&mut self) -> Result<(), StorageError> {
        let today = self.context.day();
        let rules = self.parsed_rules();
        let touched = std::mem::take(&mut self.touched);
        for ((disease, region), cases) in &touched {
            for rule in rules
                .iter()
                .filter(|rule| rule.rule.period == Period::Daily)
            {
                if applies(
                    &rule.rule,
                    disease,
                    *region,
                    &self.config.catalogue,
                    &self.config.regions,
                ) {
                    self.evaluate_series(rule, disease, *region, today.0, cases)?;
                }
            }
        }
        let this_week = week_of(today);
        let previous_week = week_of(Day::from_unix_ms(self.context.parent_time_ms));
        if this_week > previous_week {
            let closed = this_week - 1;
            for rule in rules
                .iter()
                .filter(|rule| rule.rule.period == Period::Weekly)
            {
                self.evaluate_week(rule, closed)?;
            }
        }
        self.commit_own_writes();
        Ok(())
    }

    /// The configured rules with their parsed methods. Genesis and governance refuse rules whose
    /// parameters do not validate; a rule that a later detection release no longer accepts is
    /// skipped, with an event each block, rather than stopping the chain.
    fn parsed_rules(&mut self) -> Vec<ParsedRule> {
        let mut parsed = Vec::with_capacity(self.config.warning_rules.len());
        for rule in &self.config.warning_rules {
            match method_of(rule) {
                Ok((method, history)) => parsed.push(ParsedRule {
                    rule: rule.clone(),
                    method,
                    history,
                }),
                Err(error) => self.output.events.push(Event::WarningRuleSkipped {
                    method: rule.method.clone(),
                    problem: error.code(),
                }),
            }
        }
        parsed
    }

    /// A weekly rule on every series it watches, for the week that closed.
    fn evaluate_week(&mut self, rule: &ParsedRule, week: u32) -> Result<(), StorageError> {
        let diseases: Vec<DiseaseCode> = self
            .config
            .catalogue
            .iter()
            .filter(|disease| {
                !disease.retired
                    && rule
                        .rule
                        .diseases
                        .covers(&disease.code, &self.config.catalogue)
            })
            .map(|disease| disease.code.clone())
            .collect();
        for region in regions_at(rule.rule.level, &self.config.regions) {
            for disease in &diseases {
                self.evaluate_series(rule, disease, region, week, &[])?;
            }
        }
        Ok(())
    }

    fn evaluate_series(
        &mut self,
        parsed: &ParsedRule,
        disease: &DiseaseCode,
        region: RegionCode,
        period_index: u32,
        cases: &[Hash],
    ) -> Result<(), StorageError> {
        let rule = &parsed.rule;
        let id = signal_id(disease, region, &rule.method, rule.period, period_index);
        if let Some(mut signal) = self.get::<SignalRecord>(&id)? {
            // The period's signal exists: new cases join it while it is open.
            if signal.status == SignalStatus::Open && !cases.is_empty() {
                for case in cases {
                    if signal.cases.len() < SIGNAL_CASES_MAX && !signal.cases.contains(case) {
                        signal.cases.push(*case);
                    }
                }
                self.overlay.put(&id, signal);
            }
            return Ok(());
        }
        let Some(series) =
            self.series(disease, region, rule.period, period_index, parsed.history)?
        else {
            return Ok(());
        };
        let evaluation = match parsed.method.evaluate_last(&series) {
            Ok(evaluation) => evaluation,
            Err(error) => {
                // Not a rejection and not silence: a fact for indexes, metrics and operators.
                self.output.events.push(Event::WarningNotEvaluated {
                    disease: disease.clone(),
                    region,
                    method: rule.method.clone(),
                    problem: error.code(),
                });
                return Ok(());
            }
        };
        if !evaluation.alarm {
            return Ok(());
        }
        let signal = SignalRecord {
            id,
            disease: disease.clone(),
            region,
            level: region.level(),
            method: rule.method.clone(),
            period: rule.period,
            period_index,
            statistic_bits: evaluation.statistic.to_bits(),
            threshold_bits: evaluation.threshold.to_bits(),
            cases: cases.iter().take(SIGNAL_CASES_MAX).copied().collect(),
            opened_height: self.context.height,
            opened_time_ms: self.context.time_ms,
            required_steps: rule.required_steps.clone(),
            steps: Vec::new(),
            status: SignalStatus::Open,
        };
        self.output.events.push(Event::SignalOpened {
            signal: id,
            disease: disease.clone(),
            region,
            method: rule.method.clone(),
        });
        self.overlay.put(&id, signal);
        Ok(())
    }
}

/// A warning rule with its method parsed once per block.
struct ParsedRule {
    rule: WarningRule,
    method: MethodConfig,
    history: usize,
}
