"""The local engine's host path: decode in the reader workers, encode batch by batch in this process."""

from __future__ import annotations

from collections.abc import Iterator

from indexer.sources import Outcome, ReadSettings, read_all

from .batch_size import given as given_batch_size
from .run import IndexRun


def host_run(run: IndexRun, todo: list, root_ids: dict[str, int], read: ReadSettings) -> None:
    """Decode in the reader workers, encode batch by batch in this thread, write after each batch."""
    settings = run.settings
    batch = given_batch_size(settings.batch_size)
    for outcome in _waited(run, read_all(todo, run.known_hashes(), read, settings.workers)):
        run.pending.append(outcome)
        run.state.done += 1
        if sum(o.decoded is not None for o in run.pending) >= batch or len(run.pending) >= 256:
            run.flush(root_ids)
        run.report()
    if run.pending:
        run.flush(root_ids)
        run.report()


def _waited(run: IndexRun, outcomes: Iterator[Outcome]) -> Iterator[Outcome]:
    """The outcomes, timing how long the main process waits for the readers ("read")."""
    while True:
        with run.timed("read"):
            outcome = next(outcomes, None)
        if outcome is None:
            return
        yield outcome
