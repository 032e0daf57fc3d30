"""The committed tiny MobileNetV2 artifacts the device-side tests run (torch-free), and private copies of them."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
TEST_MODEL = FIXTURES / "digits_mobilenetv2_w0.35_r32.pt"  # the trained test checkpoint (make_fixtures.py)

TINY = {
    "onnx": ("tiny_mobilenetv2_fp32.onnx", "tiny_mobilenetv2_fp32.onnx.json"),
    "tflite": ("tiny_mobilenetv2_int8.tflite", "tiny_mobilenetv2_int8.tflite.json"),
    "openvino": ("tiny_mobilenetv2_fp32.xml", "tiny_mobilenetv2_fp32.bin", "tiny_mobilenetv2_fp32.xml.json"),
}


def copy_tiny(kind: str, dest: Path) -> Path:
    """A private copy of a committed tiny MobileNetV2 artifact (with companions and sidecar)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in TINY[kind]:
        (dest / name).write_bytes((FIXTURES / name).read_bytes())
    return dest / TINY[kind][0]
