//! Every text a person reads, in their language: Fluent catalogues
//! (crates/server/locales/<code>/limen.ftl) compiled into the binary, and
//! the one place a message is resolved, [`Tr`]. Pages, e-mails, the
//! enrolment script's guidance and the errors shown to people all take
//! their words from here; the JSON API's own error messages stay English,
//! for programs.

use std::sync::LazyLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use limen_domain::Language;

fn catalogue(language: Language) -> &'static str {
    match language {
        Language::English => include_str!("../locales/en/limen.ftl"),
        Language::Dutch => include_str!("../locales/nl/limen.ftl"),
    }
}

type Bundle = FluentBundle<FluentResource>;

/// One bundle per language, in the order of [`Language::ALL`].
static BUNDLES: LazyLock<Vec<Bundle>> =
    LazyLock::new(|| Language::ALL.into_iter().map(bundle).collect());

fn bundle(language: Language) -> Bundle {
    let resource = FluentResource::try_new(catalogue(language).to_owned()).unwrap_or_else(
        |(resource, errors)| {
            // The catalogues' test fails on any of these: a build that has
            // them still shows every message that did parse.
            tracing::error!(language = %language, ?errors, "the catalogue does not parse");
            resource
        },
    );
    let tag = language
        .code()
        .parse()
        .unwrap_or_else(|_| unic_langid::LanguageIdentifier::default());
    let mut bundle = FluentBundle::new_concurrent(vec![tag]);
    // Only left-to-right languages: no bidirectional isolation marks
    // around values (they would end up inside links and e-mail subjects).
    bundle.set_use_isolating(false);
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(language = %language, ?errors, "the catalogue repeats a message");
    }
    bundle
}

/// The messages of one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr(Language);

impl Tr {
    pub fn new(language: Language) -> Tr {
        Tr(language)
    }

    pub fn language(self) -> Language {
        self.0
    }

    /// The language's code, for `<html lang>`.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// The message `id`.
    pub fn tr(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with its one variable.
    pub fn tr1(&self, id: &str, name: &str, value: impl Arg) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), value.fluent());
        self.format(id, Some(&args))
    }

    /// The message `id` with its two variables.
    pub fn tr2(
        &self,
        id: &str,
        first: &str,
        first_value: impl Arg,
        second: &str,
        second_value: impl Arg,
    ) -> String {
        let mut args = FluentArgs::new();
        args.set(first.to_owned(), first_value.fluent());
        args.set(second.to_owned(), second_value.fluent());
        self.format(id, Some(&args))
    }

    /// A fraction with `places` decimals, written as the language writes
    /// it (Dutch with a decimal comma). The catalogues' `NUMBER` does not:
    /// Fluent's Rust formatter knows no locale's separators.
    pub fn decimal(&self, value: f32, places: usize) -> String {
        let text = format!("{value:.places$}");
        match self.0 {
            Language::English => text,
            Language::Dutch => text.replace('.', ","),
        }
    }

    /// A [`Text`] in this language.
    pub fn text(&self, text: &Text) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in &text.args {
            args.set(*name, value.clone());
        }
        if !text.advice.is_empty() {
            let advice: Vec<String> = text.advice.iter().map(|code| self.advice(code)).collect();
            args.set("advice", advice.join("; "));
        }
        self.format(text.id, Some(&args))
    }

    /// The advice for one code of a frame's problems (as the services
    /// name them).
    pub fn advice(&self, code: &str) -> String {
        match ADVICE.iter().find(|(known, _)| *known == code) {
            Some((_, id)) => self.tr(id),
            None => {
                tracing::error!(code, "a frame problem without advice in the catalogues");
                self.tr("advice-undecodable")
            }
        }
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        let bundle = &BUNDLES[Language::ALL
            .iter()
            .position(|l| *l == self.0)
            .unwrap_or_default()];
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            tracing::error!(id, language = %self.0, "no such message in the catalogue");
            return id.to_owned();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::error!(id, language = %self.0, ?errors, "a message could not be formatted");
        }
        text.into_owned()
    }
}

/// A value a message takes: text, or a number (which plurals follow).
/// Templates hand values over by reference, hence the impl for `&T`.
pub trait Arg {
    fn fluent(&self) -> FluentValue<'_>;
}

