"""Text-tower latency of 5-word queries, EOT-truncated vs padded to 77 tokens, in one run.

    python bench/text_latency.py --arch vit-g-14 --runtime paddle --queries 10

One query at a time (batch 1), as a search box sends them; the median of each path and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import emit, machine, random_encoder, slug
from encode import queries


def latencies(encode, texts: list[str], **kwargs) -> list[float]:
    out = []
    for text in texts:
        start = time.perf_counter()
        encode([text], **kwargs)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="vit-g-14")
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--queries", type=int, default=10)
    parser.add_argument("--card", default=None)
    args = parser.parse_args()
    enc = random_encoder(args.arch, args.runtime, args.device, "auto", batch_size=1)
    texts = queries(args.queries, seed=1)
    enc.encode_texts(texts[:2])
    enc.encode_texts(texts[:2], pad_to_context=True)  # warm-up both shapes
    truncated = statistics.median(latencies(enc.encode_texts, texts))
    padded = statistics.median(latencies(enc.encode_texts, texts, pad_to_context=True))
    tokens = int(enc.tokenize(texts).argmax(axis=1).max()) + 1  # one query runs at exactly its own length
    result = {
        "model": f"{args.arch} (random weights)",
        "runtime": enc.runtime,
        "device": enc.device,
        "dtype": enc.dtype,
        "machine": machine(args.card),
        "queries": len(texts),
        "words_per_query": 5,
        "truncated_run_tokens_max": tokens,
        "truncated_median_ms": round(truncated * 1000, 1),
        "padded77_median_ms": round(padded * 1000, 1),
        "speedup": round(padded / truncated, 2),
    }
    where = "gpu" if enc.device.startswith("cuda") else "cpu"
    emit(slug("text_latency", args.arch, enc.runtime, where, args.card), result)


if __name__ == "__main__":
    main()
