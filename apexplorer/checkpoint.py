"""Checkpoints: what a trainer's state holds, atomic files, and the checks before a file is used.

* :func:`trainer_state` / :func:`restore_progress`: the layout of a trainer's
  state (learner, optimiser, data order, position in the epoch, the epoch's
  sums, history, the experiment) and its way back into a trainer.
* :func:`save_atomic`: written to a temporary file beside the target, synced,
  then renamed, so the target is always the old file or the whole new one.
* :func:`load`, :func:`match_data`, :func:`check_tensors`: a missing, corrupt
  or foreign file, data that is not the checkpoint's, and tensors whose shapes
  do not fit the checkpoint's own wiring are refused with a message before
  anything runs.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import torch

from .errors import ApexplorerError

FORMAT = "apexplorer-checkpoint"
VERSION = 1


class CheckpointError(ApexplorerError):
    """A checkpoint that is missing, corrupt or from another format."""


def looks_like(path) -> bool:
    """Whether ``path`` names a checkpoint (by its suffix, or a torch zip file's signature)."""
    path = Path(path)
    if path.suffix.lower() in (".pt", ".pth", ".ckpt"):
        return True
    if not path.is_file():  # a pipe or a device would block or never end: only regular files are read
        return False
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"PK"
    except OSError:
        return False


def check_writable(path) -> Path:
    """Refuse a checkpoint target that cannot be written (a folder, an unwritable place), before any work."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"cannot save to {str(path)!r}: it is a folder; give a file name, e.g. {str(path / 'run.pt')!r}")
    above = next((p for p in path.parents if p.exists()), None)  # named as the user wrote it
    if above is not None and not above.is_dir():
        raise CheckpointError(f"cannot save to {str(path)!r}: {str(above)!r} is a file, not a folder")
    try:
        try_writing(path)
    except OSError as e:
        raise CheckpointError(f"cannot save to {str(path)!r}: {e.strerror or e}") from None
    return path


def try_writing(path: Path) -> None:
    """Make ``path``'s folder and create and remove a file in it, as a save will; raises OSError where it cannot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)


def to_bytes(obj: dict) -> bytes:
    """The bytes of the checkpoint file of ``obj`` (a :func:`trainer_state`), as :func:`save_atomic` writes them."""
    buf = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **obj}, buf)
    return buf.getvalue()


def save_atomic(obj: dict, path) -> Path:
    """Write ``obj`` with torch.save so that ``path`` is either the old file or the complete new one."""
    return write_atomic(to_bytes(obj), path)


def write_atomic(data: bytes, path) -> Path:
    """Write the checkpoint bytes ``data`` (:func:`to_bytes`) so that ``path`` is either the old file or the new one."""
    path = check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise CheckpointError(f"cannot save to {str(path)!r}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise CheckpointError(f"cannot save to {str(path)!r}: {e.strerror or e}; the previous checkpoint there "
                              "is unchanged") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


#: what a checkpoint is, for messages about a file that is not one
CHECKPOINT_IS = ("a checkpoint is the .pt file that the explorer's \"Download this session\", "
                 "`apexplorer train --save` or Trainer.save writes")


