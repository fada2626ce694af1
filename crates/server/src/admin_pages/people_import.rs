//! The admin's people import: a CSV file uploaded, read and checked as the
//! API reads and checks it, and shown row by row with every problem in the
//! admin's language; nothing is saved while any row has one. When none
//! has, the page carries the file itself (base64 in a hidden field) to the
//! "import" button, and the import reads and checks it all again, exactly
//! as at upload: the hidden field is never trusted, and a clash that
//! arose meanwhile is shown the same way.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use limen_domain::{InvalidValue, RowError, RowProblem};
use limen_services::ServiceError;
use serde::Deserialize;

use super::{AdminNav, AdminPage};
use crate::AppState;
use crate::checked_form::CheckedForm;
use crate::i18n::Tr;
use crate::pages::{csrf_refused, error_page};
use crate::people_import::{CsvError, ImportRow, read_csv};
use crate::views::render;

/// Rows without a problem shown at most; rows with one are always all
/// shown.
const FINE_ROWS_SHOWN: usize = 1_000;

pub fn routes() -> Router<Arc<AppState>> {
    // A multipart envelope around the file; base64 makes it 4/3 as long.
    let upload_limit = crate::IMPORT_BODY_LIMIT + 64 * 1024;
    let confirm_limit = crate::IMPORT_BODY_LIMIT / 3 * 4 + 64 * 1024;
    Router::new()
        .route(
            "/admin/people/import",
            post(upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/admin/people/import/confirm",
            post(confirm).layer(DefaultBodyLimit::max(confirm_limit)),
        )
}

/// One row of the preview: its values as sent, and its problems worded.
struct PreviewRow {
    row: usize,
    first_name: String,
    last_name: String,
    email: String,
    acs_id: String,
    problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/people_import.html")]
struct ImportPage<'a> {
    t: Tr,
    title: String,
    organisation: &'a str,
    csrf: &'a str,
    nav: AdminNav,
    /// Why the file cannot be read at all.
    file_problem: Option<String>,
    rows: Vec<PreviewRow>,
    /// Rows read, and how many of them have a problem.
    total: usize,
    with_problems: usize,
    /// Fine rows not shown.
    hidden: usize,
    /// The file, to import when no row has a problem.
    file: Option<String>,
}

impl ImportPage<'_> {
    fn status(&self) -> StatusCode {
        if self.file.is_some() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

fn page<'a>(page: &'a AdminPage) -> ImportPage<'a> {
    ImportPage {
        t: page.t,
        title: page.t.tr("admin-people-import-title"),
        organisation: &page.organisation,
        csrf: &page.csrf,
        nav: AdminNav::People,
        file_problem: None,
        rows: Vec::new(),
        total: 0,
        with_problems: 0,
        hidden: 0,
        file: None,
    }
}

/// The preview of `rows`, with `errors` (the services', covering every
/// row) shown by row; the file offered for import when there is none.
fn preview<'a>(
    admin: &'a AdminPage,
    rows: Vec<ImportRow>,
    errors: &[RowError],
    file: &[u8],
) -> ImportPage<'a> {
    let t = admin.t;
    let mut problems: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for error in errors {
        problems
            .entry(error.row)
            .or_default()
            .push(row_problem(t, error));
    }
    let mut shown = Vec::new();
    let mut fine_shown = 0;
    let total = rows.len();
    for row in rows {
        let problems = problems.remove(&row.row).unwrap_or_default();
        if problems.is_empty() {
            if fine_shown == FINE_ROWS_SHOWN {
                continue;
            }
            fine_shown += 1;
        }
        shown.push(PreviewRow {
            row: row.row,
            first_name: row.sent.first_name,
            last_name: row.sent.last_name,
            email: row.sent.email,
            acs_id: row.sent.acs_id,
            problems,
        });
    }
    let with_problems = shown.iter().filter(|r| !r.problems.is_empty()).count();
    ImportPage {
        hidden: total - shown.len(),
        total,
        with_problems,
        file: errors.is_empty().then(|| URL_SAFE_NO_PAD.encode(file)),
        rows: shown,
        ..page(admin)
    }
}

/// Reads and checks the file; the preview page, whatever it finds.
async fn check(state: &AppState, admin: &AdminPage, file: &[u8]) -> Response {
    let rows = match read(admin.t, file) {
        Ok(rows) => rows,
        Err(problem) => return unreadable(admin, problem),
    };
    let checked = rows.iter().map(|row| row.checked.clone()).collect();
    let errors = match state.services.check_import(&admin.admin.org, checked).await {
        Ok(Ok(_)) => Vec::new(),
        Ok(Err(errors)) => errors,
        Err(e) => return error_page(admin.t, e),
    };
    let page = preview(admin, rows, &errors, file);
    render(page.status(), &page)
}

