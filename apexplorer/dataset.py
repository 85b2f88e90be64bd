"""A dataset in memory: train and test tensors, its classes, and where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .errors import DataError


@dataclass
class Dataset:
    """Train and test tensors: x float32 (n, features), y int64 (n,)."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int
    shape: tuple = ()
    classes: list = field(default_factory=list)
    files: tuple = ()  # the files it was read from (none: embedded or generated)
    #: a generated dataset's fresh-sample mode: ``resample(seed, epoch)`` is that epoch's new draw (train and test)
    resample: object = None
    #: user data (:mod:`~apexplorer.userdata`): ``(offset, scale, how)``, the inputs are ``(raw - offset) / scale``
    scaling: tuple | None = None
    #: a file's SHA-256, recorded with a run so that a rerun on changed data says so
    sha256: str | None = None

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    def __repr__(self):
        return (f"Dataset({self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
                f"features={self.n_features}, classes={self.n_classes})")

    def subset(self, train: int | None = None, test: int | None = None, seed: int = 0) -> "Dataset":
        """The first ``train`` / ``test`` samples of a fixed shuffle of each split (None: all of it).

        The shuffle depends only on ``seed``, not on a run's seed, so every run of an
        experiment sees the same subset; asking for more than there is is an error.
        """
        parts = []
        for split, n, x, y in (("train", train, self.x_train, self.y_train), ("test", test, self.x_test, self.y_test)):
            if n is None or n == len(y):
                parts += [x, y]
                continue
            if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= len(y):
                raise DataError(f"{self.name}: a {split} subset of {n!r} samples; it has {len(y)} "
                                f"(give 1 to {len(y)})")
            idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed + (split == "test")))[:n]
            idx = idx.sort().values
            parts += [x[idx], y[idx]]
        return Dataset(self.name, *parts, self.n_classes, self.shape, self.classes, self.files,
                       scaling=self.scaling, sha256=self.sha256)

    def to_inputs(self, raw) -> torch.Tensor:
        """Raw features (as in the file, or a toy task's plane) to the network's inputs, scaled as the data were."""
        raw = torch.as_tensor(raw, dtype=torch.float32)
        if self.scaling is None:
            return raw
        return (raw - self.scaling[0]) / self.scaling[1]

    def raw(self, split: str = "train") -> torch.Tensor:
        """A split's features unscaled: as in the file (the inverse of :meth:`to_inputs`)."""
        x = self.x_train if split == "train" else self.x_test
        return x if self.scaling is None else x * self.scaling[1] + self.scaling[0]
