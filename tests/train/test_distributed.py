"""Data-parallel training through torchrun on CPU processes (gloo), and the device choice; CUDA paths skip without
a GPU. Every process is started here and waited for (bounded by timeouts); torchrun's rendezvous is on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from edgeconv.checkpoint import load_checkpoint
from edgeconv.data import load_data
from edgeconv.models import create_model
from edgeconv.train.batches import Batches

STEP = Path(__file__).parent / "ddp_step.py"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--rdzv-backend=c10d"]
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


def _run(command: list[str], timeout: int = 240) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=_env())
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo", "PYTHONWARNINGS": "ignore"}


def test_two_processes_take_the_step_one_process_takes(tmp_path: Path) -> None:
    """SqueezeNet (no BatchNorm, dropout off) after one SGD step on 64 augmented digits: two gloo processes of
    32 images each end with the weights and the held-out metrics of one process over all 64."""
    one = json.loads(_run([sys.executable, str(STEP), str(tmp_path / "one")]).stdout.splitlines()[-1])
    rendezvous = ["--rdzv-endpoint=127.0.0.1:0", "--rdzv-id=step", "--nproc-per-node=2"]
    two = json.loads(_run([*TORCHRUN, *rendezvous, str(STEP), str(tmp_path / "two"), "1"]).stdout.splitlines()[-1])
    assert (one["processes"], two["processes"]) == (1, 2)
    assert two["val_top1"] == one["val_top1"] and two["val_loss"] == pytest.approx(one["val_loss"], abs=1e-5)
    stem = "squeezenet1_1_w0.5_r32"
    a, b = (load_checkpoint(tmp_path / run / f"{stem}.pt")[0].state_dict() for run in ("one", "two"))
    start = create_model("squeezenet1_1", 0.5, 10, 32, seed=0).state_dict()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-6
    assert max(float((a[k] - start[k]).abs().max()) for k in a) > 1e-3  # the step moved the weights
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == [
        f"{stem}.pt",
        f"{stem}.train.json",
        f"{stem}.train.log",
    ]
    assert json.loads((tmp_path / "two" / f"{stem}.train.json").read_text())["config"]["processes"] == 2


def test_every_process_takes_its_own_share_of_each_batch() -> None:
    """Training: equal, disjoint shares whose union is the batch (the same order in every process);
    evaluation: every image exactly once, in order."""
    data = load_data("digits", 32).val  # 360 images
    for world in (1, 2, 3):
        train = [Batches(data, None, 64, seed=5, shuffle=True, rank=r, world=world) for r in range(world)]  # type: ignore[arg-type]
        for batches in train:
            batches.set_epoch(3)
        for b in range(len(train[0])):
            shares = [t.share(b) for t in train]
            assert len({len(s) for s in shares}) == 1
            union = np.concatenate(shares)
            assert len(set(union)) == len(union)
            assert set(union) <= set(train[0].order[b * 64 : (b + 1) * 64])
            assert len(union) == 64 - (64 % world) or b == len(train[0]) - 1
        evaluation = [Batches(data, None, 64, rank=r, world=world) for r in range(world)]  # type: ignore[arg-type]
        order = [i for b in range(len(evaluation[0])) for e in evaluation for i in e.share(b)]
        assert order == list(range(len(data)))
    orders = [Batches(data, None, 64, seed=5, shuffle=True) for _ in range(2)]  # type: ignore[arg-type]
    for epoch, batches in zip((1, 2), orders, strict=True):
        batches.set_epoch(epoch)
    assert not np.array_equal(orders[0].order, orders[1].order)


def test_train_nproc_starts_torchrun_and_writes_one_checkpoint(tmp_path: Path) -> None:
    """``edgeconv train --nproc 2`` (MobileNetV2 with per-process BatchNorm): one checkpoint, one log; the
    held-out top-1 gathered from both processes is the one a single process measures on the checkpoint."""
    out = tmp_path / "run"
    args = ["-m", "mobilenetv2", "-w", "0.35", "-r", "32", "-e", "1", "--batch-size", "128", "--device", "cpu"]
    result = _run([sys.executable, "-m", "edgeconv", "train", *args, "--nproc", "2", "--out", str(out), "--json"])
    summary = json.loads(result.stdout)
    assert summary["best"]["epoch"] == 1
    stem = "mobilenetv2_w0.35_r32"
    assert sorted(p.name for p in out.iterdir()) == [f"{stem}.pt", f"{stem}.train.json", f"{stem}.train.log"]
    assert len((out / f"{stem}.train.log").read_text().splitlines()) == 1
    evaluated = _run([sys.executable, "-m", "edgeconv", "eval", str(out / f"{stem}.pt"), "--no-store", "--json"])
    assert json.loads(evaluated.stdout)[0]["top1"] == pytest.approx(summary["best"]["val_top1"], abs=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--nproc", "4096"], "--nproc 4096 is more processes than the"),
        (["--device", "mps"], "device mps is not available here"),
        (["--batch-size", "3", "--nproc", "2"], "batch size 3 does not split evenly over 2 processes"),
    ],
)
def test_bad_distributed_settings_are_one_line(args: list[str], message: str) -> None:
    if "mps" in args and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    command = [sys.executable, "-m", "edgeconv", "train", "-m", "mobilenetv2", "-w", "0.35", "-r", "32", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=_env())
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) >= 1 and message in lines[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr


@CUDA
def test_cuda_training_with_mixed_precision_loads_on_the_cpu(tmp_path: Path) -> None:
    """On a GPU: autocast and channels-last training; the checkpoint is CPU tensors and reproduces its top-1."""
    from edgeconv.train import TrainConfig, fit
    from edgeconv.train.loop import predict

    data = load_data("digits", 32)
    result = fit(create_model("mobilenetv2", 0.35, 10, 32), data, TrainConfig(epochs=2), tmp_path, device="cuda")
    payload = torch.load(result.checkpoint, weights_only=True)  # no map_location: tensors come back where saved
    assert all(t.device.type == "cpu" for t in payload["state_dict"].values())
    model, _ = load_checkpoint(result.checkpoint)
    logits = predict(model, data.val, data.preprocessing)
    assert float((logits.argmax(1) == data.val.labels).mean()) == pytest.approx(result.best["val_top1"], abs=0.01)
