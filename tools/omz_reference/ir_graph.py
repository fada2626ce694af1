"""OpenVINO IR v5 graphs (XML + FP16 .bin) as ONNX models for ONNX Runtime,
and as a plain NumPy interpreter to cross-check it.

Only the layer types of Intel's face-reidentification-retail-0095 and
landmarks-regression-retail-0009 are handled: Input, ScaleShift,
Convolution (dense, depthwise), PReLU, Pooling, Activation (sigmoid) and
Eltwise (sum, mul). Anything else raises.
"""
import xml.etree.ElementTree as ET

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def ints(text):
    return [int(v) for v in text.split(",")]


class IrGraph:
    """Layers in topological order with their attributes, blobs (float32)
    and input layer ids."""

    def __init__(self, xml_path, bin_path):
        root = ET.parse(xml_path).getroot()
        assert root.get("version") == "5", "IR v5 only"
        weights = open(bin_path, "rb").read()
        self.layers = {}
        for layer in root.find("layers"):
            dtype = {"FP16": np.float16, "FP32": np.float32}[layer.get("precision")]
            blobs = {}
            if layer.find("blobs") is not None:
                for blob in layer.find("blobs"):
                    start, size = int(blob.get("offset")), int(blob.get("size"))
                    blobs[blob.tag] = np.frombuffer(weights[start:start + size], dtype).astype(np.float32)
            data = layer.find("data")
            port = layer.find("output")[0]
            self.layers[int(layer.get("id"))] = {
                "type": layer.get("type"),
                "data": dict(data.attrib) if data is not None else {},
                "blobs": blobs,
                "out": [int(d.text) for d in port.findall("dim")],
                "inputs": [],
            }
        edges = sorted((int(e.get("to-layer")), int(e.get("to-port")), int(e.get("from-layer")))
                       for e in root.find("edges"))
        for to, _, source in edges:
            self.layers[to]["inputs"].append(source)
        readers = {s for layer in self.layers.values() for s in layer["inputs"]}
        (self.output,) = [i for i in self.layers if i not in readers]
        self.order = []
        done = set()
        while len(self.order) < len(self.layers):
            for i, layer in sorted(self.layers.items()):
                if i not in done and all(s in done for s in layer["inputs"]):
                    self.order.append(i)
                    done.add(i)

    def to_onnx(self):
        nodes, inits = [], []
        name = lambda i: f"v{i}"

        def const(tag, array):
            inits.append(numpy_helper.from_array(np.ascontiguousarray(array, np.float32), tag))
            return tag

        for i in self.order:
            layer = self.layers[i]
            t, d, b = layer["type"], layer["data"], layer["blobs"]
            ins = [name(s) for s in layer["inputs"]]
            out = name(i)
            if t == "Input":
                graph_input = helper.make_tensor_value_info(out, TensorProto.FLOAT, layer["out"])
            elif t == "ScaleShift":
                c = layer["out"][1]
                nodes.append(helper.make_node("Mul", [ins[0], const(f"s{i}", b["weights"].reshape(1, c, 1, 1))], [f"m{i}"]))
                nodes.append(helper.make_node("Add", [f"m{i}", const(f"b{i}", b["biases"].reshape(1, c, 1, 1))], [out]))
            elif t == "Convolution":
                cout, group = int(d["output"]), int(d["group"])
                kh, kw = ints(d["kernel"])
                cin = self.layers[layer["inputs"][0]]["out"][1]
                w = b["weights"].reshape(cout, cin // group, kh, kw)
                args = [ins[0], const(f"w{i}", w)] + ([const(f"b{i}", b["biases"])] if "biases" in b else [])
                nodes.append(helper.make_node(
                    "Conv", args, [out], kernel_shape=[kh, kw], strides=ints(d["strides"]),
                    pads=ints(d["pads_begin"]) + ints(d["pads_end"]), dilations=ints(d["dilations"]), group=group))
            elif t == "PReLU":
                slope = b["weights"]
                slope = slope if d.get("channel_shared") == "1" else slope.reshape(-1, 1, 1)
                nodes.append(helper.make_node("PRelu", [ins[0], const(f"p{i}", slope)], [out]))
            elif t == "Pooling":
                assert d["pads_begin"] == "0,0" and d["pads_end"] == "0,0"
                op = {"max": "MaxPool", "avg": "AveragePool"}[d["pool-method"]]
                nodes.append(helper.make_node(op, ins, [out], kernel_shape=ints(d["kernel"]), strides=ints(d["strides"])))
            elif t == "Activation":
                assert d["type"] == "sigmoid"
                nodes.append(helper.make_node("Sigmoid", ins, [out]))
            elif t == "Eltwise":
                op = {"sum": "Add", "mul": "Mul"}[d["operation"]]
                nodes.append(helper.make_node(op, ins, [out]))
            else:
                raise ValueError(f"layer type {t}")
        graph_output = helper.make_tensor_value_info(name(self.output), TensorProto.FLOAT, self.layers[self.output]["out"])
        graph = helper.make_graph(nodes, "ir", [graph_input], [graph_output], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        onnx.checker.check_model(model)
        return model

    def run_numpy(self, x):
        """The same graph computed directly in NumPy (float32, NCHW)."""
        values = {}
        for i in self.order:
            layer = self.layers[i]
            t, d, b = layer["type"], layer["data"], layer["blobs"]
            ins = [values[s] for s in layer["inputs"]]
            if t == "Input":
                y = x.astype(np.float32)
            elif t == "ScaleShift":
                y = ins[0] * b["weights"].reshape(1, -1, 1, 1) + b["biases"].reshape(1, -1, 1, 1)
            elif t == "Convolution":
                y = conv(ins[0], b["weights"], b.get("biases"), d)
            elif t == "PReLU":
                slope = b["weights"] if d.get("channel_shared") == "1" else b["weights"].reshape(1, -1, 1, 1)
                y = np.where(ins[0] > 0, ins[0], ins[0] * slope)
            elif t == "Pooling":
                kh, kw = ints(d["kernel"])
                sh, sw = ints(d["strides"])
                n, c, h, w = ins[0].shape
                ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
                win = np.stack([ins[0][:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] for i in range(kh) for j in range(kw)])
                y = win.max(0) if d["pool-method"] == "max" else win.mean(0)
            elif t == "Activation":
                y = 1.0 / (1.0 + np.exp(-ins[0]))
            elif t == "Eltwise":
                y = ins[0] * ins[1] if d["operation"] == "mul" else ins[0] + ins[1]
            values[i] = y.astype(np.float32)
        return values[self.output]


def conv(x, w, bias, d):
    n, cin, h, wd = x.shape
    cout, group = int(d["output"]), int(d["group"])
    kh, kw = ints(d["kernel"])
    sh, sw = ints(d["strides"])
    (pt, pl), (pb, pr) = ints(d["pads_begin"]), ints(d["pads_end"])
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    ho, wo = (h + pt + pb - kh) // sh + 1, (wd + pl + pr - kw) // sw + 1
    taps = np.stack([xp[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] for i in range(kh) for j in range(kw)], axis=2)
    if group == 1:
        y = np.einsum("nckhw,ock->nohw", taps, w.reshape(cout, cin, kh * kw))
    else:
        assert group == cin == cout, "depthwise only"
        y = np.einsum("nckhw,ck->nchw", taps, w.reshape(cout, kh * kw))
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return y
