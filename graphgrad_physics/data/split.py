"""Train/validation/test splits that keep the rows of one collision event together."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def split_by_event(
    run: np.ndarray,
    event: np.ndarray,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
) -> tuple[np.ndarray, ...]:
    """Split rows into groups by whole (run, event): one event's rows all land in one group.

    ``fractions`` are fractions of *events* (row counts follow only roughly) and must sum to 1.
    Returns one sorted int64 index array per fraction; together they cover every row exactly once.
    The result depends only on ``seed`` and the set of events, not on the row order.

    >>> train, val, test = split_by_event([1, 1, 1, 1], [7, 7, 8, 9], (0.4, 0.3, 0.3), seed=0)
    >>> sorted(np.concatenate([train, val, test]).tolist())
    [0, 1, 2, 3]
    """
    run = np.asarray(run)
    event = np.asarray(event)
    if run.ndim != 1 or run.shape != event.shape:
        raise ValueError(
            f"split_by_event: run and event must be 1-D of one length, "
            f"got shapes {run.shape} and {event.shape}"
        )
    if not (np.issubdtype(run.dtype, np.integer) and np.issubdtype(event.dtype, np.integer)):
        raise TypeError(
            f"split_by_event: run and event must be integers, got {run.dtype} and {event.dtype}"
        )
    frac = np.asarray(fractions, dtype=np.float64)
    if frac.ndim != 1 or frac.size == 0 or not np.all(np.isfinite(frac)) or np.any(frac < 0):
        raise ValueError(f"split_by_event: fractions must be non-negative numbers, got {fractions}")
    if abs(frac.sum() - 1.0) > 1e-9:
        raise ValueError(
            f"split_by_event: fractions must sum to 1, got {fractions} (sum {frac.sum():g})"
        )

    keys = np.stack([run, event], axis=1).astype(np.int64)
    _, row_event = np.unique(keys, axis=0, return_inverse=True)
    row_event = row_event.reshape(-1)
    n_events = int(row_event.max()) + 1 if row_event.size else 0

    order = np.random.default_rng(seed).permutation(n_events)
    bounds = np.rint(np.cumsum(frac)[:-1] * n_events).astype(np.int64)
    event_group = np.empty(n_events, dtype=np.int64)
    for group, events in enumerate(np.split(order, bounds)):
        event_group[events] = group
    row_group = event_group[row_event]
    return tuple(np.flatnonzero(row_group == g).astype(np.int64) for g in range(frac.size))
