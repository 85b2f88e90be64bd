"""Training loop and its event stream.

:meth:`Trainer.train` is a generator of events: one :class:`BatchEvent` per
batch, one :class:`EpochEvent` per epoch and a final :class:`StopEvent`.  The
CLI, the app and notebooks consume this same stream.  ``pause``, ``resume``
and ``stop`` may be called from another thread; they take effect between
batches.  A diverged batch (NaN, inf or an exploding loss) restores the last
good state and stops with a message.  Checkpoints restore a run exactly.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass, field, replace

import torch

from . import checkpoint
from .data import Dataset
from .errors import ApexplorerError, choices
from .network import APConfig, Network
from .optim import OPTIMIZERS, make_optimizer
from .wiring import Wiring

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without it is a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, str) and device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ApexplorerError(f"device {device!r} asked for, but no CUDA GPU is available; use --device cpu or auto")
        return torch.device(device)
    if device == "cpu":
        return torch.device("cpu")
    raise ApexplorerError(f"unknown device {device!r}; choices are {choices(DEVICES)}")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run (the phases' settings live in APConfig)."""

    epochs: int = 10
    batch_size: int = 500
    lr: float = 1e-3
    optimizer: str = "adam"
    seed: int = 0
    device: str = "auto"
    early_stop: float = 0.9999
    max_loss: float | None = None  # divergence threshold; None: 15 x the chance-level loss ln(C)
    eval_batch_size: int = 2000

    def validate(self) -> "TrainConfig":
        for k in ("epochs", "batch_size", "eval_batch_size"):
            v = getattr(self, k)
            if not isinstance(v, int) or isinstance(v, bool) or v < (0 if k == "epochs" else 1):
                raise ApexplorerError(f"{k.replace('_', ' ')} {v!r} must be a positive integer")
        if self.optimizer not in OPTIMIZERS:
            raise ApexplorerError(f"unknown optimizer {self.optimizer!r}; choices are {choices(OPTIMIZERS)}")
        make_optimizer(self.optimizer, self.lr)
        resolve_device(self.device)
        return self


# ---------------------------------------------------------------------------
# events
# ---------------------------------------------------------------------------
@dataclass
class BatchEvent:
    """One training batch: its loss and accuracy (inference phase, before the update)."""

    epoch: int
    batch: int
    n_batches: int
    loss: float
    acc: float
    error: dict  # module or output -> mean |e|
    samples_per_s: float
    task: str
    kind: str = "batch"

    def to_dict(self):
        return asdict(self)


@dataclass
class EpochEvent:
    """One finished epoch. ``seconds`` is its training wall time (evaluation excluded)."""

    epoch: int
    epochs: int
    train_acc: float
    test_acc: float
    loss: float
    test_loss: float
    seconds: float
    samples_per_s: float
    error: dict
    tasks: dict = field(default_factory=dict)
    kind: str = "epoch"

    def to_dict(self):
        return asdict(self)


@dataclass
class StopEvent:
    """The end of a run: ``completed``, ``early_stop``, ``stopped`` or ``diverged``."""

    reason: str
    message: str
    epoch: int
    kind: str = "stop"

    def to_dict(self):
        return asdict(self)


