//! A people import as sent: a JSON array, or a CSV as spreadsheets export
//! it (comma or semicolon, columns found by their English or Dutch header,
//! UTF-8 with or without BOM, else Windows-1252, CRLF, quoted fields).
//! Each row comes back with the spreadsheet's row number, its values as
//! sent and their check. The API and the admin's import page both read
//! imports here. Public so that the fuzz targets (fuzz/) read imports
//! exactly as the server does.

use std::borrow::Cow;

use limen_domain::{NewPerson, RowError, RowProblem};
use serde::Deserialize;

/// One person of an import, as sent (a JSON object, or a CSV row's
/// values by column).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonRow {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub acs_id: String,
}

/// One row of an import: where it is, what it says, and its check.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// As a spreadsheet numbers it (the CSV header is row 1); a JSON
    /// array's position from 1.
    pub row: usize,
    pub sent: PersonRow,
    pub checked: Result<NewPerson, Vec<RowError>>,
}

/// Why an import cannot be read at all (as opposed to a row's problem).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportFileError {
    #[error("expected a JSON array of people: {0}")]
    Json(String),
    #[error(transparent)]
    Csv(#[from] CsvError),
    #[error("the import holds no people")]
    NoPeople,
}

/// Why a CSV cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error(
        "the first CSV line must name the columns; none is read as {}",
        missing.iter().map(|c| c.field()).collect::<Vec<_>>().join(", ")
    )]
    MissingColumns { missing: Vec<Column> },
    #[error("two CSV columns are both read as {}: {first:?} and {second:?}", column.field())]
    RepeatedColumn {
        column: Column,
        first: String,
        second: String,
    },
    #[error("malformed CSV: a quoted field opened on row {row} is never closed")]
    UnclosedQuote { row: usize },
}

/// A column an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    FirstName,
    /// Dutch names come with an infix (`tussenvoegsel`: "van der") that
    /// HR systems export apart; it goes before the last name.
    Infix,
    LastName,
    Email,
    AcsId,
}

impl Column {
    const ALL: [Column; 5] = [
        Column::FirstName,
        Column::Infix,
        Column::LastName,
        Column::Email,
        Column::AcsId,
    ];

    /// The field's name in the API and in row errors.
    pub fn field(self) -> &'static str {
        match self {
            Column::FirstName => "first_name",
            Column::Infix => "infix",
            Column::LastName => "last_name",
            Column::Email => "email",
            Column::AcsId => "acs_id",
        }
    }

    fn required(self) -> bool {
        self != Column::Infix
    }

    /// The headers read as this column, normalised by [`header_key`]:
    /// the API's names and what English and Dutch spreadsheets call them.
    fn headers(self) -> &'static [&'static str] {
        match self {
            Column::FirstName => &["firstname", "givenname", "voornaam", "roepnaam"],
            Column::Infix => &["infix", "tussenvoegsel", "voorvoegsel"],
            Column::LastName => &["lastname", "surname", "familyname", "achternaam"],
            Column::Email => &["email", "emailaddress", "mail", "emailadres", "mailadres"],
            Column::AcsId => &[
                "acsid",
                "cardnumber",
                "badgenumber",
                "pasnummer",
                "kaartnummer",
                "badgenummer",
            ],
        }
    }
}

/// A header as compared: lower case, without spaces, `_`, `-` and `.`
/// ("E-mail adres" and "emailadres" are one).
fn header_key(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The media types an import comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Json,
    Csv,
}

impl ImportFormat {
    /// From a `Content-Type`; `None` for any other.
    pub fn of(content_type: &str) -> Option<ImportFormat> {
        let media_type = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media_type.as_str() {
            "application/json" => Some(ImportFormat::Json),
            "text/csv" => Some(ImportFormat::Csv),
            _ => None,
        }
    }
}

/// Reads and checks an import: every row, or why none can be read.
pub fn read_import(format: ImportFormat, body: &[u8]) -> Result<Vec<ImportRow>, ImportFileError> {
    let rows = match format {
        ImportFormat::Json => read_json(body)?,
        ImportFormat::Csv => read_csv(body)?,
    };
    if rows.is_empty() {
        return Err(ImportFileError::NoPeople);
    }
    Ok(rows)
}

