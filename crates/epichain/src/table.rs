//! Plain-text tables for terminal output.

/// A table with a header row; columns are left-aligned, numbers right-aligned.
#[derive(Clone, Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|title| title.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are blank).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The rendered table, one line per row, ending with a newline.
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self
            .header
            .iter()
            .map(|title| title.chars().count())
            .collect();
        for row in &self.rows {
            for (index, cell) in row.iter().enumerate().take(columns) {
                widths[index] = widths[index].max(cell.chars().count());
            }
        }
        let mut text = String::new();
        let line = |cells: &[String], text: &mut String| {
            let rendered: Vec<String> = (0..columns)
                .map(|index| {
                    let cell = cells.get(index).map(String::as_str).unwrap_or("");
                    let padding = widths[index].saturating_sub(cell.chars().count());
                    if is_number(cell) {
                        format!("{}{cell}", " ".repeat(padding))
                    } else {
                        format!("{cell}{}", " ".repeat(padding))
                    }
                })
                .collect();
            text.push_str(rendered.join("  ").trim_end());
            text.push('\n');
        };
        line(&self.header, &mut text);
        let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
        line(&rule, &mut text);
        for row in &self.rows {
            line(row, &mut text);
        }
        text
    }
}

fn is_number(cell: &str) -> bool {
    !cell.is_empty()
        && cell
            .chars()
            .all(|character| character.is_ascii_digit() || ",.%×x-".contains(character))
        && cell.chars().any(|character| character.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let mut table = Table::new(&["name", "count"]);
        table.row(vec!["dengue".into(), "7".into()]);
        table.row(vec!["influenza".into(), "12".into()]);
        assert_eq!(
            table.render(),
            "name       count\n---------  -----\ndengue         7\ninfluenza     12\n"
        );
    }
}
