"""Backpropagation (BP) and feedback alignment (FA) on a fully connected network (Table 1).

The network is ``x -> h1 -> ... -> hL -> y`` with ``h_l = f(h_{l-1} W_l + b_l)``
and a softmax readout; the paper's baselines use 1 or 3 hidden layers of 256.
Both rules share the forward pass and the backward recursion

.. math::

    \\delta_{L+1} = (o - \\hat y) / B, \\qquad
    \\delta_l = (\\delta_{l+1} M_{l+1}) \\odot f'(h_l), \\qquad
    \\Delta W_l = h_{l-1}^T \\delta_l, \\quad \\Delta b_l = \\textstyle\\sum_b \\delta_l

and differ only in ``M``: BP uses the transposed forward weight ``W^T``
(the gradient of the mean cross-entropy), FA a fixed random matrix
``B`` of the same shape (Lillicrap et al. 2016).  With ``B = W^T`` FA is BP.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ..dynamics import DERIVATIVES
from ..errors import ApexplorerError, choices
from ..learner import BatchResult, cross_entropy, n_correct

_FUNCS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda x: x}


class Layered:
    """Layer names and sizes of a config with ``n_in``, ``hidden`` and ``n_out`` (MLP and EP)."""

    link = "->"  # between the two layers in a weight's name

    @property
    def layers(self) -> tuple:
        """Layer names ``x, h1, ..., hL, y``."""
        return ("x",) + tuple(f"h{i}" for i in range(1, len(self.hidden) + 1)) + ("y",)

    @property
    def sizes(self) -> tuple:
        return (self.n_in,) + self.hidden + (self.n_out,)

    def path(self, l: int) -> str:
        """Name of the weight into layer ``l`` (1-based), e.g. ``x->h1``."""
        return f"{self.layers[l - 1]}{self.link}{self.layers[l]}"


@dataclass(frozen=True)
class MLPConfig(Layered):
    """A fully connected network: sizes, activation and the seed of its tensors.

    n_in, n_out : input features and classes.
    hidden : hidden layer sizes (Table 1: ``(256,)`` or ``(256, 256, 256)``).
    activation : ``tanh`` (default), ``relu``, ``sigmoid`` or ``linear``.
    """

    n_in: int
    n_out: int
    hidden: tuple = (256,)
    activation: str = "tanh"
    seed: int = 0

    def validate(self) -> "MLPConfig":
        object.__setattr__(self, "hidden", tuple(self.hidden))
        for k, v in (("n_in", self.n_in), ("n_out", self.n_out)) + tuple(("hidden", h) for h in self.hidden):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ApexplorerError(f"{k} size {v!r} must be a positive integer")
        if not self.hidden:
            raise ApexplorerError("a BP/FA network needs at least one hidden layer")
        if self.activation not in _FUNCS:
            raise ApexplorerError(f"unknown activation {self.activation!r}; choices are {choices(_FUNCS)}")
        return self


def init_mlp(cfg: MLPConfig) -> dict:
    """Tensors from one seed: ``weights`` (learnable W and biases) and ``feedback`` (FA's fixed B).

    W_l ~ U(-1, 1)/sqrt(fan_in) (Nøkland 2016, as for AP), biases 0,
    B_l ~ U(-1, 1)/sqrt(fan_in of the backward pass) of shape W_l^T.
    """
    gen = torch.Generator().manual_seed(int(cfg.seed))
    uni = lambda shape, fan: ((torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) / fan**0.5).float()  # noqa: E731
    weights, feedback = {}, {}
    s = cfg.sizes
    for l in range(1, len(s)):
        weights[cfg.path(l)] = uni((s[l - 1], s[l]), s[l - 1])
        weights[f"{cfg.layers[l]}.bias"] = torch.zeros(s[l])
    for l in range(2, len(s)):  # no feedback into the input
        a, b = cfg.layers[l - 1], cfg.layers[l]
        feedback[f"{b}->{a}"] = uni((s[l], s[l - 1]), s[l])
    return {"weights": weights, "feedback": feedback}


class LayeredLearner:
    """What the layered baselines (MLP and EP) share: tensors on a device, one task, the optimiser step, state.

    Subclasses set ``kind``, ``config_class`` and ``init`` (a static method: the config's tensors,
    drawn from its seed).  They follow :class:`apexplorer.learner.Learner`; they have no wiring and
    no fused step, so the trainer guards them on the host.
    """

    members = None
    wiring = None
    net = None
    fused = False

    def __init__(self, config, optimizer, device="cpu", tensors=None):
        self.config = config.validate()
        self.optimizer = optimizer
        self._device = torch.device(device)
        tensors = tensors or self.init(self.config)
        self.tensors = {k: {n: t.to(self._device) for n, t in d.items()} for k, d in tensors.items()}
        self._pending = None

    @property
    def device(self):
        return self._device

    @property
    def params(self) -> dict:
        return self.tensors["weights"]

    def _check(self, tasks):
        if len(tasks) != 1:
            raise ApexplorerError(f"{self.kind} trains one task at a time; got {', '.join(t.name for t in tasks)}")

    def check_together(self, tasks) -> None:
        """A layered baseline has one input and one output: it never trains tasks together."""
        self._check(tasks)

    def train_step(self, batch: dict, tasks):
        raise NotImplementedError(f"{self.kind} has no fused step (its fused is False)")

    def set_guard(self, max_loss: float) -> None:
        """The host guards a layered baseline (see :class:`apexplorer.guard.DivergenceGuard`)."""

    def restore_last_good(self) -> None:
        """Nothing to restore on the device: the host guard keeps the last good state."""

    def apply(self) -> None:
        self.optimizer.step(self.params, self._pending)
        self._pending = None

    def state_dict(self) -> dict:
        return {"kind": self.kind, "config": asdict(self.config),
                "tensors": {k: {n: t.detach().cpu().clone() for n, t in d.items()} for k, d in self.tensors.items()}}

    @classmethod
    def from_state(cls, d: dict, device, optimizer):
        c = dict(d["config"])
        c["hidden"] = tuple(c["hidden"])
        return cls(cls.config_class(**c), optimizer, device, d["tensors"])

    @classmethod
    def tensor_shapes(cls, d: dict) -> dict:
        """{group: {name: shape}} that a saved state of this config must have."""
        c = dict(d["config"])
        c["hidden"] = tuple(c["hidden"])
        drawn = cls.init(cls.config_class(**c).validate())
        return {g: {n: tuple(t.shape) for n, t in ts.items()} for g, ts in drawn.items()}


class MLPLearner(LayeredLearner):
    """A fully connected network trained by BP or FA; the learner interface of :mod:`apexplorer.learner`.

    Parameters
    ----------
    config : MLPConfig
    optimizer : an :mod:`apexplorer.optim` optimiser
    device : str or torch.device
    tensors : dict, optional
        ``{"weights": ..., "feedback": ...}`` (default: drawn from ``config.seed``).
    """

    kind = "mlp"
    config_class = MLPConfig
    init = staticmethod(init_mlp)

    @property
    def feedback(self) -> dict:
        return self.tensors["feedback"]

    # ------------------------------------------------------------- maths
    def forward(self, x: torch.Tensor) -> list:
        """Activities ``[x, h1, ..., hL, logits]``: (B, n_l) each."""
        cfg, W = self.config, self.params
        f = _FUNCS[cfg.activation]
        acts = [x]
        n = len(cfg.sizes) - 1
        for l in range(1, n + 1):
            s = torch.addmm(W[f"{cfg.layers[l]}.bias"], acts[-1], W[cfg.path(l)])
            acts.append(f(s) if l < n else s)
        return acts

    def backward_matrix(self, l: int) -> torch.Tensor:
        """The matrix that carries the error from layer ``l`` down to ``l - 1`` (BP: W_l^T)."""
        raise NotImplementedError

    @torch.no_grad()
    def updates(self, x: torch.Tensor, y: torch.Tensor):
        """(updates {param: dA}, output probabilities, {layer: delta}) for one batch.

        ``dA`` is the descent direction the optimiser applies (``A <- A - lr dA``).
        """
        cfg = self.config
        acts = self.forward(x)
        probs = torch.softmax(acts[-1], dim=1)
        B = x.shape[0]
        df = DERIVATIVES[cfg.activation]
        delta = probs.clone()
        delta[torch.arange(B, device=delta.device), y] -= 1
        delta /= B
        n = len(cfg.sizes) - 1
        ups, deltas = {}, {"y": delta * B}
        for l in range(n, 0, -1):
            ups[cfg.path(l)] = acts[l - 1].t().mm(delta)
            ups[f"{cfg.layers[l]}.bias"] = delta.sum(0)
            if l > 1:
                delta = delta.mm(self.backward_matrix(l)) * df(acts[l - 1])
                deltas[cfg.layers[l - 1]] = delta * B
        return ups, probs, deltas

    # -------------------------------------------------- learner interface
    @torch.no_grad()
    def train_batch(self, batch: dict, tasks) -> BatchResult:
        self._check(tasks)
        t = tasks[0]
        x, y = batch[t.name]
        ups, probs, deltas = self.updates(x, y)
        self._pending = ups
        error = {k: v.abs().mean() for k, v in deltas.items()}
        return BatchResult({t.name: cross_entropy(probs, y)}, {t.name: n_correct(probs, y)}, error)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, task=None) -> torch.Tensor:
        return torch.softmax(self.forward(x)[-1], dim=1)

    def __repr__(self):
        return f"{type(self).__name__}({' -> '.join(map(str, self.config.sizes))}, {self.config.activation})"


class BPLearner(MLPLearner):
    """Backpropagation: the error goes down through the transposed forward weights."""

    kind = "bp"

    def backward_matrix(self, l: int) -> torch.Tensor:
        # contiguous, like FA's stored B: the same matmul kernel, so FA with B = W^T matches bit for bit
        return self.params[self.config.path(l)].t().contiguous()


class FALearner(MLPLearner):
    """Feedback alignment: the error goes down through fixed random weights ``B_l`` (never learned)."""

    kind = "fa"

    def backward_matrix(self, l: int) -> torch.Tensor:
        return self.feedback[f"{self.config.layers[l]}->{self.config.layers[l - 1]}"]
