"""2AFC psychophysics of a trained network (Appendix 2): accuracy against pixel
noise and the psychometric curve against tilt.

Both draw fresh images with :func:`apexplorer.data.gabor` (the same tilted
bands as :func:`apexplorer.data.make_2afc`), so they probe the network on tilts
and noise levels it was not trained on.  Class 1 is "right" (positive tilt).
Nothing here changes the network.

The psychometric curve is the network's mean *output* for "right" at each
tilt: "the output of the model between 0 and 1 maps the model's confidence in
left or right tilting" (Appendix 2; ``AP_gabor_2afc.ipynb``'s
``psychometric_curve`` averages the output too).  The fraction of argmax
choices is given beside it.  The paper trains one model per noise level
(``tasks.NAME.noise`` of an experiment) and draws each model's curve at its own
noise level.
"""

from __future__ import annotations

import numpy as np
import torch

from .data import NOISE_LEVELS, gabor, make_2afc
from .errors import ApexplorerError
from .network import Network
from .wiring import Task

#: Appendix 2: 25 tilts from -12 to 12 degrees, 100 samples each.
TILTS = tuple(np.linspace(-12.0, 12.0, 25))


def _task(net: Network, task) -> Task:
    return task if isinstance(task, Task) else net.wiring.task(task)


@torch.no_grad()
def output_right(net: Network, x, task: str | Task | None = None) -> np.ndarray:
    """The network's output for "right" (the softmax probability of class 1) for each image.

    Parameters
    ----------
    x : Tensor or ndarray (n, n_in)

    Returns
    -------
    ndarray (n,) in [0, 1]
    """
    t = _task(net, task)
    if net.members is not None:
        raise ApexplorerError("psychophysics takes one network; pick a member with analysis.member(net, k)")
    x = torch.as_tensor(np.asarray(x), dtype=torch.float32).to(net.device)
    probs = net.forward({t.input: x}, net.plan(t))[t.output]
    return probs[:, 1].double().cpu().numpy()


def p_right(net: Network, x, task: str | Task | None = None) -> np.ndarray:
    """The network's choice for each image: 1.0 where it answers "right" (class 1 is the argmax), else 0.0.

    Parameters
    ----------
    x : Tensor or ndarray (n, n_in)

    Returns
    -------
    ndarray (n,) of 0.0 / 1.0
    """
    return (output_right(net, x, task) > 0.5).astype(np.float64)


def accuracy_by_noise(net: Network, levels=NOISE_LEVELS, n: int = 400, tilt: float = 6.0, jitter: float = 0.5,
                      seed: int = 1, task: str | Task | None = None) -> dict:
    """Test accuracy at each pixel-noise level (Appendix 2, accuracy against noise).

    Parameters
    ----------
    levels : sequence of float
        Pixel-noise standard deviations s.
    n : int
        Images per level, half tilted left (-tilt), half right (+tilt), with N(0, jitter) jitter.

    Returns
    -------
    dict with ``noise`` (k,) and ``accuracy`` (k,) as lists of float, and ``n``.
    """
    if n < 1:
        raise ApexplorerError(f"n = {n!r}: give at least one image per noise level")
    accs = []
    side = int(round(np.sqrt(next(p.size for p in net.wiring.inputs if p.name == _task(net, task).input))))
    for i, s in enumerate(levels):
        x, y, _ = make_2afc(n, noise=float(s), tilt=tilt, jitter=jitter, seed=seed + i, size=side)
        accs.append(float((p_right(net, x, task) == y.numpy()).mean()))
    return {"noise": [float(s) for s in levels], "accuracy": accs, "n": int(n)}


def psychometric_curve(net: Network, tilts=TILTS, n: int = 100, noise: float = 0.0, seed: int = 2,
                       task: str | Task | None = None) -> dict:
    """The mean output for "right" at each tilt (Appendix 2's psychometric curve).

    Parameters
    ----------
    tilts : sequence of float
        Tilts in degrees (default 25 from -12 to 12).
    n : int
        Images per tilt (default 100), each with fresh N(0, noise^2) pixel noise, clipped to [-1, 1].

    Returns
    -------
    dict with, as lists over the k tilts: ``tilt``, ``p_right`` (the mean output for "right", the paper's
    curve), ``sem`` (its standard error over the n images) and ``choice`` (the fraction of images whose
    argmax is "right"); and ``n``, ``noise``.
    """
    if n < 1:
        raise ApexplorerError(f"n = {n!r}: give at least one image per tilt")
    t = _task(net, task)
    side = int(round(np.sqrt(next(p.size for p in net.wiring.inputs if p.name == t.input))))
    rng = np.random.default_rng(seed)
    mean, sem, choice = [], [], []
    for tilt in tilts:
        img = np.repeat(gabor(float(tilt), side), n, axis=0) + rng.normal(size=(n, side, side)) * noise
        img = np.clip(img, -1, 1).reshape(n, -1).astype(np.float32)
        out = output_right(net, img, t)
        mean.append(float(out.mean()))
        sem.append(float(out.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0)
        choice.append(float((out > 0.5).mean()))
    return {"tilt": [float(v) for v in tilts], "p_right": mean, "sem": sem, "choice": choice, "n": int(n),
            "noise": float(noise)}
