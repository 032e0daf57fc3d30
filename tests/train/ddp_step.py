"""One training step of SqueezeNet (no BatchNorm; dropout off) on 64 digits, in however many processes torchrun
starts (or one): ``python ddp_step.py OUT``. Prints the run's best record; rank 0 writes OUT's checkpoint."""

from __future__ import annotations

import json
import sys

import numpy as np
from torch import nn

from edgeconv.data import DataSplits, load_data
from edgeconv.models import create_model
from edgeconv.train import TrainConfig, fit
from edgeconv.train.distributed import leave, world

data = load_data("digits", 32)
few = DataSplits(data.train.subset(np.arange(64)), data.val.subset(np.arange(50)), data.preprocessing, data.source)
net = create_model("squeezenet1_1", 0.5, 10, 32, seed=0)
for module in net.modules():
    if isinstance(module, nn.Dropout):
        module.p = 0.0
config = TrainConfig(epochs=1, batch_size=64, optimizer="sgd", lr=0.5, warmup_epochs=0, augment="standard")
result = fit(net, few, config, sys.argv[1], device="cpu", workers=int(sys.argv[2]) if len(sys.argv) > 2 else 0)
if world().leader:
    print(json.dumps({**result.best, "processes": world().size}))
leave()
