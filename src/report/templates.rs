//! `dbkit templates`: the built-in templates listed, or written out to a directory for users
//! to customise and pass back with `--template FILE` (a copy can `{% extends %}` the built-in
//! layout and `{% import %}` its macros by their names).

use super::TEMPLATES;
use crate::view::{Cell, Report, Table};
use serde::Serialize;
use std::path::Path;

/// One built-in template.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateInfo {
    /// Its name (`plan-show.html.tera`).
    pub name: String,
    /// `html`, `md` or `txt`.
    pub format: String,
    /// What it renders: a report kind, `any report` (generic), or `shared` (layout, macros).
    pub renders: String,
    /// Its size in bytes.
    pub bytes: usize,
    /// Where it was written, by `templates export`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<String>,
}

/// The report of `dbkit templates list` and `dbkit templates export`.
#[derive(Debug, Clone, Serialize)]
pub struct TemplatesReport {
    /// The templates.
    pub templates: Vec<TemplateInfo>,
    /// The directory written to, by `export`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported_to: Option<String>,
}

fn info(name: &str, text: &str) -> TemplateInfo {
    let stem = name.strip_suffix(".tera").unwrap_or(name);
    let (kind, format) = stem.rsplit_once('.').unwrap_or((stem, ""));
    let renders = match kind {
        "generic" => "any report without its own".to_string(),
        "layout" | "macros" => "shared by every HTML report".to_string(),
        k => k.to_string(),
    };
    TemplateInfo {
        name: name.to_string(),
        format: format.to_string(),
        renders,
        bytes: text.len(),
        written: None,
    }
}

/// Every built-in template.
pub fn list() -> TemplatesReport {
    TemplatesReport {
        templates: TEMPLATES.iter().map(|(n, t)| info(n, t)).collect(),
        exported_to: None,
    }
}

/// Write every built-in template into `dir` (created when missing). An existing file is left
/// alone and is an error unless `overwrite`: a user's customised copy is never lost.
pub fn export(dir: &Path, overwrite: bool) -> Result<TemplatesReport, std::io::Error> {
    std::fs::create_dir_all(dir)?;
    if !overwrite {
        let existing: Vec<String> = TEMPLATES
            .iter()
            .filter(|(n, _)| dir.join(n).exists())
            .map(|(n, _)| n.to_string())
            .collect();
        if !existing.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} already holds {} (nothing was written; --force overwrites)",
                    dir.display(),
                    existing.join(", ")
                ),
            ));
        }
    }
    let mut report = list();
    for (t, (name, text)) in report.templates.iter_mut().zip(TEMPLATES) {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        t.written = Some(path.display().to_string());
    }
    report.exported_to = Some(dir.display().to_string());
    Ok(report)
}

impl Report for TemplatesReport {
    fn kind(&self) -> &'static str {
        "templates"
    }
    fn summary(&self) -> String {
        match &self.exported_to {
            Some(d) => format!(
                "{} built-in template(s) written to {d}; render with one: --format html --template {d}/generic.html.tera",
                self.templates.len()
            ),
            None => format!(
                "{} built-in template(s); dbkit templates export DIR writes them out",
                self.templates.len()
            ),
        }
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new("Templates", &["name", "format", "renders", "bytes"]);
        for i in &self.templates {
            t.row(vec![
                Cell::text(&i.name),
                Cell::text(&i.format),
                Cell::text(&i.renders),
                Cell::num(i.bytes),
            ]);
        }
        vec![t]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_listed_with_what_it_renders() {
        let r = list();
        let plan = r
            .templates
            .iter()
            .find(|t| t.name == "plan-show.html.tera")
            .unwrap();
        assert_eq!(
            (plan.format.as_str(), plan.renders.as_str()),
            ("html", "plan-show")
        );
        let layout = r
            .templates
            .iter()
            .find(|t| t.name == "layout.html.tera")
            .unwrap();
        assert!(layout.renders.contains("shared"));
        assert_eq!(r.templates.len(), TEMPLATES.len());
    }

    #[test]
    fn export_writes_every_template_and_never_overwrites_without_being_told() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("t");
        let r = export(&out, false).unwrap();
        for (name, text) in TEMPLATES {
            assert_eq!(std::fs::read_to_string(out.join(name)).unwrap(), *text);
        }
        assert!(r.summary().contains("written to"));
        std::fs::write(out.join("layout.html.tera"), "mine").unwrap();
        let e = export(&out, false).unwrap_err().to_string();
        assert!(
            e.contains("layout.html.tera") && e.contains("--force"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("layout.html.tera")).unwrap(),
            "mine"
        );
        export(&out, true).unwrap();
        assert_ne!(
            std::fs::read_to_string(out.join("layout.html.tera")).unwrap(),
            "mine"
        );
    }
}
