"""Training throughput and peak memory on a 10,000-image folder: held in memory vs streamed from disk, by loader
workers. Writes benchmarks/results/train_throughput.{json,md}.

The folder is generated once (photo-like JPEG files of 320 x 256: colour gradients, shapes and noise, 10
classes) under --work. Each configuration runs in its own process, so that its peak resident memory (the
process's and its loader workers') is its own: the data is loaded as ``edgeconv train`` loads it, then ``fit``
trains MobileNetV2 1.0 at 224 px for one pass over ``--images`` of the training images (AdamW, standard
augmentation) and the images per second of that pass are reported. CUDA runs where a GPU is present.

    python benchmarks/train_throughput.py                    # memory and stream, by workers and batch size
    python benchmarks/train_throughput.py --images 320 --configs stream:1:16
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results"
CONFIGS = "memory:0:32,stream:0:32,stream:1:32,stream:2:32,memory:0:8,stream:1:8"


def make_folder(root: Path, count: int) -> Path:
    """``count`` photo-like JPEG files in 10 class folders (made once; kept for later runs)."""
    from PIL import Image, ImageDraw

    folder = root / f"photos{count}"
    if (folder / "done").is_file():
        return folder
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:256, 0:320].astype(np.float32)
    for i in range(count):
        label = i % 10
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        colour = rng.uniform(0, 255, (2, 3)).astype(np.float32)
        t = (x / 320 * np.cos(label) + y / 256 * np.sin(label))[..., None]
        pixels = colour[0] * (1 - t) + colour[1] * t + rng.normal(0, 12, (256, 320, 3))
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            x0, y0 = rng.integers(0, 240), rng.integers(0, 180)
            draw.ellipse(
                [x0, y0, x0 + rng.integers(20, 80), y0 + rng.integers(20, 80)], fill=tuple(rng.integers(0, 255, 3))
            )
        image.save(folder / str(label) / f"{i:05d}.jpg", quality=88)
    (folder / "done").write_text("")
    return folder


def one(folder: Path, load: str, workers: int, images: int, device: str, batch_size: int) -> dict[str, Any]:
    """One configuration, in this process: load, then one pass of ``fit`` over ``images`` training images."""
    import torch

    from edgeconv.data import DataSplits, load_data
    from edgeconv.models import create_model
    from edgeconv.runtime.memory import peak_rss_mb
    from edgeconv.train import TrainConfig, fit

    started = time.perf_counter()
    data = load_data(str(folder), 224, load=load)
    load_seconds = time.perf_counter() - started
    part = DataSplits(
        data.train.subset(np.arange(images)), data.val.subset(np.arange(64)), data.preprocessing, data.source
    )
    config = TrainConfig(epochs=1, batch_size=batch_size, warmup_epochs=0)
    with torch.random.fork_rng():
        model = create_model("mobilenetv2", 1.0, 10, 224, seed=0)
    from tempfile import TemporaryDirectory

    with TemporaryDirectory() as out:
        result = fit(model, part, config, out, device=device, workers=workers)
    peak = max(
        peak_rss_mb() or 0.0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    )  # workers: forked, no exec
    return {
        "load": load,
        "streamed": data.train.streamed,
        "workers": workers,
        "device": device,
        "batch_size": batch_size,
        "dataset_images": len(data.train) + len(data.val),
        "trained_images": images,
        "load_seconds": round(load_seconds, 1),
        "images_per_second": result.history[0]["images_per_second"],
        "peak_rss_mb": round(peak),
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Training throughput: in memory vs streamed",
        "",
        f"MobileNetV2 1.0 at 224 px, AdamW, standard augmentation; an ImageFolder of "
        f"{result['images']:,} generated photo-like JPEG files (320 x 256), one pass over "
        f"{result['trained_images']} of its training images per configuration, each in its own process. "
        f"Machine: {result['machine']}.",
        "",
        "| device | batch | data | loader workers | load (s) | images/s | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        how = "streamed" if row["streamed"] else "in memory"
        lines.append(
            f"| {row['device']} | {row['batch_size']} | {how} | {row['workers']} | {row['load_seconds']} "
            f"| {row['images_per_second']} | {row['peak_rss_mb']} |"
        )
    lines += [
        "",
        "Peak memory is the pixels (in memory: 1.5 GB for the 10,000 images at 224 px) plus training's own: the "
        "activations kept for the backward pass grow with the batch (MobileNetV2 1.0 at 224 px).",
        "",
        result["cuda"],
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=640, help="training images per measured pass")
    parser.add_argument("--dataset", type=int, default=10_000)
    parser.add_argument("--configs", default=CONFIGS, help="LOAD:WORKERS:BATCH,... (load: memory or stream)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/edgeconv-throughput"))
    parser.add_argument(
        "--one", nargs=5, metavar=("FOLDER", "LOAD", "WORKERS", "DEVICE", "BATCH"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--rows", type=Path, default=None, help="reuse these JSON lines (earlier rows) and add the rest"
    )
    args = parser.parse_args()
    if args.one:
        folder, load, workers, device, batch = args.one
        print(json.dumps(one(Path(folder), load, int(workers), args.images, device, int(batch))))
        return
    import torch

    from edgeconv.atomic import write_bytes, write_json
    from edgeconv.runtime.device import device_info

    folder = make_folder(args.work, args.dataset)
    devices = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    rows = [json.loads(line) for line in args.rows.read_text().splitlines()] if args.rows else []
    done = {(r["device"], r["load"], r["workers"], r.get("batch_size", 32)) for r in rows}
    for device in devices:
        for config in args.configs.split(","):
            load, workers, batch = config.split(":")
            if (device, load, int(workers), int(batch)) in done:
                continue
            command = [sys.executable, __file__, "--images", str(args.images), "--one", str(folder), load, workers]
            command += [device, batch]
            row = json.loads(
                subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1]
            )
            print(json.dumps(row), flush=True)
            rows.append(row)
    info = device_info()
    cpu = f"{info['cpu_model']} ({platform.machine()}, {info['int8_path']})"
    result = {
        "images": args.dataset,
        "trained_images": args.images,
        "machine": f"{cpu}, {torch.get_num_threads()} threads",
        "rows": rows,
        "cuda": "CUDA: " + ("measured above." if "cuda" in devices else "not run (no CUDA GPU on this machine)."),
    }
    RESULTS.mkdir(exist_ok=True)
    write_json(RESULTS / "train_throughput.json", result)
    write_bytes(RESULTS / "train_throughput.md", markdown(result).encode())
    print(markdown(result))


if __name__ == "__main__":
    main()
