//! The API's OpenAPI document, made from the handlers' `#[utoipa::path]`
//! annotations and the types they take and answer with (so the document
//! cannot describe a body the code does not send), and a page that shows
//! it: server-rendered from the same document, no script, so that it
//! works under the service's own Content-Security-Policy.

use std::sync::{Arc, LazyLock};

use askama::Template;
use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ErrorBody;
use crate::views::render;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Limen",
        version = "1",
        description = "Privacy-first face access. The admin API (an organisation's API key or an \
            admin's session), the employee API (an employee's session) and the camera devices' \
            frame endpoint (a device token). Errors are `{\"error\": message}` in English; the \
            advice on enrolment frames is in the language the person reads (their choice, else \
            Accept-Language, else the organisation's). Besides the answers each operation \
            lists, one that takes a JSON body answers 400 to malformed JSON, 413 to a body over \
            256 KiB, 415 without `Content-Type: application/json` and 422 to missing or \
            ill-typed fields, each with the error body.",
    ),
    modifiers(&SecuritySchemes),
    components(schemas(ErrorBody)),
    tags(
        (name = "people", description = "An organisation's people: import, invitation, erasure"),
        (name = "entrances", description = "Entrances, their camera devices and the decisions taken there"),
        (name = "devices", description = "What camera devices send"),
        (name = "organisation", description = "The organisation's settings and audit trail"),
        (name = "api keys", description = "The organisation's API keys"),
        (name = "admins", description = "The organisation's admin accounts"),
        (name = "employee", description = "An employee's own account, consent and face"),
        (name = "service", description = "Health, readiness and this documentation"),
    ),
)]
struct ApiDoc;

/// The bearer tokens the API takes; each operation names the ones it
/// accepts.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        for (name, description) in [
            (
                "api_key",
                "An organisation's API key: the admin token of `limen admin org create` or \
                 `org token`, or a key made with `POST /api/v1/api-keys`.",
            ),
            (
                "admin_session",
                "An admin's session token, from `POST /api/v1/admin-session`.",
            ),
            (
                "employee_session",
                "An employee's session token, from `POST /api/v1/session`.",
            ),
            (
                "device_token",
                "A camera device's token, from `POST /api/v1/entrances/{id}/devices`.",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(description))
                        .build(),
                ),
            );
        }
    }
}

/// The document's root: what every operation shares.
pub(crate) fn root() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(document))
        .routes(routes!(docs_page))
}

static DOCUMENT: LazyLock<Document> = LazyLock::new(|| named_times(crate::api().into_openapi()));

/// Timestamps are `UnixTime`, an alias of `i64` that the derive names
/// after the integer; the document names them for what they are.
fn named_times(document: Document) -> Document {
    fn rename(value: &mut Value) {
        match value {
            Value::String(text) if text == "#/components/schemas/i64" => {
                *text = "#/components/schemas/UnixTime".to_owned();
            }
            Value::Array(items) => items.iter_mut().for_each(rename),
            Value::Object(fields) => fields.values_mut().for_each(rename),
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::to_value(&document) else {
        return document;
    };
    let Some(schemas) = value["components"]["schemas"].as_object_mut() else {
        return document;
    };
    if let Some(mut time) = schemas.remove("i64") {
        time["description"] = "Seconds since the Unix epoch.".into();
        schemas.insert("UnixTime".to_owned(), time);
    }
    rename(&mut value);
    serde_json::from_value(value).unwrap_or(document)
}

/// The API's OpenAPI document.
pub fn openapi() -> &'static Document {
    &DOCUMENT
}

/// This document (OpenAPI 3.1).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "service",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")),
)]
async fn document() -> Json<&'static Document> {
    Json(openapi())
}

