"""One training epoch's batches (standard augmentation, one loader worker) and one evaluation pass over an image
folder, held in memory or streamed: ``python rss_epoch.py ROOT memory|stream``. Prints the peak resident memory
(MB) of this process and of its loader workers."""

from __future__ import annotations

import json
import resource
import sys

from edgeconv.data import load_data
from edgeconv.runtime.memory import peak_rss_mb
from edgeconv.train.batches import Batches, batches, load

root, mode = sys.argv[1], sys.argv[2]
data = load_data(root, 128, load=mode)
train = Batches(data.train, data.preprocessing, 64, "standard", seed=0, shuffle=True)
train.set_epoch(1)
seen = sum(len(y) for _, y in load(train, workers=1))
seen += sum(len(y) for _, y in batches(data.val, data.preprocessing, 256, workers=1))
peak = max(
    peak_rss_mb() or 0.0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
)  # workers: forked, no exec
print(json.dumps({"images": seen, "streamed": data.train.streamed, "peak_mb": peak}))
