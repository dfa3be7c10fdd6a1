"""search.batching: concurrent text queries share forward passes and each gets its own rows back."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from search.batching import TextBatcher


def test_concurrent_callers_get_their_own_rows_from_shared_passes():
    calls = []

    def encode(texts):
        calls.append(len(texts))
        time.sleep(0.05)  # a forward pass: the others queue meanwhile
        return np.array([[len(t), i] for i, t in enumerate(texts)], np.float32)

    batcher = TextBatcher(encode)
    results, texts = {}, [["a" * n] * (1 + n % 2) for n in range(1, 9)]

    def ask(n):
        results[n] = batcher(texts[n])

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[n].shape == (len(texts[n]), 2) and (results[n][:, 0] == n + 1).all() for n in range(8))
    assert len(calls) < 8 and sum(calls) == sum(len(t) for t in texts)  # fewer passes than callers


def test_an_error_reaches_every_caller_of_its_batch_and_the_batcher_goes_on():
    def encode(texts):
        if "bad" in texts:
            raise ValueError("no")
        return np.zeros((len(texts), 1), np.float32)

    batcher = TextBatcher(encode)
    with pytest.raises(ValueError, match="no"):
        batcher(["bad"])
    assert batcher(["good"]).shape == (1, 1)
