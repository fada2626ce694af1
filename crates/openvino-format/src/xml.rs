//! A small element tree over quick-xml's events: names, attributes, text
//! and children, which is all an IR topology uses.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use crate::FormatError;

/// Deeper nesting than any IR file has is refused rather than followed.
const MAX_DEPTH: usize = 16;

#[derive(Debug, Default)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn xml_error(e: impl std::fmt::Display) -> FormatError {
    FormatError::Xml(e.to_string())
}

fn open(start: &BytesStart) -> Result<Element, FormatError> {
    let name = String::from_utf8(start.name().as_ref().to_vec()).map_err(xml_error)?;
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(xml_error)?;
        let key = String::from_utf8(attribute.key.as_ref().to_vec()).map_err(xml_error)?;
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(xml_error)?;
        attributes.push((key, value.into_owned()));
    }
    Ok(Element {
        name,
        attributes,
        ..Element::default()
    })
}

/// The document's root element.
pub fn parse(text: &str) -> Result<Element, FormatError> {
    let mut reader = quick_xml::Reader::from_str(text);
    // Open elements, innermost last.
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let event = reader.read_event().map_err(xml_error)?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(FormatError::Xml(format!(
                        "elements nested deeper than {MAX_DEPTH}"
                    )));
                }
                stack.push(open(&start)?);
            }
            Event::Empty(start) => {
                let element = open(&start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => return Ok(element),
                }
            }
            Event::End(_) => {
                // quick-xml checks that end tags match their start tags.
                let element = stack
                    .pop()
                    .ok_or_else(|| FormatError::Xml("unmatched end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => return Ok(element),
                }
            }
            Event::Text(text) => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&text.decode().map_err(xml_error)?);
                }
            }
            Event::GeneralRef(_) | Event::CData(_) => {
                return Err(FormatError::Xml(
                    "entity references and CDATA do not occur in IR files".into(),
                ));
            }
            Event::Eof => return Err(FormatError::Xml("no root element".into())),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_tree_with_attributes_and_text() {
        let root = parse(r#"<?xml version="1.0"?><a x="1"><b>  7 </b><c y="z"/></a>"#)
            .expect("well-formed");
        assert_eq!(root.name, "a");
        assert_eq!(root.attribute("x"), Some("1"));
        assert_eq!(root.child("b").map(|b| b.text.trim()), Some("7"));
        assert_eq!(root.child("c").and_then(|c| c.attribute("y")), Some("z"));
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in [
            "",
            "<a>",
            "<a></b>",
            "<a x=1/>",
            "<a>&amp;</a>",
            &"<a>".repeat(40),
        ] {
            assert!(matches!(parse(bad), Err(FormatError::Xml(_))), "{bad:?}");
        }
    }
}