/// This document as a page to read.
#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "service",
    responses((status = 200, description = "The page", content_type = "text/html")),
)]
async fn docs_page() -> Response {
    static PAGE: LazyLock<DocsPage> = LazyLock::new(|| DocsPage::of(openapi()));
    render(StatusCode::OK, &*PAGE)
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct DocsPage {
    title: String,
    version: String,
    description: String,
    tags: Vec<TagView>,
    schemas: Vec<SchemaView>,
}

struct TagView {
    anchor: String,
    name: String,
    description: String,
    operations: Vec<OperationView>,
}

struct OperationView {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    /// The security schemes it takes, any one of them; empty for none.
    security: Vec<String>,
    parameters: Vec<ParameterView>,
    request: Vec<BodyView>,
    responses: Vec<ResponseView>,
}

struct ParameterView {
    name: String,
    location: String,
    required: bool,
    description: String,
}

struct BodyView {
    media_type: String,
    schema: SchemaLabel,
    examples: Vec<String>,
}

struct ResponseView {
    status: String,
    description: String,
    bodies: Vec<BodyView>,
}

/// A schema as a line names it: a link to a component, or its JSON.
struct SchemaLabel {
    text: String,
    link: Option<String>,
}

struct SchemaView {
    name: String,
    json: String,
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// An id for a link within the page.
fn anchor(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

impl DocsPage {
    /// The page of a document, read as the JSON it is served as.
    fn of(document: &Document) -> DocsPage {
        let document = serde_json::to_value(document).unwrap_or_default();
        let mut tags: Vec<TagView> = document["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|tag| TagView {
                anchor: anchor(&format!("tag {}", text(&tag["name"]))),
                name: text(&tag["name"]),
                description: text(&tag["description"]),
                operations: Vec::new(),
            })
            .collect();
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let operation = &item[method];
                if operation.is_null() {
                    continue;
                }
                let view = OperationView::of(method, path, operation);
                let tag = text(&operation["tags"][0]);
                match tags.iter_mut().find(|t| t.name == tag) {
                    Some(group) => group.operations.push(view),
                    None => tags.push(TagView {
                        anchor: anchor(&format!("tag {tag}")),
                        name: tag,
                        description: String::new(),
                        operations: vec![view],
                    }),
                }
            }
        }
        tags.retain(|tag| !tag.operations.is_empty());
        let schemas = document["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, schema)| SchemaView {
                name: name.clone(),
                json: pretty(schema),
            })
            .collect();
        DocsPage {
            title: text(&document["info"]["title"]),
            version: text(&document["info"]["version"]),
            description: text(&document["info"]["description"]),
            tags,
            schemas,
        }
    }
}

impl OperationView {
    fn of(method: &str, path: &str, operation: &Value) -> OperationView {
        let security = operation["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|requirement| requirement.as_object())
            .flat_map(|requirement| requirement.keys().cloned())
            .collect();
        let parameters = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|parameter| ParameterView {
                name: text(&parameter["name"]),
                location: text(&parameter["in"]),
                required: parameter["required"].as_bool().unwrap_or(false),
                description: text(&parameter["description"]),
            })
            .collect();
        let responses = operation["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(status, response)| ResponseView {
                status: status.clone(),
                description: text(&response["description"]),
                bodies: BodyView::all(&response["content"]),
            })
            .collect();
        OperationView {
            anchor: anchor(&format!("{method} {path}")),
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            summary: text(&operation["summary"]),
            description: text(&operation["description"]),
            security,
            parameters,
            request: BodyView::all(&operation["requestBody"]["content"]),
            responses,
        }
    }
}

impl BodyView {
    /// The bodies of a `content` map, one per media type.
    fn all(content: &Value) -> Vec<BodyView> {
        content
            .as_object()
            .into_iter()
            .flatten()
            .map(|(media_type, body)| {
                let named = body["examples"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, example)| format!("{name}:\n{}", pretty(&example["value"])));
                let examples = match &body["example"] {
                    Value::Null => named.collect(),
                    Value::String(text) => vec![text.clone()],
                    example => vec![pretty(example)],
                };
                BodyView {
                    media_type: media_type.clone(),
                    schema: SchemaLabel::of(&body["schema"]),
                    examples,
                }
            })
            .collect()
    }
}

impl SchemaLabel {
    fn of(schema: &Value) -> SchemaLabel {
        let component = |schema: &Value| {
            schema["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .map(str::to_owned)
        };
        if let Some(name) = component(schema) {
            return SchemaLabel {
                link: Some(format!("schema-{name}")),
                text: name,
            };
        }
        if let Some(name) = component(&schema["items"]) {
            return SchemaLabel {
                link: Some(format!("schema-{name}")),
                text: format!("array of {name}"),
            };
        }
        SchemaLabel {
            text: serde_json::to_string(schema).unwrap_or_default(),
            link: None,
        }
    }
}