def load(path) -> dict:
    """Read a checkpoint; a missing, truncated or foreign file raises CheckpointError."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {str(path)!r} is a folder, not a checkpoint file")
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    if not path.is_file():
        raise CheckpointError(f"{str(path)!r} is not a checkpoint file (it is a device or a pipe)")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {str(path)!r} is empty; {CHECKPOINT_IS}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a bad file
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt or not a checkpoint ({type(e).__name__}); "
                              f"{CHECKPOINT_IS}") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not an apexplorer checkpoint; {CHECKPOINT_IS}")
    if obj.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {str(path)!r} has version {obj.get('version')}; this apexplorer reads {VERSION}")
    check_parts(obj, path)
    return obj


#: What every checkpoint holds (:func:`trainer_state`); ``batch_sizes`` and ``experiment`` may be absent.
PARTS = ("learner", "train_config", "tasks", "schedule", "datasets", "optimizer", "rng", "streams", "epoch",
         "segment", "position", "acc", "history", "summary")
#: What every epoch of the history holds.
HISTORY_FIELDS = ("epoch", "train_acc", "test_acc", "loss")


def check_parts(state: dict, path) -> None:
    """Refuse a checkpoint that lacks a part (or whose learner or history lacks a field) as corrupt, naming it."""
    where = f"checkpoint {str(path)!r} is corrupt"
    missing = [k for k in PARTS if k not in state]
    if missing:
        raise CheckpointError(f"{where}: it has no {', '.join(missing)} (a checkpoint holds {', '.join(PARTS)})")
    lw = state["learner"]
    if not isinstance(lw, dict) or "kind" not in lw or "tensors" not in lw:
        lack = "kind and tensors" if not isinstance(lw, dict) else " and ".join(k for k in ("kind", "tensors")
                                                                                 if k not in lw)
        raise CheckpointError(f"{where}: its learner has no {lack}")
    if not isinstance(state["epoch"], int) or isinstance(state["epoch"], bool) or state["epoch"] < 0:
        raise CheckpointError(f"{where}: its epoch is {state['epoch']!r}, not a count of epochs")
    hist = state["history"]
    if not isinstance(hist, list):
        raise CheckpointError(f"{where}: its history is a {type(hist).__name__}, not a list of epochs")
    for i, h in enumerate(hist):
        lack = [k for k in HISTORY_FIELDS if not isinstance(h, dict) or k not in h]
        if lack:
            raise CheckpointError(f"{where}: epoch {i + 1} of its history has no {', '.join(lack)}")


# ---------------------------------------------------------------------------
# a trainer's state
# ---------------------------------------------------------------------------
def _cpu_optimizer(state: dict) -> dict:
    return {k: ({n: t.detach().cpu().clone() for n, t in v.items()} if isinstance(v, dict) else
                (list(v) if isinstance(v, tuple) else v)) for k, v in state.items()}


def trainer_state(trainer) -> dict:
    """The checkpoint of ``trainer`` (a plain dict of tensors and builtins, readable with weights_only)."""
    from dataclasses import asdict

    streams = trainer.streams.state_dict()
    return {
        "learner": trainer.learner.state_dict(),
        "train_config": asdict(trainer.config),
        "tasks": [t.name for t in trainer.tasks],
        "schedule": trainer.schedule,
        "datasets": {n: d.name for n, d in trainer.data.items()},
        "batch_sizes": {n: b for n, b in trainer.batch_sizes.items() if b != trainer.config.batch_size},
        "optimizer": _cpu_optimizer(trainer.opt.state_dict()),
        "rng": streams["rng"],
        "streams": streams["streams"],
        "epoch": trainer.epoch,
        "segment": trainer.segment,
        "position": trainer.position,
        "acc": trainer.stats.to_dict(),
        "history": list(trainer.history),
        "summary": trainer.summary,
        "experiment": None if trainer.experiment is None else trainer.experiment.to_dict(),
    }


def match_data(state: dict, data, path) -> dict:
    """{task: Dataset} for the checkpoint's tasks from ``data`` (a Dataset or a dict), checked by name and size."""
    from .data import Dataset

    given = {state["tasks"][0]: data} if isinstance(data, Dataset) else dict(data)
    for n, name in state["datasets"].items():
        if n not in given:
            raise CheckpointError(f"checkpoint {str(path)!r} needs a dataset for task {n!r} ({name})")
        if given[n].name != name:
            raise CheckpointError(f"checkpoint {str(path)!r}: task {n!r} was trained on {name!r}, not {given[n].name!r}")
    for n, (perm, _) in state.get("streams", {}).items():
        if n in given and perm.shape[-1] != len(given[n].y_train):
            raise CheckpointError(f"checkpoint {str(path)!r}: task {n!r} was trained on {perm.shape[-1]} samples of "
                                  f"{state['datasets'][n]!r}, but the data given has {len(given[n].y_train)}")
    return given


