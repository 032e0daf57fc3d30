"""Just enough of the protobuf wire format to read an ONNX graph's nodes and to write a one-node model, so the
device side profiles ``.onnx`` files without the onnx package (which pulls protobuf and is not installed there).

Field numbers are those of onnx.proto: ModelProto.graph = 7, GraphProto.node = 1, initializer = 5,
NodeProto.input = 1, output = 2, name = 3, op_type = 4, attribute = 5.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


@dataclass(frozen=True)
class Node:
    """One node of an ONNX graph, as far as profiling needs it."""

    name: str
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    """(field number, wire type, value) of each field of one message; length-delimited values as bytes."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, at = _varint(data, at)
            yield number, wire, value
        elif wire == _BYTES:
            size, at = _varint(data, at)
            yield number, wire, data[at : at + size]
            at += size
        elif wire in (_FIXED64, _FIXED32):
            width = 8 if wire == _FIXED64 else 4
            yield number, wire, data[at : at + width]
            at += width
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def _node(data: bytes) -> Node:
    strings: dict[int, list[str]] = {1: [], 2: [], 3: [], 4: []}
    for number, _, value in _fields(data):
        if number in strings and isinstance(value, bytes):
            strings[number].append(value.decode())
    return Node((strings[3] or [""])[0], (strings[4] or [""])[0], tuple(strings[1]), tuple(strings[2]))


_ELEMENT_BYTES = {1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 10: 2}  # float, uint8, int8, int32, int64, float16


def _initializer(data: bytes) -> tuple[str, tuple[int, ...], int]:
    """(name, dims, bytes per element) of a TensorProto: dims = 1 (packed or not), data_type = 2, name = 8."""
    name, dims, item = "", [], 4
    for number, _, value in _fields(data):
        if number == 1 and isinstance(value, int):
            dims.append(value)
        elif number == 1 and isinstance(value, bytes):
            at = 0
            while at < len(value):
                dim, at = _varint(value, at)
                dims.append(dim)
        elif number == 2 and isinstance(value, int):
            item = _ELEMENT_BYTES.get(value, 4)
        elif number == 8 and isinstance(value, bytes):
            name = value.decode()
    return name, tuple(dims), item


def read_graph(path: str | Path) -> tuple[list[Node], dict[str, tuple[tuple[int, ...], int]]]:
    """The nodes of the main graph of the ONNX file at ``path`` in file order, and its initializers' shapes
    and bytes per element by name (GraphProto: node = 1, initializer = 5)."""
    data = Path(path).read_bytes()
    graph = next((v for n, _, v in _fields(data) if n == 7 and isinstance(v, bytes)), b"")
    nodes, initializers = [], {}
    for number, _, value in _fields(graph):
        if number == 1 and isinstance(value, bytes):
            nodes.append(_node(value))
        elif number == 5 and isinstance(value, bytes):
            name, dims, item = _initializer(value)
            initializers[name] = (dims, item)
    return nodes, initializers


def read_nodes(path: str | Path) -> list[Node]:
    """The nodes of the main graph of the ONNX file at ``path``, in file order."""
    return read_graph(path)[0]


def _key(number: int, wire: int) -> bytes:
    return _encode_varint(number << 3 | wire)


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _key(number, _BYTES) + _encode_varint(len(payload)) + payload


def _int_attribute(name: str, values: list[int]) -> bytes:
    """AttributeProto: name = 1, ints = 8 (type INTS = 7) or i = 3 (type INT = 2), type = 20."""
    if len(values) == 1 and name == "group":
        body = _key(3, _VARINT) + _encode_varint(values[0]) + _key(20, _VARINT) + _encode_varint(2)
    else:
        body = b"".join(_key(8, _VARINT) + _encode_varint(v) for v in values) + _key(20, _VARINT) + _encode_varint(7)
    return _bytes_field(1, name.encode()) + body


def _value_info(name: str, elem_type: int, shape: tuple[int, ...]) -> bytes:
    """ValueInfoProto{name = 1, type = 2: TypeProto{tensor_type = 1: {elem_type = 1, shape = 2: {dim = 1}}}}."""
    dims = b"".join(_bytes_field(1, _key(1, _VARINT) + _encode_varint(d)) for d in shape)
    tensor = _key(1, _VARINT) + _encode_varint(elem_type) + _bytes_field(2, dims)
    return _bytes_field(1, name.encode()) + _bytes_field(2, _bytes_field(1, tensor))


_FLOAT, _UINT8, _INT8 = 1, 2, 3  # TensorProto.DataType


def _tensor(name: str, data_type: int, dims: tuple[int, ...], raw: bytes) -> bytes:
    """TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian values)."""
    body = b"".join(_key(1, _VARINT) + _encode_varint(d) for d in dims) + _key(2, _VARINT) + _encode_varint(data_type)
    return body + _bytes_field(8, name.encode()) + _bytes_field(9, raw)


def depthwise_conv_model(channels: int, size: int, int8: bool, kernel: int = 3) -> bytes:
    """A ModelProto (IR 8, opset 13) of one depthwise convolution over ``[1, channels, size, size]`` with same
    padding: ``Conv(x, w)`` in float32, or ``QLinearConv`` on uint8 activations and int8 weights. The weights,
    scales and zero points are initializers, as in an exported model (onnxruntime prepacks constant weights
    and picks its blocked NCHWc kernels only for them: weights fed as inputs ran 3x slower in float), so the
    only input is ``x``."""
    import numpy as np

    pad = kernel // 2
    attributes = [
        _int_attribute("group", [channels]),
        _int_attribute("kernel_shape", [kernel, kernel]),
        _int_attribute("pads", [pad] * 4),
    ]
    image, weights = (1, channels, size, size), (channels, 1, kernel, kernel)
    rng = np.random.default_rng(0)
    if int8:
        constants = [
            ("x_scale", _FLOAT, (), np.float32(0.02).tobytes()),
            ("x_zero", _UINT8, (), np.uint8(128).tobytes()),
            ("w", _INT8, weights, rng.integers(-127, 128, weights, dtype=np.int8).tobytes()),
            ("w_scale", _FLOAT, (), np.float32(0.01).tobytes()),
            ("w_zero", _INT8, (), np.int8(0).tobytes()),
            ("y_scale", _FLOAT, (), np.float32(0.05).tobytes()),
            ("y_zero", _UINT8, (), np.uint8(128).tobytes()),
        ]
        names, op, x, output = ["x", *(c[0] for c in constants)], b"QLinearConv", _UINT8, ("y", _UINT8, image)
    else:
        constants = [("w", _FLOAT, weights, rng.standard_normal(weights, dtype=np.float32).tobytes())]
        names, op, x, output = ["x", "w"], b"Conv", _FLOAT, ("y", _FLOAT, image)
    node = b"".join(_bytes_field(1, name.encode()) for name in names) + _bytes_field(2, b"y")
    node += _bytes_field(4, op) + b"".join(_bytes_field(5, a) for a in attributes)
    graph = _bytes_field(1, node) + _bytes_field(2, b"depthwise")
    graph += b"".join(_bytes_field(5, _tensor(*constant)) for constant in constants)
    graph += _bytes_field(11, _value_info("x", x, image)) + _bytes_field(12, _value_info(*output))
    opset = _bytes_field(1, b"") + _key(2, _VARINT) + _encode_varint(13)
    header = _key(1, _VARINT) + _encode_varint(8) + _bytes_field(2, b"edgeconv")
    return header + _bytes_field(7, graph) + _bytes_field(8, opset)