fn read_json(body: &[u8]) -> Result<Vec<ImportRow>, ImportFileError> {
    let sent: Vec<PersonRow> =
        serde_json::from_slice(body).map_err(|e| ImportFileError::Json(e.to_string()))?;
    Ok(sent
        .into_iter()
        .enumerate()
        .map(|(index, sent)| checked(index + 1, sent, None))
        .collect())
}

fn checked(row: usize, sent: PersonRow, problem: Option<RowError>) -> ImportRow {
    let checked = match problem {
        Some(problem) => Err(vec![problem]),
        None => NewPerson::parse(
            row,
            &sent.first_name,
            &sent.last_name,
            &sent.email,
            &sent.acs_id,
        ),
    };
    ImportRow { row, sent, checked }
}

/// The text of a CSV file: UTF-8 (its BOM dropped) when the bytes are
/// UTF-8, else Windows-1252, which is what Excel writes when it saves
/// "CSV" (not "CSV UTF-8") on a Western European Windows.
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

/// Reads a CSV: the header (its first line) names the columns and, by
/// holding more semicolons than commas, picks the separator. Columns
/// Limen does not read are ignored; rows that leave every column it reads
/// empty are skipped (a spreadsheet's blank or totals rows). An empty
/// file has no rows.
pub fn read_csv(bytes: &[u8]) -> Result<Vec<ImportRow>, CsvError> {
    let text = decode(bytes);
    let separator = separator(&text);
    let mut records = csv_records(&text, separator)?.into_iter();
    let Some(header) = records.next() else {
        return Ok(Vec::new());
    };
    let columns = columns(&header.fields)?;
    let last_read = columns.iter().flatten().copied().max().unwrap_or(0);
    let value = |fields: &[String], column: Column| -> String {
        columns[column as usize]
            .and_then(|at| fields.get(at))
            .cloned()
            .unwrap_or_default()
    };
    let mut rows = Vec::new();
    for record in records {
        let fields = &record.fields;
        if Column::ALL
            .iter()
            .all(|&c| value(fields, c).trim().is_empty())
        {
            continue;
        }
        let infix = value(fields, Column::Infix);
        let last_name = value(fields, Column::LastName);
        let sent = PersonRow {
            first_name: value(fields, Column::FirstName),
            last_name: match infix.trim() {
                "" => last_name,
                infix => format!("{infix} {}", last_name.trim()),
            },
            email: value(fields, Column::Email),
            acs_id: value(fields, Column::AcsId),
        };
        let overflow = fields
            .iter()
            .skip(header.fields.len())
            .any(|f| !f.trim().is_empty());
        let problem = if fields.len() <= last_read || overflow {
            Some(RowProblem::FieldCount {
                expected: header.fields.len(),
                found: fields.len(),
            })
        } else if record.stray_quote {
            Some(RowProblem::StrayQuote)
        } else {
            None
        };
        let problem = problem.map(|problem| RowError {
            row: record.row,
            field: "line",
            problem,
        });
        rows.push(checked(record.row, sent, problem));
    }
    Ok(rows)
}

/// Where each column is, by [`Column`] in the order of [`Column::ALL`].
fn columns(header: &[String]) -> Result<[Option<usize>; 5], CsvError> {
    let mut found: [Option<usize>; 5] = [None; 5];
    for (at, name) in header.iter().enumerate() {
        let key = header_key(name);
        let Some(column) = Column::ALL
            .into_iter()
            .find(|c| c.headers().contains(&&*key))
        else {
            continue;
        };
        if let Some(first) = found[column as usize] {
            return Err(CsvError::RepeatedColumn {
                column,
                first: header[first].trim().to_owned(),
                second: name.trim().to_owned(),
            });
        }
        found[column as usize] = Some(at);
    }
    let missing: Vec<Column> = Column::ALL
        .into_iter()
        .filter(|c| c.required() && found[*c as usize].is_none())
        .collect();
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(CsvError::MissingColumns { missing })
    }
}

/// `;` when the header line holds more semicolons than commas (outside
/// quotes), else `,`.
fn separator(text: &str) -> char {
    let mut in_quotes = false;
    let (mut commas, mut semicolons) = (0, 0);
    for c in text.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            '\n' | '\r' if !in_quotes => break,
            ',' if !in_quotes => commas += 1,
            ';' if !in_quotes => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { ';' } else { ',' }
}

/// One CSV record: a spreadsheet row.
#[derive(Debug, PartialEq, Eq)]
struct Record {
    /// From 1; a blank line is a row too, as a spreadsheet shows it.
    row: usize,
    fields: Vec<String>,
    /// A `"` inside a field that did not start with one (kept as text).
    stray_quote: bool,
}