impl Arg for str {
    fn fluent(&self) -> FluentValue<'_> {
        FluentValue::from(self)
    }
}

impl Arg for String {
    fn fluent(&self) -> FluentValue<'_> {
        FluentValue::from(self.as_str())
    }
}

impl Arg for u32 {
    fn fluent(&self) -> FluentValue<'_> {
        FluentValue::from(*self)
    }
}

impl Arg for usize {
    fn fluent(&self) -> FluentValue<'_> {
        FluentValue::from(*self)
    }
}

impl<T: Arg + ?Sized> Arg for &T {
    fn fluent(&self) -> FluentValue<'_> {
        (**self).fluent()
    }
}

/// The language a request asks for in `Accept-Language`, among those
/// Limen speaks: the one with the highest weight (q-value), the first of
/// equals; none when it names none of them.
pub fn accepted_language(headers: &HeaderMap) -> Option<Language> {
    let mut best: Option<(f32, Language)> = None;
    let values = headers
        .get_all(header::ACCEPT_LANGUAGE)
        .iter()
        .filter_map(|value| value.to_str().ok());
    for range in values.flat_map(|value| value.split(',')) {
        let mut parts = range.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let primary = tag
            .split('-')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let Ok(language) = primary.parse::<Language>() else {
            continue;
        };
        let weight = match parts.find_map(|p| p.trim().strip_prefix("q=")) {
            Some(q) => match q.trim().parse::<f32>() {
                Ok(q) if (0.0..=1.0).contains(&q) => q,
                _ => continue,
            },
            None => 1.0,
        };
        if weight > 0.0 && best.is_none_or(|(b, _)| weight > b) {
            best = Some((weight, language));
        }
    }
    best.map(|(_, language)| language)
}

/// The language a request from someone not signed in asks for (the
/// signed-in person's is their session's, [`crate::auth::PageSession`]).
/// Both follow [`Language::read_by`].
#[derive(Clone, Copy)]
pub struct Lang(Option<Language>);

impl Lang {
    /// The messages for a page of no organisation in particular.
    pub fn tr(&self) -> Tr {
        Tr::new(self.0.unwrap_or_default())
    }

    /// The messages for a page of an organisation with this default.
    pub fn tr_of(&self, organisation: Language) -> Tr {
        Tr::new(Language::read_by(None, self.0, organisation))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang(accepted_language(&parts.headers)))
    }
}

/// The advice messages, by the code the services give a frame's problem.
const ADVICE: [(&str, &str); 13] = [
    ("no_face", "advice-no-face"),
    ("several_faces", "advice-several-faces"),
    ("too_small", "advice-too-small"),
    ("blurred", "advice-blurred"),
    ("too_dark", "advice-too-dark"),
    ("too_bright", "advice-too-bright"),
    ("low_contrast", "advice-low-contrast"),
    ("turned_away", "advice-turned-away"),
    ("tilted", "advice-tilted"),
    ("weak_detection", "advice-weak-detection"),
    ("not_live", "advice-not-live"),
    ("disagrees", "advice-disagrees"),
    ("undecodable", "advice-undecodable"),
];

/// A message not yet put in a language: what an error tells a person,
/// decided where the error arises, worded where the person's language is
/// known.
#[derive(Debug, Clone)]
pub struct Text {
    id: &'static str,
    args: Vec<(&'static str, FluentValue<'static>)>,
    /// Advice codes, worded and joined as the variable `advice`.
    advice: Vec<&'static str>,
}

