//! `dbkit plan`: plans people already have (EXPLAIN JSON as psql prints it, or the text format)
//! read from files and run through the plan rules, shown as a tree, or compared.

use crate::analyze::plan::report::{PlanAnalyzeReport, PlanShowReport};
use crate::analyze::plan_diff::PlanDiffReport;
use crate::config::Config;
use crate::plan::Plan;

/// Every plan of a file (`-` is stdin), in any format dbkit reads.
pub fn read_plans(file: &str) -> Result<Vec<Plan>, crate::Error> {
    let text = crate::ops::read_text(file)?;
    crate::plan::parse(&text).map_err(|e| crate::Error::Input {
        path: file.to_string(),
        message: e.to_string(),
    })
}

/// `dbkit plan analyze`: the plan rules over every plan of every file.
pub fn analyze(files: &[String], config: &Config) -> Result<PlanAnalyzeReport, crate::Error> {
    let inputs = files
        .iter()
        .map(|f| Ok((f.clone(), read_plans(f)?)))
        .collect::<Result<Vec<_>, crate::Error>>()?;
    Ok(PlanAnalyzeReport::build(&inputs, config))
}

/// `dbkit plan show`: the `index`-th plan (1-based) of a file as a tree with its findings.
pub fn show(
    file: &str,
    index: usize,
    verbose: bool,
    config: &Config,
) -> Result<PlanShowReport, crate::Error> {
    let plans = read_plans(file)?;
    let plan = plans
        .get(index.saturating_sub(1))
        .ok_or_else(|| crate::Error::Input {
            path: file.to_string(),
            message: format!(
                "the file holds {} plan(s); plan {index} is out of range",
                plans.len()
            ),
        })?;
    Ok(PlanShowReport::build(file, plan, config, verbose))
}

/// `dbkit plan diff`: the first plan of `before` against the first plan of `after`.
pub fn diff(before: &str, after: &str, config: &Config) -> Result<PlanDiffReport, crate::Error> {
    let first = |file: &str| -> Result<Plan, crate::Error> {
        read_plans(file)?
            .into_iter()
            .next()
            .ok_or_else(|| crate::Error::Input {
                path: file.to_string(),
                message: "no plan in the file".to_string(),
            })
    };
    let (b, a) = (first(before)?, first(after)?);
    Ok(PlanDiffReport::build(before, &b, after, &a, config))
}
