"""Analyses of AP runs as plain functions on tensors and arrays (no Panel).

* :mod:`.trajectories`: phase trajectories, STE/EPE vectors, PCA (Fig. 3).
* :mod:`.errors`: mean |e| per SI neuron and module, over training (Appendix 3).
* :mod:`.lyapunov`: MLE / FTMLE of reservoirs, spectral-radius sweep (Fig. 2c).
* :mod:`.alignment`: AP update vs true gradient, feedback vs feedforward angles.
* :mod:`.stats`: mean ± sd over seeds (:func:`~.stats.mean_sd`).

They take one network; :func:`member` picks one member of an ensemble.
"""

from ._common import member
from .alignment import (
    alignment, cosine, feedback_angles, sign_agreement, task_alignment, true_gradients, update_alignment,
)
from .errors import ErrorHistory, ErrorMeter, error_magnitudes, member_errors, si_slices
from .lyapunov import ftmle, lyapunov_exponents, mle, network_ftmle, spectral_radius_sweep
from .trajectories import (
    EPETrajectory, PCATrajectory, epe_trajectory, epe_vectors, pca_trajectory, phase_trajectories, ste_vectors,
)

__all__ = [
    "EPETrajectory", "ErrorHistory", "ErrorMeter", "PCATrajectory", "alignment", "cosine", "epe_trajectory",
    "epe_vectors", "error_magnitudes", "feedback_angles", "ftmle", "lyapunov_exponents", "member", "member_errors",
    "mle", "network_ftmle", "pca_trajectory", "phase_trajectories", "si_slices", "sign_agreement", "spectral_radius_sweep",
    "ste_vectors", "task_alignment", "true_gradients", "update_alignment",
]
