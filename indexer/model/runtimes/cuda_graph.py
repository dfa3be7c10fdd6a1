"""The vision tower's kernels for a batch replayed as one CUDA graph (torch runtime, CUDA devices).

In an index run the main thread launches the tower's kernels (hundreds a batch; the FP8 tower's compiled
blocks also check their guards) while the reader, finisher, writer and decoder threads of the same process
take the GIL in turn. Whenever the GPU has caught up with the host (the feed is the slower side), it then
waits on each launch: on one H100 the tower ran at 875-912 images/s inside runs against 940 alone in
bfloat16, and at 928-1,090 against 1,189-1,226 in FP8. A graph captured once per batch size is one launch a
batch; the kernels, and so the vectors, are the same.

torch.cuda.graphs (CUDAGraph, graph) does the capture and the replay; what is written here is only the
choice of when to capture (the second batch of a size: a one-off partial batch stays eager) and the copy of
a batch into the captured input. Set PIXSEEK_CUDA_GRAPHS=off to launch every batch eagerly.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable

SWITCH = "PIXSEEK_CUDA_GRAPHS"
SIZES = 2  # batch sizes captured at most (each graph keeps its own activations' memory)
WARMUP = 2  # eager runs on a side stream before a capture (cuBLAS and cuDNN set up, the compiler done)


def enabled() -> bool:
    return os.environ.get(SWITCH, "").lower() not in ("off", "0", "no", "false")


class Replayed:
    """fn (uint8 crops (n, S, S, 3) on the device -> float32 (n, dim)) with each batch size seen twice replayed
    as a CUDA graph from then on. A size whose capture fails (out of memory, an op that cannot be captured)
    stays eager, and so does every size once SIZES are captured."""

    def __init__(self, fn: Callable, device: str):
        import torch

        self.torch, self.fn, self.device = torch, fn, torch.device(device)
        self.graphs: dict[int, tuple] = {}  # batch size -> (graph, input, output)
        self.seen: Counter = Counter()
        self.failed: dict[int, str] = {}  # batch size -> why its capture failed

    def __call__(self, crops):
        n = crops.shape[0]
        entry = self.graphs.get(n)
        if entry is None:
            self.seen[n] += 1
            if self.seen[n] < 2 or n in self.failed or len(self.graphs) >= SIZES:
                return self.fn(crops)
            entry = self._capture(crops)
            if entry is None:
                return self.fn(crops)
        graph, given, out = entry
        with self.torch.inference_mode():
            given.copy_(crops)
            graph.replay()
            return out.clone()  # the next replay writes over `out`; the clone is made before it, in stream order

    def _capture(self, crops):
        torch, n = self.torch, crops.shape[0]
        with torch.inference_mode():
            given = crops.clone()
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            graph = torch.cuda.CUDAGraph()
            try:
                with torch.cuda.stream(side):
                    for _ in range(WARMUP):
                        self.fn(given)
                torch.cuda.current_stream(self.device).wait_stream(side)
                # thread_local: the decoder and finisher threads keep using the device (their own streams) meanwhile
                with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                    out = self.fn(given)
            except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
                self.failed[n] = " ".join(str(exc).split())[:200]
                return None
            self.graphs[n] = (graph, given, out)
            return self.graphs[n]
