//! The model: layers (type, attributes, port shapes, weight blobs) and the
//! edges between their ports.

use crate::xml::{self, Element};
use crate::{FormatError, f16_to_f32};

/// How a layer's blobs are stored in the weights file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Fp16,
    Fp32,
}

impl Precision {
    fn bytes(self) -> usize {
        match self {
            Precision::Fp16 => 2,
            Precision::Fp32 => 4,
        }
    }
}

/// An input or output of a layer: its id (edges name it) and the tensor
/// dimensions the file declares for it (NCHW for images).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub id: u32,
    pub dims: Vec<usize>,
}

/// A named array of a layer's weights (`weights`, `biases`, ...), widened
/// to `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct Blob {
    pub name: String,
    pub values: Vec<f32>,
}

/// One layer as the file describes it. What its type means is the
/// runtime's business.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub id: u32,
    pub name: String,
    /// The layer type, e.g. `Convolution`.
    pub kind: String,
    pub precision: Precision,
    /// The attributes of its `<data>` element, in file order.
    pub attributes: Vec<(String, String)>,
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
    pub blobs: Vec<Blob>,
}

/// An edge from one layer's output port to another layer's input port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub from_layer: u32,
    pub from_port: u32,
    pub to_layer: u32,
    pub to_port: u32,
}

/// A whole IR model.
#[derive(Debug, Clone, PartialEq)]
pub struct IrModel {
    pub name: String,
    /// In file order.
    pub layers: Vec<Layer>,
    pub edges: Vec<Edge>,
}

/// IR files name tensors with at most this many dimensions.
const MAX_DIMS: usize = 8;

impl IrModel {
    /// Reads a model from its XML topology and its weights file.
    pub fn parse(xml: &[u8], bin: &[u8]) -> Result<IrModel, FormatError> {
        let text = std::str::from_utf8(xml).map_err(|e| FormatError::Xml(e.to_string()))?;
        let net = xml::parse(text)?;
        if net.name != "net" {
            return Err(FormatError::NotANet(net.name));
        }
        match net.attribute("version") {
            Some("5") => {}
            Some(other) => return Err(FormatError::Version(other.to_string())),
            None => return Err(missing(&net, "version")),
        }
        let name = net.attribute("name").unwrap_or_default().to_string();
        let layers_element = net.child("layers").ok_or_else(|| FormatError::Invalid {
            element: "net".into(),
            reason: "no <layers>".into(),
        })?;
        let mut extents = Vec::new();
        let mut layers: Vec<Layer> = Vec::new();
        for element in layers_element.children_named("layer") {
            let layer = read_layer(element, bin, &mut extents)?;
            if layers.iter().any(|l| l.id == layer.id) {
                return Err(FormatError::DuplicateLayer(layer.id));
            }
            layers.push(layer);
        }
        extents.sort_unstable();
        if let Some(pair) = extents.windows(2).find(|w| w[1].0 < w[0].1) {
            return Err(FormatError::Invalid {
                element: format!("layers {} and {}", pair[0].2, pair[1].2),
                reason: "their blobs overlap".into(),
            });
        }
        let mut edges = Vec::new();
        if let Some(edges_element) = net.child("edges") {
            for element in edges_element.children_named("edge") {
                let edge = Edge {
                    from_layer: number(element, "from-layer")?,
                    from_port: number(element, "from-port")?,
                    to_layer: number(element, "to-layer")?,
                    to_port: number(element, "to-port")?,
                };
                let has_port = |layer: u32, port: u32, outputs: bool| {
                    layers.iter().any(|l| {
                        l.id == layer
                            && (if outputs { &l.outputs } else { &l.inputs })
                                .iter()
                                .any(|p| p.id == port)
                    })
                };
                if !has_port(edge.from_layer, edge.from_port, true)
                    || !has_port(edge.to_layer, edge.to_port, false)
                {
                    return Err(FormatError::DanglingEdge {
                        from_layer: edge.from_layer,
                        from_port: edge.from_port,
                        to_layer: edge.to_layer,
                        to_port: edge.to_port,
                    });
                }
                edges.push(edge);
            }
        }
        Ok(IrModel {
            name,
            layers,
            edges,
        })
    }

    pub fn layer(&self, id: u32) -> Option<&Layer> {
        self.layers.iter().find(|l| l.id == id)
    }
}