impl Text {
    pub fn new(id: &'static str) -> Text {
        Text {
            id,
            args: Vec::new(),
            advice: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<FluentValue<'static>>) -> Text {
        self.args.push((name, value.into()));
        self
    }

    pub fn with_advice(mut self, codes: Vec<&'static str>) -> Text {
        self.advice = codes;
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use fluent_bundle::FluentResource;
    use fluent_syntax::ast::Entry;

    use super::*;

    fn ids(language: Language) -> BTreeSet<String> {
        let resource = match FluentResource::try_new(catalogue(language).to_owned()) {
            Ok(resource) => resource,
            Err((_, errors)) => panic!("the {language} catalogue does not parse: {errors:?}"),
        };
        resource
            .entries()
            .filter_map(|entry| match entry {
                Entry::Message(message) => Some(message.id.name.to_owned()),
                _ => None,
            })
            .collect()
    }

    /// The message ids the code and the templates ask for: the literal
    /// first argument of every `tr`, `tr1`, `tr2` and `Text::new`.
    fn referenced_ids() -> BTreeSet<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        let mut dirs = vec![root.join("src"), root.join("templates")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("read a source directory") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        let mut ids = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read a source file");
            for call in [".tr(\"", ".tr1(\"", ".tr2(\"", "Text::new(\""] {
                for (at, _) in text.match_indices(call) {
                    let rest = &text[at + call.len()..];
                    let id = &rest[..rest.find('"').expect("a closing quote")];
                    if !id.is_empty() {
                        ids.insert(id.to_owned());
                    }
                }
            }
        }
        ids.extend(ADVICE.iter().map(|(_, id)| (*id).to_owned()));
        ids
    }

    #[test]
    fn every_catalogue_holds_the_same_messages() {
        let english = ids(Language::English);
        for language in Language::ALL {
            let other = ids(language);
            assert_eq!(
                english.difference(&other).collect::<Vec<_>>(),
                Vec::<&String>::new(),
                "missing in {language}"
            );
            assert_eq!(
                other.difference(&english).collect::<Vec<_>>(),
                Vec::<&String>::new(),
                "only in {language}"
            );
        }
    }

    #[test]
    fn every_message_asked_for_exists() {
        let referenced = referenced_ids();
        assert!(referenced.len() > 50, "the scan found the references");
        for language in Language::ALL {
            let known = ids(language);
            let missing: Vec<&String> = referenced.difference(&known).collect();
            assert!(
                missing.is_empty(),
                "not in the {language} catalogue: {missing:?}"
            );
        }
    }

    /// Action messages are named after the action's code, which the scan
    /// of literal ids cannot see: every action must have words in every
    /// catalogue.
    #[test]
    fn every_audit_action_has_words_in_every_catalogue() {
        for language in Language::ALL {
            let known = ids(language);
            let missing: Vec<String> = limen_domain::AuditAction::ALL
                .into_iter()
                .map(crate::admin_pages::words::action_message)
                .filter(|id| !known.contains(id))
                .collect();
            assert!(
                missing.is_empty(),
                "no words in the {language} catalogue for: {missing:?}"
            );
        }
    }

    #[test]
    fn fractions_are_written_as_the_language_writes_them() {
        assert_eq!(Tr::new(Language::English).decimal(0.974, 2), "0.97");
        assert_eq!(Tr::new(Language::Dutch).decimal(0.974, 2), "0,97");
    }

    #[test]
    fn accept_language_is_weighed() {
        let accepted = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_LANGUAGE,
                value.parse().expect("a header value"),
            );
            accepted_language(&headers)
        };
        assert_eq!(accepted("nl-NL,nl;q=0.9,en;q=0.8"), Some(Language::Dutch));
        assert_eq!(accepted("de-DE, en;q=0.5, nl;q=0.7"), Some(Language::Dutch));
        assert_eq!(accepted("en-GB,en;q=0.9,nl;q=0.9"), Some(Language::English));
        assert_eq!(accepted("fr, nl;q=0, *;q=0.1"), None);
        assert_eq!(accepted("NL;q=0.3, xx"), Some(Language::Dutch));
        assert_eq!(accepted("nl;q=2, en;q=abc"), None);
        assert_eq!(accepted_language(&HeaderMap::new()), None);
    }

    #[test]
    fn messages_take_their_variables() {
        for language in Language::ALL {
            let tr = Tr::new(language);
            assert!(
                tr.tr1("register-account", "email", "ann@acme.test")
                    .contains("ann@acme.test")
            );
            assert!(tr.tr1("mail-days", "days", 14u32).contains("14"));
            let text = Text::new("error-no-usable-frame").with_advice(vec!["too_dark", "blurred"]);
            assert!(tr.text(&text).contains(&tr.advice("too_dark")));
        }
        assert_eq!(
            Tr::new(Language::English).tr1("mail-days", "days", 1u32),
            "one day"
        );
    }
}
