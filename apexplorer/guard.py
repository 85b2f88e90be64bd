"""The divergence guard: a step whose loss is NaN, inf or above ``max_loss`` is not applied, and the
run goes back to the last good state and stops with a message.

On the host (the CPU, and any learner without a fused step) the guard checks
each step's losses before its update is applied, and keeps a copy of the
weights and optimiser state that gave the last good loss.  A fused learner
(AP on CUDA) checks on the device, skipping its optimiser step there; the
guard arms it and, after it tripped, has it put its own copy back.
"""

from __future__ import annotations

import math

from .events import StepResult


class DivergenceGuard:
    """Keeps the last good state of a learner and puts it back after a diverged step."""

    def __init__(self, max_loss: float):
        self.max_loss = float(max_loss)
        self._saved = None

    def arm(self, learner) -> None:
        """Before a run: a fused learner gets the threshold (and a tripped device guard is cleared)."""
        if learner.fused:
            learner.set_guard(self.max_loss)

    def ok(self, step: StepResult) -> bool:
        """Whether every loss of the step is finite and within ``max_loss``."""
        flat = [v for row in step.loss.values() for v in row]
        return all(math.isfinite(v) for v in flat) and max(flat) <= self.max_loss

    def remember(self, learner) -> None:
        """Keep the learner's weights and optimiser state (host guard: before a good step's update)."""
        opt = learner.optimizer
        opt.prepare(learner.params)  # moments exist (zero) before the first step, so they restore too
        state = opt.state_dict()
        state = {k: ({n: t.clone() for n, t in v.items()} if isinstance(v, dict) else v) for k, v in state.items()}
        self._saved = ({k: v.clone() for k, v in learner.params.items()}, state)

    def restore(self, learner) -> None:
        """Put back the last good state: the host copy, or the fused learner's own copy on the device."""
        if learner.fused:
            learner.restore_last_good()
            return
        if self._saved is None:
            return
        weights, state = self._saved
        for k, v in weights.items():
            learner.params[k].copy_(v)
        learner.optimizer.load_state_dict(state)

    def message(self, step: StepResult, epoch: int, batch: int) -> str:
        worst = step.worst_loss
        what = "NaN/inf" if not math.isfinite(worst) else f"{worst:.3g} (above {self.max_loss:.3g})"
        return (f"training diverged at epoch {epoch}, batch {batch}: loss is {what}. "
                "The last good weights were kept; try a smaller learning rate or spectral radius.")
