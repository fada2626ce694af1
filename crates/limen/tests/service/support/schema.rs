//! Checks a JSON value against a schema of the API's OpenAPI document:
//! the subset of OpenAPI 3.1 (JSON Schema 2020-12) that the generated
//! document uses. A keyword, format or pattern it does not know fails the
//! check rather than being skipped, so that a check cannot pass by not
//! looking. Objects are held to their documented properties: a field the
//! document leaves out is an error too. And [`Conformance`] holds a reply
//! of the service to the response the document gives for it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::support::Reply;

/// Keywords that say nothing a value must satisfy.
const ANNOTATIONS: [&str; 4] = ["description", "example", "examples", "contentMediaType"];

/// Where `value` departs from `schema` (empty when it conforms), each as
/// a JSON pointer into the value and what is wrong there.
pub fn violations(document: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    Checker { document }.check(schema, value, "", true, &mut found);
    found
}

struct Checker<'a> {
    document: &'a Value,
}

impl Checker<'_> {
    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("a $ref outside the components: {reference}"));
                let target = &self.document["components"]["schemas"][name];
                assert!(!target.is_null(), "{reference} names no schema");
                self.resolve(target)
            }
            None => schema,
        }
    }

    /// `closed`: whether properties not named here (or in the `allOf`
    /// around it) are errors.
    fn check(
        &self,
        schema: &Value,
        value: &Value,
        at: &str,
        closed: bool,
        found: &mut Vec<String>,
    ) {
        let schema = self.resolve(schema);
        let Some(keywords) = schema.as_object() else {
            panic!("not a schema at {at}: {schema}");
        };
        for (keyword, rule) in keywords {
            match keyword.as_str() {
                "type" => {
                    let types: Vec<&str> = match rule {
                        Value::String(one) => vec![one.as_str()],
                        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                        other => panic!("a type that is not one: {other}"),
                    };
                    if !types.iter().any(|t| has_type(value, t)) {
                        found.push(format!("{at}: {value} is not of type {rule}"));
                    }
                }
                "enum" => {
                    if !rule.as_array().is_some_and(|values| values.contains(value)) {
                        found.push(format!("{at}: {value} is not one of {rule}"));
                    }
                }
                "required" => {
                    for name in rule
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        if value.is_object() && value.get(name).is_none() {
                            found.push(format!("{at}: required {name:?} is missing"));
                        }
                    }
                }
                "properties" => {
                    if let Some(object) = value.as_object() {
                        self.properties(rule, object, at, found);
                    }
                }
                "additionalProperties" => {
                    if let Some(object) = value.as_object() {
                        let named = names(&schema["properties"]);
                        for (name, item) in object.iter().filter(|(n, _)| !named.contains(*n)) {
                            match rule {
                                Value::Bool(false) => {
                                    found.push(format!("{at}: {name:?} is not allowed"))
                                }
                                Value::Bool(true) => {}
                                extra => {
                                    self.check(extra, item, &format!("{at}/{name}"), true, found)
                                }
                            }
                        }
                    }
                }
                "items" => {
                    for (index, item) in value.as_array().into_iter().flatten().enumerate() {
                        self.check(rule, item, &format!("{at}/{index}"), true, found);
                    }
                }
                "allOf" => {
                    for part in rule.as_array().into_iter().flatten() {
                        self.check(part, value, at, false, found);
                    }
                }
                "oneOf" => {
                    let matching = rule
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|part| violations_of(self, part, value, at).is_empty())
                        .count();
                    if matching != 1 {
                        found.push(format!(
                            "{at}: {value} matches {matching} of the oneOf's schemas, not one"
                        ));
                    }
                }
                "minimum" => {
                    let minimum = rule.as_f64().expect("a numeric minimum");
                    if value.as_f64().is_some_and(|n| n < minimum) {
                        found.push(format!("{at}: {value} is below {minimum}"));
                    }
                }
                "minLength" | "maxLength" => {
                    let bound = rule.as_u64().expect("a length") as usize;
                    if let Some(text) = value.as_str() {
                        let length = text.chars().count();
                        let fits = if keyword == "minLength" {
                            length >= bound
                        } else {
                            length <= bound
                        };
                        if !fits {
                            found.push(format!(
                                "{at}: {length} characters against {keyword} {bound}"
                            ));
                        }
                    }
                }
                "minItems" => {
                    let bound = rule.as_u64().expect("a count") as usize;
                    if value.as_array().is_some_and(|items| items.len() < bound) {
                        found.push(format!("{at}: fewer than {bound} items"));
                    }
                }
                "pattern" => {
                    let pattern = rule.as_str().expect("a pattern");
                    if let Some(text) = value.as_str()
                        && !matches_pattern(pattern, text)
                    {
                        found.push(format!("{at}: {text:?} does not match {pattern}"));
                    }
                }
                "format" => check_format(rule.as_str().expect("a format"), value, at, found),
                annotation if ANNOTATIONS.contains(&annotation) => {}
                unknown => panic!("the schema checker does not know the keyword {unknown:?}"),
            }
        }
        if closed
            && let Some(object) = value.as_object()
            && keywords.contains_key("properties")
            && !keywords.contains_key("additionalProperties")
            && !keywords.contains_key("allOf")
        {
            let named = names(&schema["properties"]);
            for name in object.keys().filter(|n| !named.contains(*n)) {
                found.push(format!("{at}: {name:?} is not documented"));
            }
        }
        if closed
            && keywords.contains_key("allOf")
            && let Some(object) = value.as_object()
        {
            let named = self.all_of_names(schema);
            for name in object.keys().filter(|n| !named.contains(*n)) {
                found.push(format!("{at}: {name:?} is not documented"));
            }
        }
    }

    fn properties(
        &self,
        rule: &Value,
        object: &Map<String, Value>,
        at: &str,
        found: &mut Vec<String>,
    ) {
        for (name, property) in rule.as_object().into_iter().flatten() {
            if let Some(item) = object.get(name) {
                self.check(property, item, &format!("{at}/{name}"), true, found);
            }
        }
    }

    /// The properties the parts of an `allOf` name together.
    fn all_of_names(&self, schema: &Value) -> BTreeSet<String> {
        let mut named = names(&schema["properties"]);
        for part in schema["allOf"].as_array().into_iter().flatten() {
            named.extend(self.all_of_names(self.resolve(part)));
        }
        named
    }
}

