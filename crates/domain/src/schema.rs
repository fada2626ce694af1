//! OpenAPI schemas of the values that serialise themselves (as a checked
//! string, a code or a list of numbers), for the server's API document.
//! The structs and enums derive theirs where they are declared.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};

use crate::{
    AcsId, AdminId, ApiKeyId, DeviceId, EmailAddress, EntranceId, FaceVector, HandoverId, Label,
    Language, ModelVersion, OrgId, PersonId, PersonName, SecurityLevel,
};

/// Implements `ToSchema` for a type with the schema the expression makes.
macro_rules! schema {
    ($ty:ty => $schema:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }
        impl utoipa::ToSchema for $ty {}
    };
}

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

fn id(example: &str) -> RefOr<Schema> {
    string("An identifier: 128 random bits as 32 lower-case hexadecimal digits.")
        .pattern(Some("^[0-9a-f]{32}$"))
        .examples([example])
        .into()
}

schema!(OrgId => id("4f1c2b7e9a0d4c3b8e6f1a2b3c4d5e6f"));
schema!(PersonId => id("0b9e5f6a7c8d4e3f9a1b2c3d4e5f6a7b"));
schema!(EntranceId => id("9c8b7a6f5e4d4c3b2a1f0e9d8c7b6a5f"));
schema!(DeviceId => id("d3e4f5a6b7c84d9e0f1a2b3c4d5e6f70"));
schema!(ApiKeyId => id("5a6b7c8d9e0f4a1b2c3d4e5f6a7b8c9d"));
schema!(AdminId => id("7e6d5c4b3a2f4e1d0c9b8a7f6e5d4c3b"));
schema!(HandoverId => id("1f2e3d4c5b6a4f7e8d9c0b1a2f3e4d5c"));

schema!(EmailAddress => string("An e-mail address, trimmed and lower-cased.")
    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
        utoipa::openapi::KnownFormat::Email,
    )))
    .max_length(Some(254))
    .examples(["ann.lee@example.com"])
    .into());
schema!(AcsId => string("The id under which the access system knows the person (its card number): 1 to 64 visible ASCII characters.")
    .pattern(Some("^[!-~]{1,64}$"))
    .examples(["10042"])
    .into());
schema!(PersonName => string("A first or last name: 1 to 100 characters, no control characters.")
    .min_length(Some(1))
    .max_length(Some(100))
    .examples(["Ann"])
    .into());
schema!(Label => string("A name given to an entrance or an API key: 1 to 100 characters, no control characters.")
    .min_length(Some(1))
    .max_length(Some(100))
    .examples(["Main door"])
    .into());
schema!(ModelVersion => string("The face model that made a vector; vectors of different models are never compared.")
    .examples(["dlib-resnet-v1"])
    .into());
schema!(Language => string("A language Limen speaks: its BCP 47 primary subtag.")
    .enum_values(Some(Language::ALL.map(Language::code)))
    .into());
schema!(SecurityLevel => string("An organisation's security level: standard (about 1 stranger in 100 matched), high (1 in 1,000) or very_high (1 in 10,000).")
    .enum_values(Some(SecurityLevel::ALL.map(SecurityLevel::as_str)))
    .into());
schema!(FaceVector => ArrayBuilder::new()
    .items(ObjectBuilder::new().schema_type(Type::Number))
    .min_items(Some(1))
    .description(Some("A facial vector: finite numbers, as many as the model makes."))
    .into());