def _shape(t) -> tuple:
    return tuple(t.shape) if isinstance(t, torch.Tensor) else ()


def check_tensors(state: dict, learner_class, path) -> None:
    """Refuse a checkpoint whose tensors (weights, fixed matrices, optimiser moments) do not fit its wiring.

    A checkpoint whose parts come from two runs would otherwise crash the process
    (the fused Adam kernel checks no shapes) or fail at the first batch.
    """
    where = f"checkpoint {str(path)!r}"
    lw = state["learner"]
    try:
        expected = learner_class.tensor_shapes(lw)
    except (ApexplorerError, KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{where}: its model description is damaged ({e})") from None
    tensors = lw.get("tensors", {})
    for group, shapes in expected.items():
        got = tensors.get(group, {})
        missing, extra = set(shapes) - set(got), set(got) - set(shapes)
        if missing or extra:
            what = f"lacks {sorted(missing)}" if missing else f"has tensors its wiring does not: {sorted(extra)}"
            raise CheckpointError(f"{where}: {group} {what}; the file is damaged or mixes two runs")
        for name, shape in shapes.items():
            t = got[name]
            if not isinstance(t, torch.Tensor) or not t.is_floating_point() or _shape(t) != tuple(shape):
                desc = f"a {t.dtype} tensor of shape {_shape(t)}" if isinstance(t, torch.Tensor) else repr(type(t))
                raise CheckpointError(f"{where}: {group}[{name!r}] is {desc}, but its wiring needs a float tensor "
                                      f"of shape {tuple(shape)}; the file is damaged or mixes two runs")
    weights = expected.get("weights", {})
    opt = state.get("optimizer", {})
    for key in ("m", "v", "t"):
        for name, t in (opt.get(key) or {}).items():
            if name not in weights:
                raise CheckpointError(f"{where}: the optimiser holds state of {name!r}, which is no weight of its "
                                      f"wiring; the file is damaged or mixes two runs")
            want = () if key == "t" else tuple(weights[name])
            if key == "t" and isinstance(t, (int, float)):  # older checkpoints kept step counts as numbers
                continue
            if not isinstance(t, torch.Tensor) or _shape(t) != want:
                raise CheckpointError(f"{where}: the optimiser's {key}[{name!r}] has shape {_shape(t)}, but the "
                                      f"weight needs {want}; the file is damaged or mixes two runs")


def restore_progress(trainer, state: dict, device) -> None:
    """Put a checkpoint's optimiser state, data order, position, sums and history into a new trainer."""
    from .events import EpochStats

    trainer.opt.load_state_dict(state["optimizer"], device=device)
    trainer.streams.load_state_dict(state["rng"], state["streams"])
    trainer.epoch, trainer.segment, trainer.position = state["epoch"], state["segment"], state["position"]
    trainer.stats = EpochStats.from_dict(state["acc"], trainer.learner_members)
    trainer.history = list(state["history"])
    trainer.summary = state["summary"]


def restore(cls, st: dict, path, data, config):
    """A trainer of class ``cls`` restored from checkpoint ``st`` (read from ``path``, :meth:`Trainer.load`) with
    the TrainConfig ``config`` (the checkpoint's, with a resume's changes), every tensor checked first."""
    from .devices import resolve_device
    from .methods import learner_class
    from .optim import make_optimizer

    given = match_data(st, data, path)
    dev = resolve_device(config.device)
    learner_cls = learner_class(st["learner"]["kind"])
    check_tensors(st, learner_cls, path)
    learner = learner_cls.from_state(st["learner"], dev, make_optimizer(config.optimizer, config.lr))
    tr = cls(learner, given, config, st["tasks"], st["schedule"], st.get("batch_sizes"))
    restore_progress(tr, st, dev)
    tr.opt.lr = float(config.lr)  # a resume may change the learning rate; the moments stay
    return tr
