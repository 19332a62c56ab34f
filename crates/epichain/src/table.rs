//! Tables for terminal output, or CSV for spreadsheets and data frames.

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

/// How a listing command prints its rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    #[default]
    Table,
    /// CSV (RFC 4180: a header row, CRLF line ends, fields quoted when they must be; UTF-8).
    Csv,
}

impl Table {
    /// The rendered rows in `format`.
    pub fn render_as(&self, format: Format) -> String {
        match format {
            Format::Table => self.render(),
            Format::Csv => self.render_csv(),
        }
    }

    /// RFC 4180 CSV: the header, then every row, each line ending in CRLF; a field holding a
    /// comma, a quote, CR or LF is quoted, with its quotes doubled. Missing cells are empty.
    pub fn render_csv(&self) -> String {
        let mut text = String::new();
        let columns = self.header.len();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for index in 0..columns {
                if index > 0 {
                    text.push(',');
                }
                push_csv_field(&mut text, row.get(index).map_or("", String::as_str));
            }
            text.push_str("\r\n");
        }
        text
    }
}

fn push_csv_field(text: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        text.push('"');
        text.push_str(&field.replace('"', "\"\""));
        text.push('"');
    } else {
        text.push_str(field);
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

    #[test]
    fn csv_quotes_what_rfc_4180_requires_and_reads_back() {
        let mut table = Table::new(&["region", "note", "count"]);
        table.row(vec!["440304".into(), "fever, rash".into(), "7".into()]);
        table.row(vec!["440305".into(), "said \"cluster\"\nat school".into()]);
        let csv = table.render_as(Format::Csv);
        assert_eq!(
            csv,
            "region,note,count\r\n440304,\"fever, rash\",7\r\n\
             440305,\"said \"\"cluster\"\"\nat school\",\r\n"
        );
        let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(|row| row.expect("row")).collect();
        assert_eq!(&rows[0][1], "fever, rash");
        assert_eq!(&rows[1][1], "said \"cluster\"\nat school");
        assert_eq!(&rows[1][2], "");
    }
}
