"""Sharing an experiment: a compact URL query that opens it again, and the shell command that runs it.

* :func:`to_query` / :func:`from_query`: a preset's name and the keys that
  differ from its own experiment (``?preset=digits&train.lr=0.01``), or the
  whole experiment as zipped, base64 JSON (``?x=...``) where that is shorter
  or a preset cannot say it.  What TensorFlow Playground's URL does.
* :func:`train_args` / :func:`command`: ``apexplorer train`` flags that give
  exactly the experiment, or ``apexplorer run FILE`` where flags cannot.
"""

from __future__ import annotations

import base64
import json
import zlib

from .errors import ApexplorerError
from .table import TABLE, flags


def _text(v) -> str:
    """A value as a flag or a URL writes it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (tuple, list)):
        return ",".join(map(str, v))
    if isinstance(v, float):
        return repr(v)
    return str(v)


def preset_base(exp):
    """The preset's own experiment (what a URL's changes are relative to), or None for an inline wiring."""
    if exp.wiring.inline is not None:
        return None
    try:
        return type(exp).from_preset(exp.wiring.preset)
    except ApexplorerError:
        return None


def to_query(exp) -> dict:
    """A compact URL query of ``exp`` (see the module); its values are text."""
    packed = {"x": base64.urlsafe_b64encode(zlib.compress(exp.to_json(None).encode(), 9)).decode().rstrip("=")}
    base = preset_base(exp)
    if base is None:
        return packed
    q = {"preset": exp.wiring.preset}
    for k, (mine, _) in exp.diff(base).items():
        if k == "wiring.preset":
            continue
        if k.startswith("tasks.") and k.split(".")[1] not in exp.tasks:
            return packed  # a task dropped: only the whole JSON says so
        q[k] = _text(mine)
    try:
        if from_query(type(exp), q) != exp:
            return packed
    except ApexplorerError:
        return packed
    return q if len(json.dumps(q)) <= len(json.dumps(packed)) else packed


def from_query(cls, query: dict):
    """The experiment of a URL query written by :func:`to_query` (values are text, or lists of text)."""
    from .sections import ExperimentError

    q = {k: (v[0] if isinstance(v, (list, tuple)) else v) for k, v in query.items()}
    q = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in q.items()}
    if "x" in q:
        raw = q["x"] + "=" * (-len(q["x"]) % 4)
        damaged = "the link's experiment (x=...) is damaged; copy the whole link again"
        try:
            z = zlib.decompressobj()
            data = z.decompress(base64.urlsafe_b64decode(raw), MAX_JSON)
            if z.unconsumed_tail:
                raise ExperimentError(f"the link's experiment (x=...) unpacks to more than {MAX_JSON:,} bytes; "
                                      "no experiment is that long")
            text = data.decode()
        except (ValueError, zlib.error, UnicodeDecodeError):
            raise ExperimentError(damaged) from None
        try:
            return cls.from_json(text)
        except ExperimentError as e:
            raise ExperimentError(f"the link's experiment (x=...): {e}") from None
    base = cls.from_preset(q.pop("preset", "digits"))
    return base.with_changes(q) if q else base


def _part(key: str, value, width: int = 60) -> str:
    """``key=value`` as a message quotes a part of a link (a long value cut)."""
    value = str(value)
    return f"{key}={value[:width]}…" if len(value) > width else f"{key}={value}"


def check_query(cls, query: dict) -> tuple:
    """``(experiment, [])`` for a link that opens, else ``(None, [(part, why), ...])``: each part of the
    query that is refused (``ap.t1=-5``) and the library's reason."""
    from .errors import ApexplorerError

    q = {k: (v[0] if isinstance(v, (list, tuple)) and v else v) for k, v in query.items()}
    q = {str(k): (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)) for k, v in q.items()}
    try:
        return from_query(cls, q), []
    except ApexplorerError as e:
        whole = str(e)
    if "x" in q:
        return None, [(_part("x", q["x"]), whole)]
    refused = []
    preset = q.pop("preset", "digits")
    try:
        base = cls.from_preset(preset)
    except ApexplorerError as e:
        refused.append((_part("preset", preset), str(e)))
        base = cls.from_preset("digits")
    for k, v in q.items():
        try:
            base.with_changes({k: v})
        except ApexplorerError as e:
            refused.append((_part(k, v), str(e)))
    if not refused:  # each part is fine alone, not together
        refused.append(("the link", whole))
    return None, refused


#: the longest experiment JSON a link may unpack to (a zipped link could otherwise unpack to gigabytes)
MAX_JSON = 1_000_000

#: ``train`` flag -> the key it sets (the table's flags; those EP shares set AP's key).
FLAGS = tuple(flags().items())


def train_args(exp) -> list | None:
    """``apexplorer train`` flags that give exactly ``exp`` (only those that differ from the preset's own
    settings), or None where flags cannot say it (an inline wiring, task options, EP's options...)."""
    from .presets import preset_tasks

    if exp.wiring.inline is not None or exp.wiring.options or exp.name or exp.notes:
        return None
    if any(s.batch_size or s.train_size or s.test_size or s.noise is not None for s in exp.tasks.values()):
        return None
    m = exp.method
    if m.ep_options():
        return None  # EP's options share AP's flags (--t1, --beta); a file says which is which
    names = preset_tasks(exp.wiring.preset)
    if len(names) == 1:
        datasets = [exp.tasks[names[0]].dataset]
        args = ["--dataset", datasets[0]]
    else:
        if len(exp.tasks) not in (1, len(names)):
            return None
        fill = next(iter(exp.tasks.values())).dataset
        datasets = [exp.tasks[n].dataset if n in exp.tasks else fill for n in names]
        args = ["--tasks", ",".join(datasets)]
        if len(exp.tasks) == 1:
            args += ["--only", next(iter(exp.tasks))]
    base = type(exp).from_preset(exp.wiring.preset, datasets)
    if exp.init != base.init:
        return None  # no flag draws the paths otherwise than the preset does
    args = ["--preset", exp.wiring.preset, *args]
    mine, theirs = exp.flat(), base.flat()
    for r in TABLE:
        if r.section in ("ap", "train") and not r.flag and mine.get(r.key) != theirs.get(r.key):
            return None  # a key no flag sets (activation, early_stop...) differs from the preset's
    for flag, key in FLAGS:
        # --method changes the rate (EP's is capped: Experiment.method_lr); the flag says where that differs
        cli = base.method_lr(m.name) if key == "train.lr" else theirs.get(key)
        if mine.get(key) is not None and mine[key] != cli:
            args += [flag, _text(mine[key])]
    return args


def command(exp, file: str = "EXPERIMENT.toml") -> str:
    """The shell command of ``exp``: ``apexplorer train ...`` where its flags say it all, else
    ``apexplorer run FILE`` (the experiment saved there, or the checkpoint that holds it)."""
    args = train_args(exp)
    return "apexplorer " + (" ".join(["train", *args]) if args is not None else f"run {file}")
