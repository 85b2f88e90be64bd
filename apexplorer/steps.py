"""A trainer's steps, from launch to report (:meth:`Trainer.train <apexplorer.trainer.Trainer.train>`).

:func:`launch` trains the next batch of the schedule: an eager step is read
back, checked by the divergence guard and applied (or rolled back) at once; a
fused (CUDA graph) step is only launched on the device, which guards it.
:func:`flush` reads the launched steps back (the fused ones in one host sync)
and reports them as batch events, or stops the run at a diverged one.  Both act
on the trainer in place: its data order, position in the schedule and sums.
"""

from __future__ import annotations

import time

import torch

from .events import BatchEvent, EpochStats, StepResult, read_back
from .schedule import lead

__all__ = ["launch", "flush"]


def on_device(d, device) -> tuple:
    """(x_train, y_train, x_test, y_test) of the dataset ``d`` on ``device``."""
    return d.x_train.to(device), d.y_train.to(device), d.x_test.to(device), d.y_test.to(device)


def launch(trainer) -> None:
    """Train ``trainer``'s next batch: an eager step is read back, checked and applied now; a fused step only
    launched (:func:`flush` reads it back).  An interrupted step leaves the state as it was."""
    segs = trainer.segments()
    names = [t.name for t in segs[trainer.segment][0]]
    if trainer.position == 0:  # a segment starts a fresh pass over its tasks' data
        if trainer.segment == 0:
            trainer.stats = EpochStats(trainer.learner_members)
            resample(trainer)
        for n in names:
            trainer.streams.restart(n)
    where = (trainer.epoch + 1, sum(k for _, k in segs[: trainer.segment]) + trainer.position + 1,
             sum(k for _, k in segs), trainer.position + 1)
    if not trainer._pending:
        trainer._t_window = time.perf_counter()
    idx = trainer.streams.take(names, trainer.batch_sizes)
    try:
        batch = {n: (trainer._x[n][0][i], trainer._x[n][1][i]) for n, i in idx.items()}
        tasks = list(segs[trainer.segment][0])
        if trainer.learner.fused:
            out = trainer.learner.train_step(batch, tasks)  # the device guards it; read back later
        else:
            out = eager_step(trainer.learner, trainer.guard, batch, tasks)
    except BaseException:
        trainer.streams.undo()
        raise
    trainer.streams.commit()
    trainer.position += 1
    first = lead(names, trainer.streams.sizes)
    if trainer.streams.exhausted(first):  # the pass over the segment's (lead) data is done
        trainer.segment += 1
        trainer.position = 0
    trainer._pending.append((out, *where))


def resample(trainer) -> None:
    """Fresh-sample datasets (a generated task's ``fresh`` mode): this epoch's new training and test draw,
    from the run's seed (an ensemble's first seed: its members see the same images)."""
    for n, d in trainer.data.items():
        if getattr(d, "resample", None) is None or trainer._drawn.get(n) == trainer.epoch:
            continue
        trainer._x[n] = on_device(d.resample(int(trainer.config.seed), trainer.epoch), trainer.learner.device)
        trainer._drawn = {**trainer._drawn, n: trainer.epoch}


def eager_step(learner, guard, batch: dict, tasks) -> StepResult:
    """One step on the host's terms: compute, read back, check the loss, then apply (or roll back)."""
    res = learner.train_batch(batch, tasks)
    res.sizes = {t.name: batch[t.name][1].shape[-1] for t in tasks}
    step, = read_back([res])  # the one host sync of a step
    if guard.ok(step):
        guard.remember(learner)
        learner.apply()
    else:
        guard.restore(learner)
        step.diverged = True
    return step


def flush(trainer) -> list:
    """Report the steps ``trainer`` launched (reading fused ones back in one host sync) as events; a diverged
    step ends them with the run's StopEvent."""
    pending, trainer._pending = trainer._pending, []
    if not pending:
        return []
    fused = [r for r, *_ in pending if not isinstance(r, StepResult)]
    read = iter(read_back(fused))
    steps = [r if isinstance(r, StepResult) else next(read) for r, *_ in pending]
    if trainer.learner.device.type == "cuda":
        torch.cuda.synchronize(trainer.learner.device)
    dt = (time.perf_counter() - trainer._t_window) / len(pending)
    events = []
    for step, (_, epoch, batch, total, position) in zip(steps, pending):
        if step.diverged:
            if trainer.learner.fused:
                trainer.guard.restore(trainer.learner)
            events.append(trainer._finish("diverged", trainer.guard.message(step, epoch, position)))
            return events
        trainer.stats.add(step, dt)
        events.append(BatchEvent.of(step, epoch, batch, total, dt))
    return events