# ---------------------------------------------------------------------------
# trainer
# ---------------------------------------------------------------------------
class Trainer:
    """Train a :class:`Network` with AP on one task's dataset.

    Parameters
    ----------
    network : Network
    data : Dataset
    config : TrainConfig
    task : str, optional
        Task name (default: the wiring's first task).
    """

    def __init__(self, network: Network, data: Dataset, config: TrainConfig = TrainConfig(), task=None):
        self.config = config.validate()
        self.net = network
        self.data = data
        self.task = network.wiring.task(task)
        self.plan = network.plan(self.task)
        w = network.wiring
        n_in = next(p.size for p in w.inputs if p.name == self.task.input)
        n_out = next(p.size for p in w.outputs if p.name == self.task.output)
        if data.n_features != n_in:
            raise ApexplorerError(
                f"input {self.task.input!r} has size {n_in}, but dataset {data.name!r} has {data.n_features} features"
            )
        if data.n_classes > n_out:
            raise ApexplorerError(
                f"output {self.task.output!r} has size {n_out}, but dataset {data.name!r} has {data.n_classes} classes"
            )
        dev = network.device
        self.x_train, self.y_train = data.x_train.to(dev), data.y_train.to(dev)
        self.x_test, self.y_test = data.x_test.to(dev), data.y_test.to(dev)
        n_cls = max(data.n_classes, 2)
        self.max_loss = self.config.max_loss if self.config.max_loss is not None else 15 * math.log(n_cls)
        self.opt = make_optimizer(self.config.optimizer, self.config.lr)
        self.gen = torch.Generator().manual_seed(int(self.config.seed) + 1)
        self.epoch = 0  # completed epochs
        self.position = 0  # batches done in the current epoch
        self.perm = None  # permutation of the current epoch
        self.history = []  # EpochEvent dicts
        self._acc = self._new_acc()
        self._pause = threading.Event()
        self._stop = threading.Event()
        self.stopped_reason = None
        if network.config.precision == "tf32":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

    @classmethod
    def create(cls, wiring: Wiring, data: Dataset, ap: APConfig = APConfig(), config: TrainConfig = TrainConfig(), task=None):
        """Build the network on the configured device and a trainer for it."""
        config = config.validate()
        net = Network(wiring, ap, seed=config.seed, device=resolve_device(config.device))
        return cls(net, data, config, task)

    # ------------------------------------------------------------- control
    def pause(self):
        self._pause.set()

    def resume(self):
        self._pause.clear()

    def stop(self):
        self._stop.set()
        self._pause.clear()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    @property
    def n_batches(self) -> int:
        return math.ceil(len(self.y_train) / self.config.batch_size)

    def _new_acc(self):
        return {"loss": 0.0, "correct": 0.0, "n": 0, "err": {}, "batches": 0, "seconds": 0.0}

    # ---------------------------------------------------------------- core
    def _sync(self):
        if self.net.device.type == "cuda":
            torch.cuda.synchronize(self.net.device)

    def _backup(self):
        self._saved = (
            {k: v.clone() for k, v in self.net.weights.items()},
            self.opt.state_dict() if self.opt.name == "sgd" else
            {**self.opt.state_dict(), "m": {k: v.clone() for k, v in self.opt.m.items()},
             "v": {k: v.clone() for k, v in self.opt.v.items()}, "t": dict(self.opt.t)},
        )

    def _restore(self):
        weights, opt = self._saved
        for k, v in weights.items():
            self.net.weights[k].copy_(v)
        self.opt.load_state_dict(opt)

    def step(self) -> BatchEvent | StopEvent:
        """Train on the next batch (starting a new epoch's permutation if needed)."""
        cfg = self.config
        if self.perm is None:
            self.perm = torch.randperm(len(self.y_train), generator=self.gen).to(self.net.device)
            self.position = 0
            self._acc = self._new_acc()
        t0 = time.perf_counter()
        idx = self.perm[self.position * cfg.batch_size : (self.position + 1) * cfg.batch_size]
        x, y = self.x_train[idx], self.y_train[idx]
        net, plan = self.net, self.plan
        p0 = net.inference(x, plan)
        probs = p0.probs[self.task.output]
        loss_t = -torch.log(probs.gather(1, y.view(-1, 1)).clamp_min(1e-30)).mean()
        correct_t = (probs.argmax(1) == y).sum()
        p1 = net.learning(p0, y, plan)
        err_t = {m: v.abs().mean() for m, v in p1.e.items()}
        err_t.update({o: v.abs().mean() for o, v in p1.e_out.items()})
        names = list(err_t)
        vals = torch.stack([loss_t, correct_t.float(), *err_t.values()]).tolist()  # the one host sync
        loss, correct = vals[0], vals[1]
        if not math.isfinite(loss) or loss > self.max_loss:
            if hasattr(self, "_saved"):
                self._restore()
            what = "NaN/inf" if not math.isfinite(loss) else f"{loss:.3g} (above {self.max_loss:.3g})"
            msg = (f"training diverged at epoch {self.epoch + 1}, batch {self.position + 1}: loss is {what}. "
                   "The last good weights were kept. Try a smaller learning rate (--lr) or spectral radius (--sr).")
            return self._finish("diverged", msg)
        self._backup()
        self.opt.step(net.weights, net.updates(p0, p1, plan))
        self._sync()
        dt = time.perf_counter() - t0
        B = len(y)
        a = self._acc
        a["loss"] += loss * B
        a["correct"] += correct
        a["n"] += B
        a["batches"] += 1
        a["seconds"] += dt
        err = dict(zip(names, vals[2:]))
        for k, v in err.items():
            a["err"][k] = a["err"].get(k, 0.0) + v
        self.position += 1
        ev = BatchEvent(self.epoch + 1, self.position, self.n_batches, loss, correct / B, err, B / max(dt, 1e-9),
                        self.task.name)
        return ev

    def _finish(self, reason, message):
        self.stopped_reason = reason
        return StopEvent(reason, message, self.epoch)

    def _end_epoch(self) -> EpochEvent:
        a = self._acc
        test_acc, test_loss = self.evaluate("test")
        self.epoch += 1
        self.perm = None
        self.position = 0
        ev = EpochEvent(
            epoch=self.epoch,
            epochs=self.config.epochs,
            train_acc=a["correct"] / max(a["n"], 1),
            test_acc=test_acc,
            loss=a["loss"] / max(a["n"], 1),
            test_loss=test_loss,
            seconds=a["seconds"],
            samples_per_s=a["n"] / max(a["seconds"], 1e-9),
            error={k: v / max(a["batches"], 1) for k, v in a["err"].items()},
            tasks={self.task.name: {"train_acc": a["correct"] / max(a["n"], 1), "test_acc": test_acc,
                                    "loss": a["loss"] / max(a["n"], 1)}},
        )
        self.history.append(ev.to_dict())
        return ev

    @torch.no_grad()
    def evaluate(self, split: str = "test") -> tuple:
        """(accuracy, mean cross-entropy) of the inference phase on ``split``."""
        x, y = (self.x_test, self.y_test) if split == "test" else (self.x_train, self.y_train)
        correct, loss = 0.0, 0.0
        bs = self.config.eval_batch_size
        for i in range(0, len(y), bs):
            p = self.net.inference(x[i : i + bs], self.plan).probs[self.task.output]
            yy = y[i : i + bs]
            correct += float((p.argmax(1) == yy).sum())
            loss += float(-torch.log(p.gather(1, yy.view(-1, 1)).clamp_min(1e-30)).sum())
        return correct / max(len(y), 1), loss / max(len(y), 1)

    def train(self, epochs: int | None = None, batch_events: bool = True):
        """Train up to ``epochs`` total epochs (default: the config's), yielding events.

        Ends with a StopEvent whose reason is ``completed``, ``early_stop``,
        ``stopped`` (``stop()`` was called) or ``diverged``.
        """
        epochs = self.config.epochs if epochs is None else epochs
        self._stop.clear()
        self.stopped_reason = None
        while self.epoch < epochs:
            while self.position < self.n_batches:
                while self._pause.is_set() and not self._stop.is_set():
                    time.sleep(0.02)
                if self._stop.is_set():
                    yield self._finish("stopped", f"stopped at epoch {self.epoch + 1}, batch {self.position + 1}")
                    return
                ev = self.step()
                if isinstance(ev, StopEvent):
                    yield ev
                    return
                if batch_events:
                    yield ev
            ev = self._end_epoch()
            yield ev
            if ev.train_acc >= self.config.early_stop:
                yield self._finish("early_stop", f"train accuracy {ev.train_acc:.4%} reached {self.config.early_stop:.2%}")
                return
        yield self._finish("completed", f"trained {self.epoch} epochs")

    def run(self, epochs: int | None = None) -> list:
        """Train and return the epoch events as dicts (a convenience for notebooks)."""
        out = []
        for ev in self.train(epochs, batch_events=False):
            if isinstance(ev, EpochEvent):
                out.append(ev.to_dict())
            elif ev.reason == "diverged":
                raise ApexplorerError(ev.message)
        return out

    # --------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """Everything needed to continue exactly: wiring, settings, tensors, optimiser, RNG, position."""
        cpu = lambda d: {k: v.detach().cpu().clone() for k, v in d.items()}  # noqa: E731
        opt = self.opt.state_dict()
        if self.opt.name == "adam":
            opt = {**opt, "m": cpu(opt["m"]), "v": cpu(opt["v"]), "betas": list(opt["betas"])}
        return {
            "wiring": self.net.wiring.to_dict(),
            "ap_config": asdict(self.net.config),
            "train_config": asdict(self.config),
            "seed": self.net.seed,
            "task": self.task.name,
            "dataset": self.data.name,
            "tensors": {k: cpu(d) for k, d in self.net.tensors.items()},
            "optimizer": opt,
            "rng": self.gen.get_state(),
            "epoch": self.epoch,
            "position": self.position,
            "perm": None if self.perm is None else self.perm.cpu(),
            "acc": {k: v for k, v in self._acc.items()},
            "history": list(self.history),
        }

    def save(self, path):
        """Write an atomic checkpoint to ``path``."""
        return checkpoint.save_atomic(self.state_dict(), path)

    @classmethod
    def load(cls, path, data: Dataset, device: str | None = None, **overrides) -> "Trainer":
        """Restore a trainer from a checkpoint; ``overrides`` change TrainConfig fields (e.g. epochs)."""
        st = checkpoint.load(path)
        if st["dataset"] != data.name:
            raise ApexplorerError(f"checkpoint {str(path)!r} was trained on {st['dataset']!r}, not {data.name!r}")
        wiring = Wiring.from_dict(st["wiring"], warn=False)
        ap = APConfig(**st["ap_config"])
        cfg = replace(TrainConfig(**st["train_config"]), **overrides)
        if device is not None:
            cfg = replace(cfg, device=device)
        net = Network(wiring, ap, seed=st["seed"], device=resolve_device(cfg.device), tensors=st["tensors"])
        tr = cls(net, data, cfg, st["task"])
        tr.opt.load_state_dict(st["optimizer"], device=net.device)
        tr.gen.set_state(st["rng"])
        tr.epoch, tr.position = st["epoch"], st["position"]
        tr.perm = None if st["perm"] is None else st["perm"].to(net.device)
        tr._acc = dict(st["acc"])
        tr.history = list(st["history"])
        return tr