/// Splits CSV text into records: fields may be double-quoted (with `""`
/// for a quote, and line breaks inside); lines end in LF or CRLF. Blank
/// lines count as rows but are not returned.
fn csv_records(text: &str, separator: char) -> Result<Vec<Record>, CsvError> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut stray_quote = false;
    let mut row = 1;
    let mut end_record = |fields: &mut Vec<String>, stray_quote: &mut bool, row: &mut usize| {
        let fields = std::mem::take(fields);
        if fields.len() > 1 || fields.iter().any(|f| !f.is_empty()) {
            records.push(Record {
                row: *row,
                fields,
                stray_quote: std::mem::take(stray_quote),
            });
        }
        *row += 1;
    };
    while let Some(c) = chars.next() {
        match (in_quotes, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => in_quotes = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => in_quotes = true,
            (false, '"') => {
                stray_quote = true;
                field.push('"');
            }
            (false, c) if c == separator => fields.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                end_record(&mut fields, &mut stray_quote, &mut row);
            }
            (false, c) => field.push(c),
        }
    }
    if in_quotes {
        return Err(CsvError::UnclosedQuote { row });
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        end_record(&mut fields, &mut stray_quote, &mut row);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people(bytes: &[u8]) -> Vec<(usize, PersonRow)> {
        read_csv(bytes)
            .expect("readable")
            .into_iter()
            .map(|r| (r.row, r.sent))
            .collect()
    }

    fn person(first: &str, last: &str, email: &str, acs_id: &str) -> PersonRow {
        PersonRow {
            first_name: first.into(),
            last_name: last.into(),
            email: email.into(),
            acs_id: acs_id.into(),
        }
    }

    fn problems(bytes: &[u8]) -> Vec<(usize, &'static str, RowProblem)> {
        read_csv(bytes)
            .expect("readable")
            .into_iter()
            .flat_map(|r| r.checked.err().unwrap_or_default())
            .map(|e| (e.row, e.field, e.problem))
            .collect()
    }

    #[test]
    fn comma_separated_with_the_api_header() {
        assert_eq!(
            people(b"first_name,last_name,email,acs_id\nAnn,Lee,ann@x.test,7\n"),
            vec![(2, person("Ann", "Lee", "ann@x.test", "7"))]
        );
    }

    #[test]
    fn semicolons_picked_from_the_header() {
        // A comma inside a value does not split it when `;` separates.
        assert_eq!(
            people(b"first_name;last_name;email;acs_id\nAnn;Lee, Jr.;ann@x.test;7"),
            vec![(2, person("Ann", "Lee, Jr.", "ann@x.test", "7"))]
        );
        assert_eq!(separator("\"a;b\",c\n;;;"), ',');
        assert_eq!(separator("a;b,c;d"), ';');
    }

    #[test]
    fn columns_found_by_english_or_dutch_header_in_any_order() {
        let english = b"E-mail Address,Card Number,Notes,Last Name,First Name\nann@x.test,7,likes tea,Lee,Ann\n";
        assert_eq!(
            people(english),
            vec![(2, person("Ann", "Lee", "ann@x.test", "7"))]
        );
        let dutch = "Personeelsnr;Voornaam;Tussenvoegsel;Achternaam;E-mailadres;Pasnummer\n\
                     12;Jan;van der;Berg;jan@x.test;A-1\n13;Els;;Smit;els@x.test;A-2\n";
        assert_eq!(
            people(dutch.as_bytes()),
            vec![
                (2, person("Jan", "van der Berg", "jan@x.test", "A-1")),
                (3, person("Els", "Smit", "els@x.test", "A-2")),
            ]
        );
    }

    #[test]
    fn a_missing_or_repeated_column_refuses_the_file() {
        assert_eq!(
            read_csv(b"voornaam;achternaam;telefoon\nJan;Berg;06\n").map(|_| ()),
            Err(CsvError::MissingColumns {
                missing: vec![Column::Email, Column::AcsId]
            })
        );
        assert_eq!(
            read_csv(b"first_name,last_name,email,e-mail,acs_id\n").map(|_| ()),
            Err(CsvError::RepeatedColumn {
                column: Column::Email,
                first: "email".into(),
                second: "e-mail".into()
            })
        );
        assert_eq!(
            read_import(ImportFormat::Csv, b"first_name,last_name,email,acs_id\r\n").map(|_| ()),
            Err(ImportFileError::NoPeople)
        );
        assert_eq!(
            read_import(ImportFormat::Csv, b"").map(|_| ()),
            Err(ImportFileError::NoPeople)
        );
    }

    #[test]
    fn bom_crlf_and_blank_rows_keep_the_spreadsheet_row_numbers() {
        let excel = b"\xEF\xBB\xBFVoornaam;Achternaam;E-mail;Pasnummer\r\nAnn;Lee;ann@x.test;7\r\n;;;\r\n\r\nBo;Berg;bo@x.test;8\r\n";
        assert_eq!(
            people(excel),
            vec![
                (2, person("Ann", "Lee", "ann@x.test", "7")),
                (5, person("Bo", "Berg", "bo@x.test", "8")),
            ]
        );
    }

    #[test]
    fn quoted_fields_hold_separators_quotes_and_line_breaks() {
        let text = b"first_name,last_name,email,acs_id\n\"Ann\",\"O\"\"Neil, \nJr.\",ann@x.test,7\nBo,Berg,bo@x.test,8\n";
        assert_eq!(
            people(text),
            vec![
                (2, person("Ann", "O\"Neil, \nJr.", "ann@x.test", "7")),
                // The line break inside row 2 does not make a row.
                (3, person("Bo", "Berg", "bo@x.test", "8")),
            ]
        );
        assert_eq!(
            read_csv(b"first_name,last_name,email,acs_id\nAnn,\"open,a@x.test,1\n").map(|_| ()),
            Err(CsvError::UnclosedQuote { row: 2 })
        );
        assert_eq!(
            problems(b"first_name,last_name,email,acs_id\nAnn,O\"Neil,a@x.test,1\n"),
            vec![(2, "line", RowProblem::StrayQuote)]
        );
    }

    #[test]
    fn windows_1252_from_excel_is_decoded() {
        // "Zoë;Ångström" as Excel's "CSV (semicolon)" writes it in a Dutch
        // locale: no BOM, Windows-1252, CRLF.
        let excel = b"Voornaam;Achternaam;E-mail;Pasnummer\r\nZo\xEB;\xC5ngstr\xF6m;zoe@x.test;7\r\nRen\xE9;\x80uro;r@x.test;8\r\n";
        assert_eq!(
            people(excel),
            vec![
                (2, person("Zoë", "Ångström", "zoe@x.test", "7")),
                (3, person("René", "€uro", "r@x.test", "8")),
            ]
        );
        assert_eq!(decode("Zoë".as_bytes()), "Zoë");
    }

    #[test]
    fn rows_report_their_own_problems_by_spreadsheet_row() {
        let text = b"first_name,last_name,email,acs_id,notes\nAnn,Lee,ann@x.test,7,,\nDan,,not-an-email,8\nGus,Ray,gus@x.test\nEve,Fox,eve@x.test,9,x,spilled\n";
        assert_eq!(
            problems(text),
            vec![
                (
                    3,
                    "last_name",
                    RowProblem::Invalid(limen_domain::InvalidValue::Name)
                ),
                (
                    3,
                    "email",
                    RowProblem::Invalid(limen_domain::InvalidValue::Email)
                ),
                (
                    4,
                    "line",
                    RowProblem::FieldCount {
                        expected: 5,
                        found: 3
                    }
                ),
                (
                    5,
                    "line",
                    RowProblem::FieldCount {
                        expected: 5,
                        found: 6
                    }
                ),
            ]
        );
    }

    #[test]
    fn json_rows_count_from_one() {
        let rows = read_import(
            ImportFormat::Json,
            br#"[{"first_name":"Ann","last_name":"Lee","email":"bad","acs_id":"7"}]"#,
        )
        .expect("readable");
        assert_eq!(rows[0].row, 1);
        assert_eq!(
            rows[0].checked.as_ref().map(|_| ()).map_err(|e| e[0].field),
            Err("email")
        );
        assert!(matches!(
            read_import(ImportFormat::Json, b"{}"),
            Err(ImportFileError::Json(_))
        ));
        assert_eq!(
            ImportFormat::of("text/csv; charset=windows-1252"),
            Some(ImportFormat::Csv)
        );
        assert_eq!(ImportFormat::of("text/plain"), None);
    }
}
