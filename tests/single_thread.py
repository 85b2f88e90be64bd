"""An autouse fixture for test modules of tiny tensors: run torch on one thread.

On a busy 2-core machine, torch's two OpenMP threads spin-wait on each other
for every small op; the analysis and baseline tests ran 10-50x slower that way.
Import it into a test module: ``from tests.single_thread import one_thread  # noqa: F401``.
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