fn violations_of(checker: &Checker, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut found = Vec::new();
    checker.check(schema, value, at, true, &mut found);
    found
}

fn names(properties: &Value) -> BTreeSet<String> {
    properties
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        other => panic!("the schema checker does not know the type {other:?}"),
    }
}

fn check_format(format: &str, value: &Value, at: &str, found: &mut Vec<String>) {
    let fits = match format {
        "int32" => value.as_i64().is_none_or(|n| i32::try_from(n).is_ok()),
        "int64" => !value.is_u64() || value.is_i64(),
        "float" | "double" | "binary" => true,
        // The plain shape: the server's own check is stricter.
        "email" => value.as_str().is_none_or(|text| {
            text.split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        }),
        other => panic!("the schema checker does not know the format {other:?}"),
    };
    if !fits {
        found.push(format!("{at}: {value} is not {format}"));
    }
}

/// The patterns the document uses: one character class, repeated a
/// number of times, anchored at both ends (`^[0-9a-f]{32}$`).
fn matches_pattern(pattern: &str, text: &str) -> bool {
    let parsed = pattern
        .strip_prefix("^[")
        .and_then(|rest| rest.strip_suffix('$'))
        .and_then(|rest| rest.split_once("]{"))
        .and_then(|(class, count)| Some((class, count.strip_suffix('}')?)));
    let Some((class, count)) = parsed else {
        panic!("the schema checker does not know the pattern {pattern}");
    };
    let (min, max) = match count.split_once(',') {
        Some((min, max)) => (min, max),
        None => (count, count),
    };
    let (min, max): (usize, usize) = (min.parse().expect("a count"), max.parse().expect("a count"));
    let class: Vec<char> = class.chars().collect();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < class.len() {
        if i + 2 < class.len() && class[i + 1] == '-' {
            ranges.push((class[i], class[i + 2]));
            i += 3;
        } else {
            ranges.push((class[i], class[i]));
            i += 1;
        }
    }
    let length = text.chars().count();
    (min..=max).contains(&length)
        && text
            .chars()
            .all(|c| ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)))
}

/// The document's operations: path to upper-case methods.
pub fn operations(document: &Value) -> BTreeMap<String, BTreeSet<String>> {
    document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .expect("operations")
                .keys()
                .map(|m| m.to_ascii_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// Checks each reply against the document's response for its operation
/// and status.
pub struct Conformance {
    pub document: Value,
}

impl Conformance {
    pub fn check(&self, method: &str, path: &str, reply: Reply) -> Reply {
        let operation = &self.document["paths"][path][method.to_ascii_lowercase()];
        assert!(!operation.is_null(), "{method} {path} is not documented");
        let status = reply.status;
        let response = &operation["responses"][status.to_string()];
        assert!(
            !response.is_null(),
            "{method} {path} answered {status}, which the document does not list: {}",
            reply.body
        );
        match response["content"].as_object() {
            None => assert!(
                reply.body.is_empty(),
                "{method} {path} {status} documents no body but sent {}",
                reply.body
            ),
            Some(content) => {
                let media_type = reply
                    .header("content-type")
                    .and_then(|v| v.split(';').next())
                    .unwrap_or_default()
                    .trim();
                let documented = content.get(media_type).unwrap_or_else(|| {
                    panic!(
                        "{method} {path} {status} answered {media_type:?}; documented: {:?}",
                        content.keys()
                    )
                });
                if media_type == "application/json" {
                    let found = violations(&self.document, &documented["schema"], &reply.json());
                    assert!(
                        found.is_empty(),
                        "{method} {path} {status}: {found:#?}\n{}",
                        reply.body
                    );
                }
            }
        }
        reply
    }
}
