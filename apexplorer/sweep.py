"""Sweeps: train one network over a grid of settings x seeds, into a tidy results table.

A sweep is data: the ``train`` settings shared by every point, the grid axes
(any ``train`` setting, e.g. ``sr`` and ``steps``) and the seeds.  A *run* is
one point with one seed; :func:`train_point` trains the runs of a point and
returns their rows.  It is a plain function of plain data, so it runs the
same in this process (:func:`run_in_process`) or on Dask workers
(:func:`run_on_dask`), and no home-made job system is needed.

Rows (one per point, seed and epoch) are appended to the table as runs
finish (:mod:`apexplorer.sweep_table`), so a rerun skips finished runs and
Ctrl-C or a dead worker loses only the runs in flight.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass, field

from .errors import ApexplorerError, choices

#: Settings that say where or how a run is computed, not what it computes: they
#: are not part of a point's identity, so changing them does not rerun points.
PLACEMENT = ("device", "data_dir", "download")
#: Grid axes that change the reservoirs' dynamics; with them, rows get an FTMLE.
STABILITY_AXES = ("sr", "rate", "preset", "wiring")


# ---------------------------------------------------------------------------
# settings and grid axes
# ---------------------------------------------------------------------------
def settings_parser() -> argparse.ArgumentParser:
    """A parser with every ``train`` setting (:func:`apexplorer.cli.add_model_args`)."""
    from .cli import add_model_args

    p = argparse.ArgumentParser(prog="apexplorer sweep", add_help=False)
    add_model_args(p)
    return p


def default_settings() -> dict:
    """Every ``train`` setting at its default, as a plain dict."""
    return vars(settings_parser().parse_args([]))


def _setting_actions(parser) -> dict:
    """dest -> argparse action for every setting that takes a value."""
    return {a.dest: a for a in parser._actions if a.option_strings and a.nargs != 0 and a.dest != "help"}


def parse_axis(text: str, parser: argparse.ArgumentParser | None = None) -> tuple:
    """Parse ``NAME=v1,v2,...`` into ``(dest, values)``, converting values as ``train`` would.

    ``NAME`` is a ``train`` option without its dashes (``sr``, ``batch-size``).
    Errors name the bad value and the valid choices.
    """
    parser = parser or settings_parser()
    actions = _setting_actions(parser)
    if "=" not in text:
        raise ApexplorerError(f"grid axis {text!r} must look like NAME=v1,v2 (e.g. sr=0.1,0.25,0.5)")
    name, _, vals = text.partition("=")
    dest = name.strip().lstrip("-").replace("-", "_")
    if dest in ("seed", "seeds"):
        raise ApexplorerError("seeds are not a grid axis: use --seeds K (seeds --seed ... --seed+K-1)")
    if dest not in actions:
        names = sorted(d.replace("_", "-") for d in actions if d not in ("seed", "download"))
        raise ApexplorerError(f"grid axis {name.strip()!r} is not a train setting; settings are {choices(names)}")
    action = actions[dest]
    raw = [v.strip() for v in vals.split(",")]
    if not vals.strip() or any(not v for v in raw):
        raise ApexplorerError(f"grid axis {name.strip()!r} has an empty value in {vals!r}")
    values = []
    for v in raw:
        try:
            x = action.type(v) if action.type else v
        except (argparse.ArgumentTypeError, ValueError, TypeError) as e:
            raise ApexplorerError(f"grid axis {name.strip()!r}: value {v!r}: {e}") from None
        if action.choices is not None and x not in action.choices:
            raise ApexplorerError(
                f"grid axis {name.strip()!r}: value {v!r} is not valid; choices are {choices(action.choices)}"
            )
        values.append(x)
    if len(set(values)) != len(values):
        raise ApexplorerError(f"grid axis {name.strip()!r} lists a value twice: {vals}")
    return dest, tuple(values)


def point_id(settings: dict) -> str:
    """A short stable id for a point: a hash of its settings (``seed``, the data order, included), placement left out."""
    key = {k: v for k, v in sorted(settings.items()) if k not in PLACEMENT}
    return hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Point:
    """One grid point: its id, its full settings and its axis values."""

    id: str
    settings: dict = field(hash=False)
    axes: dict = field(hash=False)


@dataclass(frozen=True)
class Sweep:
    """A grid of ``train`` settings x seeds.

    Parameters
    ----------
    base : dict
        Settings shared by every point (defaults filled in by :meth:`create`).
    axes : tuple of (dest, values)
        Grid axes in order; points are their Cartesian product.
    seeds : tuple of int
    """

    base: dict
    axes: tuple = ()
    seeds: tuple = (0,)

    @classmethod
    def create(cls, settings: dict | None = None, grid: dict | None = None, seeds=None) -> "Sweep":
        """Build a sweep from plain values.

        ``settings`` overrides :func:`default_settings` (``{"dataset": "digits"}``),
        ``grid`` maps setting names to value lists (``{"sr": [0.1, 1]}``), and
        ``seeds`` is a count K (seeds ``seed .. seed + K - 1``; default the
        ``seeds`` setting, 1) or a list.
        """
        parser = settings_parser()
        base = vars(parser.parse_args([]))
        settings = {k.replace("-", "_"): v for k, v in (settings or {}).items()}
        unknown = set(settings) - set(base)
        if unknown:
            raise ApexplorerError(f"unknown setting(s) {sorted(unknown)}; settings are {choices(sorted(base))}")
        base.update(settings)
        seeds = base.pop("seeds", 1) if seeds is None else seeds
        base.pop("seeds", None)  # the seeds of a point are rows, not a setting of it
        axes = [parse_axis(f"{k}={','.join(str(v) for v in vals)}", parser) for k, vals in (grid or {}).items()]
        if isinstance(seeds, int):
            if seeds < 1:
                raise ApexplorerError(f"--seeds {seeds} must be >= 1")
            seeds = range(int(base["seed"]), int(base["seed"]) + seeds)
        return cls(base, tuple(axes), tuple(int(s) for s in seeds)).validate()

    def validate(self) -> "Sweep":
        dests = [d for d, _ in self.axes]
        dup = {d for d in dests if dests.count(d) > 1}
        if dup:
            raise ApexplorerError(f"grid axis {sorted(dup)[0]!r} is given twice; give each axis once")
        if "wiring" in dests and (self.base.get("preset") or "preset" in dests):
            raise ApexplorerError("a wiring axis and a preset cannot be combined; drop --preset or the wiring axis")
        if "preset" in dests and self.base.get("wiring"):
            raise ApexplorerError("a preset axis and --wiring cannot be combined")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ApexplorerError(f"seeds {list(self.seeds)} must be distinct and at least one")
        return self

    @property
    def axis_names(self) -> tuple:
        return tuple(d for d, _ in self.axes)

    def points(self) -> list:
        """Every grid point, in grid order (the last axis varies fastest)."""
        out = []
        for combo in itertools.product(*(vals for _, vals in self.axes)):
            ax = dict(zip(self.axis_names, combo))
            s = {**self.base, **ax}
            out.append(Point(point_id(s), s, ax))
        return out

    def runs(self) -> list:
        """Every (point, seed) pair."""
        return [(p, s) for p in self.points() for s in self.seeds]

    def namespace(self, point: Point) -> argparse.Namespace:
        """The ``train`` arguments of a point (its ``seed`` seeds the data order)."""
        return argparse.Namespace(**point.settings)


# ---------------------------------------------------------------------------
# one point: train its seeds, return its rows
# ---------------------------------------------------------------------------
def _uniform(values):
    values = set(values)
    return values.pop() if len(values) == 1 else None


def settings_row(ns: argparse.Namespace, built=None) -> dict:
    """The settings columns of a row: the values ``train`` actually used where known."""
    row = {k: v for k, v in vars(ns).items() if k not in ("data_dir", "download", "seeds")}
    if built is not None:
        wiring, data, ap, cfg = built
        row.update(
            dataset=",".join(dict.fromkeys(d.name for d in data.values())),
            preset=wiring.name,
            sr=_uniform(m.spectral_radius for m in wiring.modules),
            rate=_uniform(m.connection_rate for m in wiring.modules),
            t1=ap.t1, t2=ap.t2, mode=ap.mode, beta=ap.beta, precision=ap.precision,
            epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer=cfg.optimizer,
        )
    return row


def reservoir_ftmle(net, steps: int = 8, seed: int = 0) -> list | None:
    """FTMLE of every member, each the mean over its reservoirs (zero drive, ``steps`` steps).

    A list with one value per ensemble member (one for a single network), or
    None where the learner has no reservoirs or :mod:`apexplorer.analysis` is missing.
    """
    try:
        from .analysis.lyapunov import ftmle
    except ImportError:
        return None
    if net is None or not net.reservoirs:
        return None
    act = net.config.activation
    members = net.members or 1
    out = []
    for k in range(members):
        Ws = [W[k] if net.members else W for W in net.reservoirs.values()]
        vals = [float(ftmle(W, steps=steps, activation=act, seed=seed)) for W in Ws if W.numel()]
        out.append(sum(vals) / len(vals) if vals else None)
    return out


def _worker_device(device: str) -> str:
    """On a multi-GPU machine, spread local Dask workers (named 0, 1, ...) over the GPUs."""
    import torch

    if device not in ("auto", "cuda") or not torch.cuda.is_available() or torch.cuda.device_count() < 2:
        return device
    try:
        from distributed import get_worker

        name = get_worker().name
    except (ImportError, ValueError):
        return device
    return f"cuda:{int(name) % torch.cuda.device_count()}" if isinstance(name, int) else device


def _member_rows(ev, members: int) -> list:
    """One metrics dict per ensemble member from an EpochEvent."""
    if members == 1 or not ev.members:
        rows = [{"train_acc": ev.train_acc, "test_acc": ev.test_acc, "loss": ev.loss, "test_loss": ev.test_loss}]
        per = [{t: d for t, d in ev.tasks.items()}]
    else:
        per = [{t: {k: v[i] for k, v in d.items()} for t, d in ev.members.items()} for i in range(members)]
        rows = []
        for m in per:
            trained = [d for d in m.values() if "train_acc" in d] or list(m.values())

            def mean(key, ds=trained):
                vals = [d[key] for d in ds if key in d]
                return sum(vals) / len(vals) if vals else math.nan

            rows.append({"train_acc": mean("train_acc"), "test_acc": mean("test_acc"), "loss": mean("loss"),
                         "test_loss": mean("test_loss")})
    if len(ev.tasks) > 1:  # multi-task: each task's accuracy as well
        for r, m in zip(rows, per):
            for t, d in m.items():
                r.update({f"{t}_{k}": d.get(k) for k in ("train_acc", "test_acc")})
    return rows


def _error_rows(base: dict, seeds, msg: str) -> list:
    return [{**base, "seed": s, "epoch": math.nan, "train_acc": math.nan, "test_acc": math.nan, "loss": math.nan,
             "test_loss": math.nan, "seconds": math.nan, "status": "error", "message": msg, "ftmle": None}
            for s in seeds]


def train_point(settings: dict, seeds, point: str, threads: int | None = None, ftmle: bool = True,
                on_epoch=None) -> list:
    """Train the ``seeds`` of one point as one batched ensemble; return their rows.

    This is the unit of work sent to a Dask worker: plain data in, plain
    rows out, one per seed and epoch.  ``settings["seed"]`` seeds the order
    of the data, shared by the members (column ``shuffle_seed``); each seed
    of ``seeds`` draws one member's network (column ``seed``).

    Every row carries its run's final status: ``completed``, ``early_stop``,
    ``diverged`` (the diverging epoch's row has the test accuracy of the
    last good weights, which the trainer keeps) or ``error`` (one row, the
    message says why).  An ensemble stops as a whole when one member
    diverges, so such a point is trained again one seed at a time to give
    each seed its own status.  Never raises for a bad point, so a sweep goes on.
    """
    from .cli import build
    from .trainer import EpochEvent, StopEvent, Trainer, resolve_device

    if threads:
        import torch

        torch.set_num_threads(threads)
    seeds = tuple(int(s) for s in seeds)
    ns = argparse.Namespace(**{**settings, "seeds": len(seeds), "device": _worker_device(settings["device"])})
    base = {"point": point, **settings_row(ns), "shuffle_seed": ns.seed}
    try:
        built = wiring, data, ap, cfg = build(ns)
        trainer = Trainer.create(wiring, data, ap, cfg, task=list(data), schedule=ns.schedule, seeds=seeds)
        base = {"point": point, **settings_row(ns, built), "shuffle_seed": ns.seed,
                "device": str(resolve_device(cfg.device)), "members": len(seeds)}
        lam = reservoir_ftmle(trainer.net, seed=ns.seed) if ftmle else None
        rows, stop = [[] for _ in seeds], None
        for ev in trainer.train(batch_events=False):
            if isinstance(ev, EpochEvent):
                for r, m in zip(rows, _member_rows(ev, len(seeds))):
                    r.append({"epoch": ev.epoch, **m, "seconds": ev.seconds})
                if on_epoch is not None:
                    on_epoch(ev)
            elif isinstance(ev, StopEvent):
                stop = ev
    except Exception as e:  # noqa: BLE001 - one bad point must not stop a sweep; the row says why
        return _error_rows(base, seeds, str(e) if isinstance(e, ApexplorerError) else f"{type(e).__name__}: {e}")
    if stop.reason == "diverged":
        if len(seeds) > 1:
            return [r for s in seeds for r in train_point(settings, (s,), point, None, ftmle, on_epoch)]
        acc, _ = trainer.evaluate("test")
        rows[0].append({"epoch": trainer.epoch + 1, "train_acc": math.nan, "test_acc": acc, "loss": math.nan,
                        "test_loss": math.nan, "seconds": math.nan})
    return [{**base, "seed": s, **r, "status": stop.reason, "message": stop.message,
             "ftmle": lam[k] if lam else None}
            for k, s in enumerate(seeds) for r in rows[k]]


# ---------------------------------------------------------------------------
# executors: in this process, or on Dask
# ---------------------------------------------------------------------------
@dataclass
class Task:
    """The unfinished seeds of one point, trained together as one batched ensemble."""

    point: Point
    seeds: tuple

    @property
    def key(self) -> str:
        return f"apexplorer-point-{self.point.id}-seed-{'-'.join(map(str, self.seeds))}"


def plan(sweep: Sweep, finished=frozenset()) -> tuple:
    """(tasks to run, number of runs skipped because ``finished`` holds their (point, seed))."""
    tasks, skipped = [], 0
    for p in sweep.points():
        todo = tuple(s for s in sweep.seeds if (p.id, s) not in finished)
        skipped += len(sweep.seeds) - len(todo)
        if todo:
            tasks.append(Task(p, todo))
    return tasks, skipped


def run_in_process(tasks, ftmle: bool = True, on_epoch=None):
    """Train ``tasks`` one after another here; yield ``(task, rows)`` as each finishes."""
    for t in tasks:
        yield t, train_point(t.point.settings, t.seeds, t.point.id, None, ftmle, on_epoch)


def run_on_dask(tasks, client, threads: int | None = None, ftmle: bool = True):
    """Submit ``tasks`` to a Dask ``client``; yield ``(task, rows)`` in the order they finish.

    Dask reruns the task of a worker that dies; a task that kills its workers
    too often (Dask's ``allowed-failures``) comes back as an ``error`` row.
    Closing the generator (e.g. on Ctrl-C) cancels what is still pending.
    """
    from distributed import as_completed

    futures = {}
    for t in tasks:
        f = client.submit(train_point, t.point.settings, t.seeds, t.point.id, threads, ftmle, key=t.key)
        futures[f] = t
    try:
        for f in as_completed(list(futures)):
            t = futures[f]
            try:
                rows = f.result()
            except Exception as e:  # noqa: BLE001 - KilledWorker, lost data: record and go on
                base = {"point": t.point.id, **settings_row(argparse.Namespace(**t.point.settings))}
                rows = _error_rows(base, t.seeds, f"{type(e).__name__}: {e}")
            f.release()
            yield t, rows
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)


def local_cluster(workers: int, dashboard: str = "127.0.0.1:8787"):
    """A Dask LocalCluster of ``workers`` single-threaded processes, reachable from localhost only."""
    import logging

    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=dashboard, silence_logs=logging.ERROR)


def default_workers() -> int:
    """One worker per GPU, else one per two CPU cores (torch uses the other thread)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return max(1, (os.cpu_count() or 1) // 2)


def have_dask() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


SCALE_OUT = ("To spread the points over this machine's cores or GPUs, or over a cluster: "
             "pip install 'apexplorer[sweep]', then pass --workers N (a local Dask cluster) "
             "or --scheduler tcp://HOST:8786 (an existing one).")


def prepare(sweep: Sweep, out) -> tuple:
    """Open the results table ``out`` and plan what is left to train.

    Returns ``(table, tasks, skipped, dropped)``: the runs already finished in
    the table are skipped; rows of runs that failed are dropped and redone.
    """
    from .sweep_table import ResultsTable

    table = ResultsTable(out)
    dropped = table.drop_unfinished()
    tasks, skipped = plan(sweep, table.finished())
    return table, tasks, skipped, dropped


def execute(sweep: Sweep, tasks, table, client=None, threads=None, ftmle=None, on_epoch=None):
    """Train ``tasks``, appending their rows to ``table``; yield ``(task, rows)`` after each is written.

    ``client`` is a Dask client, or None to train in this process.
    ``ftmle`` defaults to True when a grid axis changes the reservoirs (sr, rate, preset, wiring).
    """
    ftmle = any(a in STABILITY_AXES for a in sweep.axis_names) if ftmle is None else ftmle
    it = run_on_dask(tasks, client, threads, ftmle) if client is not None else run_in_process(tasks, ftmle, on_epoch)
    try:
        for t, rows in it:
            table.append(rows)
            yield t, rows
    finally:
        it.close()


def run(sweep: Sweep, out, client=None, threads=None, ftmle=None):
    """Run what is left of ``sweep`` into the table ``out`` and return the whole table (a DataFrame).

    The notebook form of ``apexplorer sweep``; pass a Dask ``client`` to scale out.
    """
    table, tasks, _, _ = prepare(sweep, out)
    for _ in execute(sweep, tasks, table, client, threads, ftmle):
        pass
    return table.frame


def summary(rows) -> dict:
    """The last row of a run, for progress lines: status, epochs and final accuracy."""
    last = rows[-1]
    return {k: last.get(k) for k in ("point", "seed", "status", "epoch", "test_acc", "train_acc", "ftmle", "message")}


__all__ = ["Point", "Sweep", "Task", "default_settings", "execute", "local_cluster", "parse_axis", "plan",
           "point_id", "prepare", "run", "run_in_process", "run_on_dask", "train_point"]
