"""What a served explorer allows its visitors (no Panel): the operator's limits and the queue of trainings.

The operator of a served explorer sets them in a small TOML file (``apexplorer serve --limits FILE``,
or ``panel serve apps/explorer.py --args --limits FILE``, or ``$APEXPLORER_LIMITS``) or by flags
(``--max-neurons``, ``--max-seeds``, ``--max-epochs``, ``--max-trainings``, ``--idle-minutes``,
``--max-upload``), a flag winning over the file::

    # classroom.toml: 30 students on one 16-core machine
    neurons = 4096        # most neurons per network (all modules together)
    seeds = 4             # most seeds (networks of one ensemble)
    epochs = 50           # most epochs per run
    trainings = 8         # most trainings at once; the rest wait in line
    idle_minutes = 20     # a closed or disconnected page's session ends after this
    upload_mb = 50        # the largest file a visitor may upload

A value left out has the default of :class:`Limits`, which fits a laptop: no cap on
a network's size, seeds or epochs (the page's own checks of memory and build time
stay), as many trainings at once as the machine has cores, sessions ending as
Bokeh ends them (15 s after their page closed) and uploads up to 512 MB.  Every
refusal names the limit and who sets it (:meth:`Limits.refusal`).

:class:`TrainingSlots` is the server's line of trainings: a session that presses
Train when ``trainings`` already run waits with its place shown, and starts when
one ends (:meth:`TrainingSlots.ask`, :meth:`TrainingSlots.turn`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import threading
from pathlib import Path

from ..errors import ApexplorerError

ENV = "APEXPLORER_LIMITS"
#: who sets the limits, as a refusal says it
WHO = "its operator sets that with --limits"


def _default_trainings() -> int:
    return max(2, os.cpu_count() or 2)


@dataclasses.dataclass(frozen=True)
class Limits:
    """The operator's limits (``None``: no limit of the operator's; the page's own checks stay)."""

    neurons: int | None = None  #: most neurons per network (every module's neurons together)
    seeds: int | None = None  #: most seeds (networks trained as one ensemble)
    epochs: int | None = None  #: most epochs of one run
    trainings: int = dataclasses.field(default_factory=_default_trainings)  #: most trainings at once
    idle_minutes: float | None = None  #: lifetime of a session whose page closed (None: Bokeh's 15 s)
    upload_mb: float = 512.0  #: the largest file a visitor may upload, in MB

    FLAGS = {"neurons": "--max-neurons", "seeds": "--max-seeds", "epochs": "--max-epochs",
             "trainings": "--max-trainings", "idle_minutes": "--idle-minutes", "upload_mb": "--max-upload"}

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None and f.name not in ("trainings", "upload_mb"):
                continue
            whole = f.name in ("neurons", "seeds", "epochs", "trainings")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or (whole and int(v) != v) or v <= 0:
                kind = "a positive whole number" if whole else "a positive number"
                raise ApexplorerError(f"limit {f.name} = {v!r} must be {kind}")
            object.__setattr__(self, f.name, int(v) if whole else float(v))

    # ------------------------------------------------------------ reading
    @classmethod
    def load(cls, path) -> "Limits":
        """The limits of a TOML file (keys: the fields of :class:`Limits`)."""
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text())
        except FileNotFoundError:
            raise ApexplorerError(f"the limits file {str(path)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ApexplorerError(f"the limits file {str(path)!r} cannot be read: {e}") from None
        except tomllib.TOMLDecodeError as e:
            raise ApexplorerError(f"the limits file {str(path)!r} is not valid TOML: {e}") from None
        return cls.from_dict(data, where=f"the limits file {p.name!r}")

    @classmethod
    def from_dict(cls, data: dict, where: str = "the limits") -> "Limits":
        keys = [f.name for f in dataclasses.fields(cls)]
        bad = [k for k in data if k not in keys]
        if bad:
            raise ApexplorerError(f"{where}: unknown key {bad[0]!r}; the keys are {', '.join(keys)}")
        return cls(**data)

    @classmethod
    def parser(cls) -> argparse.ArgumentParser:
        """The limits' own options (``--limits FILE`` and one flag per limit)."""
        p = argparse.ArgumentParser(add_help=False)
        p.add_argument("--limits", default=None, metavar="FILE",
                       help="a TOML file of the limits (keys: " + ", ".join(cls.FLAGS) + "); flags win over it")
        helps = {"neurons": "most neurons per network", "seeds": "most seeds (ensemble members)",
                 "epochs": "most epochs of one run", "trainings": "most trainings at once (the rest wait in line)",
                 "idle_minutes": "minutes a session lives after its page closed",
                 "upload_mb": "the largest file a visitor may upload, in MB (default 512)"}
        for name, flag in cls.FLAGS.items():
            p.add_argument(flag, dest=f"limit_{name}", default=None, metavar="N", help=helps[name])
        return p

    @classmethod
    def from_args(cls, argv=None, environ=None) -> "Limits":
        """The limits that ``argv`` names (``--limits FILE`` and the flags), else ``$APEXPLORER_LIMITS``
        and ``$APEXPLORER_MAX_UPLOAD_MB``; raises ApexplorerError naming a bad value."""
        args, _ = cls.parser().parse_known_args(list(argv or []))
        env = os.environ if environ is None else environ
        path = args.limits or env.get(ENV)
        base = cls.load(path) if path else cls()
        changes = {}
        for name, flag in cls.FLAGS.items():
            text = getattr(args, f"limit_{name}")
            if text is None and name == "upload_mb":
                text = env.get("APEXPLORER_MAX_UPLOAD_MB") if not (path and "upload_mb" in _keys(path)) else None
            if text is None:
                continue
            try:
                changes[name] = float(text) if name in ("idle_minutes", "upload_mb") else int(text)
            except ValueError:
                raise ApexplorerError(f"{flag} {text!r} must be a positive number") from None
        return dataclasses.replace(base, **changes) if changes else base

    def to_args(self) -> list:
        """These limits as flags (what ``apexplorer serve`` hands each session)."""
        out = []
        for name, flag in self.FLAGS.items():
            v = getattr(self, name)
            if v is not None:
                out += [flag, f"{v:g}" if isinstance(v, float) else str(v)]
        return out

    @property
    def upload_bytes(self) -> int:
        return int(self.upload_mb * 1_000_000)

    # ------------------------------------------------------------ refusing
    def refusal(self, exp, wiring=None) -> str:
        """Why ``exp`` (on ``wiring``, default its own) is over a limit ('' when it is not): the value, the limit
        and who sets it."""
        if self.seeds is not None and exp.train.seeds > self.seeds:
            return (f"seeds {exp.train.seeds}: this server trains at most {self.seeds} seeds at once; "
                    f"{WHO} (seeds = {self.seeds})")
        if self.epochs is not None:
            epochs = max([exp.train.epochs, *[getattr(s, "epochs", None) or 0 for s in exp.tasks.values()]])
            if epochs > self.epochs:
                return (f"epochs {epochs}: this server trains at most {self.epochs} epochs per run; "
                        f"{WHO} (epochs = {self.epochs})")
        if self.neurons is not None and wiring is not None:
            n = sum(int(m.size) for m in wiring.modules)
            if n > self.neurons:
                return (f"this network has {n} neurons: this server builds networks of at most {self.neurons} "
                        f"neurons; {WHO} (neurons = {self.neurons})")
        return ""

    def queue_text(self, place: int) -> str:
        return (f"waiting to train: {ordinal(place)} in line (this server trains at most {self.trainings} "
                f"networks at once; {WHO}); it starts when one ends")


def _keys(path) -> set:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        return set(tomllib.loads(Path(path).read_text()))
    except Exception:  # noqa: BLE001 - Limits.load says what is wrong with it
        return set()


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class TrainingSlots:
    """The server's trainings at once: at most ``most`` sessions hold a slot; the others wait in line, in order.

    A session asks with :meth:`ask` (True: it may train now); a waiting one calls :meth:`turn` on its
    own event loop until it is its turn; a session whose training ended (paused, finished, closed)
    calls :meth:`release`.  Thread-safe: every session of the server shares one.
    """

    def __init__(self, most: int):
        self.most = int(most)
        self._lock = threading.Lock()
        self._holding: set = set()
        self._line: list = []

    def ask(self, who) -> bool:
        with self._lock:
            if who in self._holding:
                return True
            if not self._line and len(self._holding) < self.most:
                self._holding.add(who)
                return True
            if who not in self._line:
                self._line.append(who)
            return False

    def turn(self, who) -> bool:
        """True once ``who``, waiting in line, holds a slot (it is first in line and one is free)."""
        with self._lock:
            if who in self._holding:
                return True
            if self._line and self._line[0] is who and len(self._holding) < self.most:
                self._line.pop(0)
                self._holding.add(who)
                return True
            return False

    def place(self, who) -> int:
        """``who``'s place in line (1: next), 0 when it is not waiting."""
        with self._lock:
            return self._line.index(who) + 1 if who in self._line else 0

    def holds(self, who) -> bool:
        with self._lock:
            return who in self._holding

    def release(self, who) -> None:
        """``who`` trains no longer, or waits no longer."""
        with self._lock:
            self._holding.discard(who)
            if who in self._line:
                self._line.remove(who)

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._holding)

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._line)


_SLOTS: dict = {}
_SLOTS_LOCK = threading.Lock()


def server_slots(most: int) -> TrainingSlots:
    """The server process's one line of trainings (made at its first session, with its ``most``)."""
    with _SLOTS_LOCK:
        if most not in _SLOTS:
            _SLOTS[most] = TrainingSlots(most)
        return _SLOTS[most]


__all__ = ["ENV", "Limits", "TrainingSlots", "ordinal", "server_slots"]