/// The file's rows, or why it cannot be read, in the admin's language.
fn read(t: Tr, file: &[u8]) -> Result<Vec<ImportRow>, String> {
    match read_csv(file) {
        Ok(rows) if !rows.is_empty() => Ok(rows),
        Ok(_) => Err(t.tr("admin-people-file-empty")),
        Err(e) => Err(file_problem(t, &e)),
    }
}

/// The page saying why the file cannot be read.
fn unreadable(admin: &AdminPage, problem: String) -> Response {
    let page = ImportPage {
        file_problem: Some(problem),
        ..page(admin)
    };
    render(page.status(), &page)
}

async fn upload(
    State(state): State<Arc<AppState>>,
    admin: AdminPage,
    mut multipart: Multipart,
) -> Response {
    let (mut csrf, mut file) = (String::new(), Vec::new());
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return e.into_response(),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return e.into_response(),
        };
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => file = bytes.to_vec(),
            _ => {}
        }
    }
    if !admin.csrf.accepts(&csrf) {
        return csrf_refused(admin.t);
    }
    check(&state, &admin, &file).await
}

/// The import button's form (a missing token is refused as a wrong one).
#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    file: String,
}

async fn confirm(
    State(state): State<Arc<AppState>>,
    CheckedForm {
        session: admin,
        form,
    }: CheckedForm<AdminPage, ConfirmForm>,
) -> Response {
    let Ok(file) = URL_SAFE_NO_PAD.decode(form.file.trim()) else {
        return error_page(admin.t, crate::ApiError::bad_request("not base64"));
    };
    let rows = match read(admin.t, &file) {
        Ok(rows) => rows,
        Err(problem) => return unreadable(&admin, problem),
    };
    let checked = rows.iter().map(|row| row.checked.clone()).collect();
    match state.services.import_people(&admin.admin, checked).await {
        Ok(report) => Redirect::to(&format!(
            "/admin/people?imported={}",
            report.created + report.updated
        ))
        .into_response(),
        Err(ServiceError::ImportRefused(errors)) => {
            let page = preview(&admin, rows, &errors, &file);
            render(page.status(), &page)
        }
        Err(e) => error_page(admin.t, e),
    }
}

/// A column as the admin's spreadsheet would name it.
fn column_name(t: Tr, field: &str) -> String {
    t.tr(match field {
        "first_name" => "admin-people-column-first-name",
        "last_name" => "admin-people-column-last-name",
        "email" => "admin-people-column-email",
        "acs_id" => "admin-people-column-acs-id",
        _ => "admin-people-column-line",
    })
}

/// One problem of a row, in the admin's language: the column, then what
/// is wrong.
fn row_problem(t: Tr, error: &RowError) -> String {
    let what = match &error.problem {
        RowProblem::Invalid(InvalidValue::Email) => t.tr("admin-people-problem-email"),
        RowProblem::Invalid(InvalidValue::AcsId) => t.tr("admin-people-problem-acs-id"),
        RowProblem::Invalid(_) => t.tr("admin-people-problem-name"),
        RowProblem::DuplicateOf(row) => t.tr1("admin-people-problem-duplicate", "row", row),
        RowProblem::AcsIdTaken => t.tr("admin-people-problem-acs-id-taken"),
        RowProblem::FieldCount { expected, found } => t.tr2(
            "admin-people-problem-field-count",
            "expected",
            expected,
            "found",
            found,
        ),
        RowProblem::StrayQuote => t.tr("admin-people-problem-stray-quote"),
    };
    t.tr2(
        "admin-people-problem",
        "column",
        column_name(t, error.field),
        "problem",
        what,
    )
}

/// Why the file cannot be read, in the admin's language.
fn file_problem(t: Tr, e: &CsvError) -> String {
    match e {
        CsvError::MissingColumns { missing } => {
            let columns: Vec<String> = missing.iter().map(|c| column_name(t, c.field())).collect();
            t.tr1(
                "admin-people-file-missing-columns",
                "columns",
                columns.join(", "),
            )
        }
        CsvError::RepeatedColumn { first, second, .. } => t.tr2(
            "admin-people-file-repeated-column",
            "first",
            first,
            "second",
            second,
        ),
        CsvError::UnclosedQuote { row } => t.tr1("admin-people-file-unclosed-quote", "row", row),
    }
}
