"""The status line of a run (no Panel): where it is, how fast it goes and how long is left.

:class:`Progress` follows the batch events of the current epoch as they are
drained: the fraction of the epoch done, the training accuracy so far, and the
time left from the pace of the last batches.  :func:`status_line` writes
``epoch e/E · batch b/B (p %, m:ss left in the run) · train acc x % · test acc y %``,
so that a slow epoch (Fig. 5b on a CPU takes about 90 s) shows its progress
long before its first test accuracy.  ``E`` is the run's epochs now (Epochs
changed while it runs counts at once), and the time left is the whole run's.
A multitask epoch that trains its tasks in turn (alternating) names the task
training now and how far its pass is: ``training task A: batch 120/1875 of its
pass (6 %), then B``.  The training speed is not here: the Curves tab shows it,
once, defined there (:data:`apexplorer.app.curves.SPEED_DEFINITION`).
"""

from __future__ import annotations

import collections
import time


def clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) of a duration."""
    s = int(round(max(seconds, 0.0)))
    h, m = divmod(s, 3600)
    m, s = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Progress within the epoch and an estimate of the time left, from drained batch events.

    The pace is seconds per batch as the page sees it, evaluation and waits
    included, over the last ``window`` drains (:meth:`mark`, once a drain), so the
    estimate follows a machine that slows down.  One point a drain, not one a
    batch: a fast run drains dozens of batches at once, and their arrival times
    are the same instant, so a window of batches would give a pace of zero and
    ``0:00 left``.
    """

    def __init__(self, window: int = 30, clock=time.monotonic):
        self._clock = clock
        self._seen = collections.deque(maxlen=window)  # (time of a drain, batches done in the run by then)
        self.clear()

    def clear(self) -> None:
        self._seen.clear()
        self.epoch = 0
        self.batch = 0
        self.n_batches = 0
        self.acc_sum = 0.0
        self.acc_n = 0

    def add(self, ev) -> None:
        """Take one batch event (``epoch``, ``batch``, ``n_batches``, ``acc``); :meth:`mark` after a drain."""
        if ev.epoch != self.epoch:
            self.acc_sum, self.acc_n = 0.0, 0
        self.epoch, self.batch, self.n_batches = ev.epoch, ev.batch, ev.n_batches
        self.acc_sum += ev.acc
        self.acc_n += 1

    def mark(self) -> None:
        """Note the time and the batches done, once for each drain of batch events."""
        if not self.n_batches:
            return
        done = (self.epoch - 1) * self.n_batches + self.batch
        if self._seen and done < self._seen[-1][1]:
            self._seen.clear()  # a fresh or reloaded run
        if self._seen and done == self._seen[-1][1]:
            return  # nothing new: the pace is from the last batch seen
        self._seen.append((self._clock(), done))

    @property
    def fraction(self) -> float:
        """The share of the current epoch done (0 to 1)."""
        return self.batch / self.n_batches if self.n_batches else 0.0

    @property
    def train_acc(self) -> float | None:
        """Mean accuracy of this epoch's batches so far (before each update), or None."""
        return self.acc_sum / self.acc_n if self.acc_n else None

    def seconds_per_batch(self) -> float | None:
        if len(self._seen) < 2:
            return None
        (t0, b0), (t1, b1) = self._seen[0], self._seen[-1]
        return (t1 - t0) / (b1 - b0) if b1 > b0 else None

    def left(self, epochs: int | None = None) -> dict:
        """Seconds left in this epoch and in the whole run (``epochs`` in all), where the pace is known."""
        spb = self.seconds_per_batch()
        if spb is None or not self.n_batches:
            return {}
        epoch = spb * (self.n_batches - self.batch)
        out = {"epoch": epoch}
        if epochs:
            out["run"] = epoch + spb * self.n_batches * max(epochs - self.epoch, 0)
        return out


def segment_of(segments, batch: int) -> tuple | None:
    """(task(s), batch within its pass, batches of its pass, next task(s) or '') of the epoch's ``batch``
    (1-based) when the epoch trains its tasks in turn (``segments``: [(task(s), batches)]), else None."""
    if not segments or len(segments) < 2:
        return None
    start = 0
    for i, (name, n) in enumerate(segments):
        if batch <= start + n:
            after = segments[i + 1][0] if i + 1 < len(segments) else ""
            return name, batch - start, n, after
        start += n
    return None


def status_line(last: dict, state: str, total_epochs=None, progress: Progress | None = None,
                segments=None) -> str:
    """``epoch e/E · batch b/B (p %, m:ss left in the run) · train acc x % · test acc y %  (state)``.

    ``total_epochs``: the run's epochs now (the trainer's, which follows a change of Epochs);
    ``segments``: the epoch's passes [(task(s), batches)] of a run that trains its tasks in turn."""
    E = total_epochs or last.get("epochs") or "?"
    e = last.get("epoch", 0)
    parts = [f"epoch {e}/{E}"]
    if "batch" in last:
        text = f"batch {last['batch']}/{last['n_batches']}"
        if progress is not None and progress.n_batches and state == "running":
            left = progress.left(E if isinstance(E, int) else None)
            eta = (f", {clock(left['run'])} left in the run" if "run" in left else
                   f", {clock(left['epoch'])} left in this epoch" if "epoch" in left else "")
            text += f" ({progress.fraction:.0%}{eta})"
        parts.append(text)
        seg = segment_of(segments, last["batch"])
        if seg is not None:
            name, b, n, after = seg
            parts.append(f"training task {name}: batch {b}/{n} of its pass ({b / max(n, 1):.0%})"
                         + (f", then {after}" if after else ""))
        if progress is not None and progress.train_acc is not None and progress.epoch == e:
            parts.append(f"train acc {progress.train_acc:.1%}")
    tasks = last.get("tasks") or {}
    if len(tasks) > 1:
        parts.append("test acc " + ", ".join(f"{t} {v['test_acc']:.1%}" for t, v in tasks.items()))
    elif "test_acc" in last:
        parts.append(f"test acc {last['test_acc']:.1%}")
    else:
        parts.append("test acc –")
    return " · ".join(parts) + f"  ({state})"


__all__ = ["Progress", "clock", "segment_of", "status_line"]
