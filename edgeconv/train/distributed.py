"""Data-parallel training through torchrun: ``edgeconv train`` started by ``torchrun --nproc-per-node N`` (or with
``--nproc N``, which starts torchrun itself) trains one DistributedDataParallel model per process.

The engine is PyTorch's own: torchrun's rendezvous and environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``),
``torch.distributed`` with NCCL on GPUs and gloo on CPUs, ``DistributedDataParallel`` averaging gradients. Every
process splits and orders the data from the same seed and takes its equal share of each global batch
(``edgeconv.train.batches``); rank 0 alone writes checkpoints and logs; evaluation is shared and gathered.
BatchNorm statistics are synchronised across GPUs (``SyncBatchNorm``); on CPUs, where PyTorch has no
``SyncBatchNorm``, each process normalises by its own share of the batch, as DDP does by default.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from edgeconv.errors import UsageError

_PEER_LOST = re.compile(r"closed by peer|reset by peer|Broken pipe|Connection refused|NCCL communicator was aborted")


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1

    @property
    def leader(self) -> bool:
        return self.rank == 0


def world() -> World:
    """The process group's rank and size, or a world of one outside torchrun."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return World(torch.distributed.get_rank(), torch.distributed.get_world_size())
    return World()


def under_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def join(cuda: bool) -> World:
    """Join the process group torchrun set up (NCCL for GPUs, gloo for CPUs); a world of one outside it."""
    if not under_torchrun() or world().size > 1:
        return world()
    import datetime

    torch.distributed.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(minutes=10))
    return world()


def leave() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def prepare(model: nn.Module, cuda: bool) -> nn.Module:
    """``model`` with its BatchNorms synchronised across GPU processes (its own layers replaced in place)."""
    return nn.SyncBatchNorm.convert_sync_batchnorm(model) if cuda and world().size > 1 else model


def wrap(model: nn.Module, cuda: bool) -> nn.Module:
    """``model`` in DistributedDataParallel over the parameters that train now, when there are several
    processes (``model`` itself otherwise)."""
    if world().size == 1:
        return model
    if cuda:
        device = torch.cuda.current_device()
        return nn.parallel.DistributedDataParallel(model, device_ids=[device], output_device=device)
    return nn.parallel.DistributedDataParallel(model)


@contextlib.contextmanager
def peers_lost_quietly() -> Iterator[None]:
    """Under torchrun, a process whose peer failed exits with status 1 and no traceback: the launcher prints the
    error of the process that failed first."""
    try:
        yield
    except (RuntimeError, torch.distributed.DistError) as exc:
        if world().size == 1 or not _PEER_LOST.search(str(exc)):
            raise
        raise SystemExit(1) from None


def gather(value: Any) -> list[Any]:
    """Every process's ``value``, in rank order (``[value]`` in a world of one)."""
    if world().size == 1:
        return [value]
    values: list[Any] = [None] * world().size
    torch.distributed.all_gather_object(values, value)
    return values


def launch(nproc: int, available: int, batch_size: int, argv: list[str]) -> int:
    """Run ``edgeconv argv`` in ``nproc`` processes under torchrun on this machine; the exit status. The first
    process writes to the console; the others' output goes to log files, and when one of them fails first its
    error line is printed here (torchrun's own failure report is left out: it repeats the error as a traceback)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    if nproc > available:
        raise UsageError(f"--nproc {nproc} is more processes than the {available} devices (or cores) here")
    if batch_size % nproc:
        raise UsageError(f"batch size {batch_size} does not split evenly over {nproc} processes")
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    if sys.platform == "linux":
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # one machine: gloo's connections on the loopback
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    rendezvous = ["--nnodes=1", "--rdzv-backend=c10d", "--rdzv-endpoint=127.0.0.1:0", f"--rdzv-id={uuid.uuid4()}"]
    with tempfile.TemporaryDirectory(prefix="edgeconv-torchrun-") as logs:
        quiet = ["--redirects", ",".join(f"{rank}:3" for rank in range(1, nproc))] if nproc > 1 else []
        options = [*rendezvous, f"--nproc-per-node={nproc}", f"--log-dir={logs}", *quiet, "-m", "edgeconv", *argv]
        try:
            run(parse_args(options))
        except ChildFailedError as failed:
            rank, failure = failed.get_first_failure()
            if rank != 0:
                print(_error_line(Path(logs), rank), file=sys.stderr)
            return failure.exitcode if failure.exitcode > 0 else 1
    return 0


def _error_line(logs: Path, rank: int) -> str:
    for path in logs.glob(f"**/{rank}/stderr.log"):
        errors = [line for line in path.read_text(errors="replace").splitlines() if line.startswith("Error: ")]
        if errors:
            return f"{errors[-1]} (training process {rank})"
    return f"Error: training process {rank} failed (its log: {logs})"