impl Layer {
    /// The value of a `<data>` attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A `<data>` attribute holding a comma-separated list of non-negative
    /// integers (`kernel="3,3"`).
    pub fn integers(&self, name: &str) -> Result<Vec<usize>, FormatError> {
        let value = self
            .attribute(name)
            .ok_or_else(|| FormatError::InvalidAttribute {
                element: self.describe(),
                attribute: name.to_string(),
                value: String::new(),
            })?;
        value
            .split(',')
            .map(|v| v.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| FormatError::InvalidAttribute {
                element: self.describe(),
                attribute: name.to_string(),
                value: value.to_string(),
            })
    }

    /// The blob called `name`, if the layer has one.
    pub fn blob(&self, name: &str) -> Option<&[f32]> {
        self.blobs
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.values.as_slice())
    }

    /// `layer 12 (Convolution "68")`, for messages.
    pub fn describe(&self) -> String {
        format!("layer {} ({} {:?})", self.id, self.kind, self.name)
    }
}

fn missing(element: &Element, attribute: &'static str) -> FormatError {
    FormatError::MissingAttribute {
        element: element.name.clone(),
        attribute,
    }
}

fn number<T: std::str::FromStr>(element: &Element, name: &'static str) -> Result<T, FormatError> {
    let value = element
        .attribute(name)
        .ok_or_else(|| missing(element, name))?;
    value
        .trim()
        .parse()
        .map_err(|_| FormatError::InvalidAttribute {
            element: element.name.clone(),
            attribute: name.to_string(),
            value: value.to_string(),
        })
}

fn read_ports(element: Option<&Element>, layer: u32) -> Result<Vec<Port>, FormatError> {
    let Some(element) = element else {
        return Ok(Vec::new());
    };
    let mut ports = Vec::new();
    for port in element.children_named("port") {
        let dims = port
            .children_named("dim")
            .map(|d| {
                d.text
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| FormatError::Invalid {
                        element: format!("layer {layer}"),
                        reason: format!("dimension {:?} is not a number", d.text.trim()),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if dims.len() > MAX_DIMS {
            return Err(FormatError::Invalid {
                element: format!("layer {layer}"),
                reason: format!("a port with {} dimensions", dims.len()),
            });
        }
        ports.push(Port {
            id: number(port, "id")?,
            dims,
        });
    }
    Ok(ports)
}

/// `extents` collects each blob's byte range `(start, end, layer)`.
fn read_layer(
    element: &Element,
    bin: &[u8],
    extents: &mut Vec<(usize, usize, u32)>,
) -> Result<Layer, FormatError> {
    let id: u32 = number(element, "id")?;
    let precision_text = element
        .attribute("precision")
        .ok_or_else(|| missing(element, "precision"))?;
    let precision = match precision_text {
        "FP16" => Precision::Fp16,
        "FP32" => Precision::Fp32,
        other => {
            return Err(FormatError::Precision {
                layer: id,
                precision: other.to_string(),
            });
        }
    };
    let mut blobs = Vec::new();
    if let Some(blobs_element) = element.child("blobs") {
        for blob in &blobs_element.children {
            let offset: usize = number(blob, "offset")?;
            let size: usize = number(blob, "size")?;
            let out_of_range = || FormatError::BlobOutOfRange {
                layer: id,
                blob: blob.name.clone(),
                bin_len: bin.len(),
            };
            let end = offset.checked_add(size).ok_or_else(out_of_range)?;
            let bytes = bin.get(offset..end).ok_or_else(out_of_range)?;
            // Blobs may not overlap, so together they fit in the weights
            // file: no file makes this reader allocate more than twice its
            // size, even before the overlap itself is found.
            let total: usize = extents.iter().map(|(s, e, _)| e - s).sum::<usize>() + size;
            if total > bin.len() {
                return Err(FormatError::Invalid {
                    element: format!("layer {id}"),
                    reason: "blobs overlap: together they exceed the weights file".into(),
                });
            }
            extents.push((offset, end, id));
            if !size.is_multiple_of(precision.bytes()) {
                return Err(FormatError::Invalid {
                    element: format!("layer {id}"),
                    reason: format!("blob {} of {size} bytes is not whole values", blob.name),
                });
            }
            let values = match precision {
                Precision::Fp16 => bytes
                    .chunks_exact(2)
                    .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                    .collect(),
                Precision::Fp32 => bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            };
            blobs.push(Blob {
                name: blob.name.clone(),
                values,
            });
        }
    }
    Ok(Layer {
        id,
        name: element.attribute("name").unwrap_or_default().to_string(),
        kind: element
            .attribute("type")
            .ok_or_else(|| missing(element, "type"))?
            .to_string(),
        precision,
        attributes: element
            .child("data")
            .map(|d| d.attributes.clone())
            .unwrap_or_default(),
        inputs: read_ports(element.child("input"), id)?,
        outputs: read_ports(element.child("output"), id)?,
        blobs,
    })
}
