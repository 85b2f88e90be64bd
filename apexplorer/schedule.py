"""Which tasks train when (the schedule) and in what order their samples come (the batch streams).

* :func:`segments`: an epoch's schedule (Appendix 1, Algorithms 2-3): each
  task alone in turn (alternating), all together (simultaneous), or one task
  per stage of ``epochs`` epochs (sequential).
* :class:`BatchStreams`: each task's shuffled order of its samples, one per
  ensemble member (member ``s`` draws its order as ``--seed s`` alone would),
  and the cursor into it.  A step's draw can be undone, so an interrupted
  step leaves the streams where they were.
"""

from __future__ import annotations

import math

import torch

from .errors import ApexplorerError, choices

SCHEDULES = ("alternating", "simultaneous", "sequential")


def check_schedule(schedule: str) -> str:
    if schedule not in SCHEDULES:
        raise ApexplorerError(f"unknown schedule {schedule!r}; choices are {choices(SCHEDULES)}")
    return schedule


def segments(tasks: list, schedule: str, epoch: int, epochs: int) -> list:
    """The segments of epoch ``epoch`` (0-based): a list of the task names trained together in each.

    Several tasks: ``alternating`` gives one segment per task, ``simultaneous``
    one segment of all of them, ``sequential`` the task of the epoch's stage.
    """
    if len(tasks) == 1:
        return [(tasks[0],)]
    if schedule == "alternating":
        return [(t,) for t in tasks]
    if schedule == "simultaneous":
        return [tuple(tasks)]
    return [(tasks[min(epoch // max(epochs, 1), len(tasks) - 1)],)]


def lead(names, sizes: dict) -> str:
    """The task of a segment whose pass over its data sets the segment's length: the largest."""
    return max(names, key=lambda n: sizes[n])


def n_batches(names, sizes: dict, batch_sizes: dict) -> int:
    """Batches of a segment: a pass over its lead task's data."""
    t = lead(names, sizes)
    return math.ceil(sizes[t] / batch_sizes[t])


class BatchStreams:
    """Each task's order of its samples and the cursor into it.

    Parameters
    ----------
    sizes : dict
        Task -> number of training samples.
    seeds : sequence of int
        One stream per ensemble member, drawn from ``seed + 1`` (as a run of that seed alone).
    device : torch.device
        Where the permutations live (that of the data).
    """

    def __init__(self, sizes: dict, seeds, device="cpu"):
        self.sizes = dict(sizes)
        self.device = torch.device(device)
        self.gens = [torch.Generator().manual_seed(int(s) + 1) for s in seeds]
        self.orders = {}  # task -> [permutation (n,) or (members, n), cursor]
        self._undo = None

    def restart(self, task: str) -> None:
        """A fresh pass over ``task``'s data: its next draw shuffles anew."""
        self.orders.pop(task, None)

    def cursor(self, task: str) -> int:
        """Samples of ``task`` taken from its current order."""
        st = self.orders.get(task)
        return 0 if st is None else st[1]

    def exhausted(self, task: str) -> bool:
        return self.cursor(task) >= self.sizes[task]

    def _permutation(self, n: int) -> torch.Tensor:
        """A fresh order of ``n`` samples: (n,), or (members, n) with one row per member's stream."""
        perms = [torch.randperm(n, generator=g) for g in self.gens]
        return (perms[0] if len(perms) == 1 else torch.stack(perms)).to(self.device)

    def _draw(self, task: str, size: int, wrap: bool) -> torch.Tensor:
        """The next ``size`` indices of ``task`` (at most what is left of its pass, unless ``wrap``)."""
        n = self.sizes[task]
        parts = []
        want = size
        while want > 0:
            st = self.orders.get(task)
            if st is None or st[1] >= n:
                st = self.orders[task] = [self._permutation(n), 0]
            idx = st[0][..., st[1] : st[1] + want]
            st[1] += idx.shape[-1]
            parts.append(idx)
            want = want - idx.shape[-1] if wrap else 0
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def take(self, names, batch_sizes: dict) -> dict:
        """Indices of the next batch of each task in ``names`` (trained together).

        One task: the next ``batch_sizes[task]`` samples of its pass.  Several:
        the lead (largest) task's next batch, and as many samples of each other
        task, continuing into a new order where one runs out.  ``(E, B)``
        indices for an ensemble.  :meth:`undo` puts the streams back.
        """
        self._undo = ({t: None if t not in self.orders else list(self.orders[t]) for t in self.orders},
                      [g.get_state() for g in self.gens])
        if len(names) == 1:
            return {names[0]: self._draw(names[0], batch_sizes[names[0]], wrap=False)}
        first = lead(names, self.sizes)
        out = {first: self._draw(first, batch_sizes[first], wrap=False)}
        b = out[first].shape[-1]
        for t in names:
            if t != first:
                out[t] = self._draw(t, b, wrap=True)
        return {t: out[t] for t in names}

    def undo(self) -> None:
        """Back to before the last :meth:`take` (a step that did not complete)."""
        if self._undo is None:
            return
        orders, gens = self._undo
        self.orders = {t: v for t, v in orders.items() if v is not None}
        for g, s in zip(self.gens, gens):
            g.set_state(s)
        self._undo = None

    def commit(self) -> None:
        """The last :meth:`take`'s step completed: it can no longer be undone."""
        self._undo = None

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        return {"rng": [g.get_state() for g in self.gens],
                "streams": {t: [p.cpu(), i] for t, (p, i) in self.orders.items()}}

    def load_state_dict(self, rng, streams: dict) -> None:
        """Restore generators and orders.  A checkpoint of an older ensemble, whose members shared
        one order, keeps sharing it."""
        rng = rng if isinstance(rng, list) else [rng]
        if len(rng) != len(self.gens):
            self.gens = [torch.Generator() for _ in rng]
        for g, r in zip(self.gens, rng):
            g.set_state(r)
        self.orders = {t: [p.to(self.device), int(i)] for t, (p, i) in streams.items()}
        self._undo = None
