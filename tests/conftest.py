"""Shared fixtures: tiny wirings and datasets, a fixed seed.

How to check that a new test can fail
-------------------------------------
A test is worth having only if it fails when the code it covers is wrong.  Before committing one:

1. Plant the mistake the test is meant to catch, one at a time, in the source (a flipped sign or
   comparison, a dropped term, an argument ignored, an off-by-one), run the test and see it FAIL; then put
   the source back.  ``python -m tests.plant FILE OLD NEW TESTS...`` does the three steps: it replaces OLD
   (which must occur once) by NEW, runs pytest on TESTS and restores the file byte for byte; exit status 0
   means caught, 1 not caught.  Commit your work first if you edit by hand and restore with ``git checkout``.
2. Use values that let the mistake show.  The defaults hide code: module biases are zero, there is one
   task, one seed, one batch size that divides the data, the Gaussian init's default stds, a wiring
   whose modules share one connection rate, beta = 1.  A bias that never reaches the drive, a smaller
   task's last batch or a per-module setting read from the wrong module all pass on defaults.  Give the
   test nonzero biases, 80 samples in batches of 24, two or three tasks with their own sizes, two seeds.
3. Check values, not side effects: a test that passes only because a warning is an error, or because a
   cosine happens to be 0 on a tiny network, catches the mistake by accident.  Compare with a hand
   computation, or assert the exact quantity (an update that is exactly zero, weights bit for bit).
4. Give each yes/no function a case where the answer is yes and one where it is no (see
   test_paper_checks.py): a function that always says yes passes every "holds" case.
"""

import numpy as np
import pytest
import torch

from apexplorer import Dataset, Module, Path, Port, Wiring, chain


@pytest.fixture
def seed():
    return 1234


@pytest.fixture
def tiny_wiring():
    """x(3) -> L1(8: RI 2, SI 2, RE 2, SE 2) -> L2(8) -> y(2), with error paths back."""
    blocks = {"RI": 2, "SI": 2, "RE": 2, "SE": 2}
    return chain([8, 8], 3, 2, blocks=blocks, spectral_radius=0.5, connection_rate=0.5, name="tiny")


@pytest.fixture
def tiny_data():
    """A linearly separable 3-feature, 2-class problem."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(120, 3, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0.75).long()
    return Dataset("tiny", x[:80], y[:80], x[80:], y[80:], 2, (3,), ["a", "b"])


def make_blob_data(n_features=16, n_classes=3, n=300, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_classes, n_features)) * 2
    y = rng.integers(0, n_classes, n)
    x = centers[y] + rng.normal(size=(n, n_features))
    x = (x - x.min()) / (x.max() - x.min())
    x = torch.tensor(x, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.long)
    k = int(n * 0.8)
    return Dataset("blobs", x[:k], y[:k], x[k:], y[k:], n_classes, (n_features,), [str(i) for i in range(n_classes)])


@pytest.fixture
def blob_data():
    return make_blob_data()


def need_fashion_mnist():
    """Skip unless Debian's dataset-fashion-mnist is installed (CI installs it)."""
    from apexplorer.data import load_dataset
    from apexplorer.errors import DataError

    try:
        load_dataset("fashion-mnist")
    except DataError:
        pytest.skip("Debian's dataset-fashion-mnist is not installed")


@pytest.fixture
def make_trainer():
    """A factory of small CPU trainers, the one way the tests build one:
    ``make_trainer(data, wiring=None, ap=None, **options)``.

    ``data`` is a Dataset or {task: Dataset} (then every task trains unless ``task`` says otherwise);
    ``wiring`` defaults to a chain of two modules of 32 neurons (blocks of 8) sized for one Dataset;
    ``ap`` is an APConfig or a dict of its fields.  Options named in ``CREATE`` go to Trainer.create, the
    others to the TrainConfig: epochs 2, batch size 16, lr 2e-2 on the CPU unless they say otherwise.
    """
    from apexplorer import APConfig, TrainConfig, Trainer

    def make(data, wiring=None, ap=None, **options):
        if wiring is None:
            wiring = chain([32, 32], data.n_features, data.n_classes, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8})
        ap = ap if isinstance(ap, APConfig) else APConfig(**(ap or {}))
        create = {k: options.pop(k) for k in CREATE if options.get(k) is not None}
        if isinstance(data, dict):
            create.setdefault("task", list(data))
        cfg = TrainConfig(**{"epochs": 2, "batch_size": 16, "lr": 2e-2, "device": "cpu", **options})
        return Trainer.create(wiring, data, ap, cfg, **create)

    return make


#: make_trainer's options that go to Trainer.create (the others are TrainConfig fields)
CREATE = ("task", "schedule", "seeds", "radii", "batch_sizes", "init")



#: Test files that are slow as a whole: ``pytest -m "not slow"`` (the quick loop while editing, see the README)
#: leaves them out, as it does every browser test and every test marked ``@pytest.mark.slow`` in its file.
SLOW_FILES = {
    # whole explorer pages driven server-side, or served: builds and trainings of the page's network
    "tests/app/test_app_experiment.py", "tests/app/test_app_views.py", "tests/app/test_app_server.py",
    # the apexplorer command in subprocesses (each imports torch), some with Dask workers
    "tests/test_cli.py", "tests/test_cli_runs.py", "tests/test_cli_no_lost_work.py", "tests/test_interrupt.py",
    # the paper's results run at a tiny scale; the fused kernel in Triton's CPU interpreter
    "tests/test_reproduce.py", "tests/test_kernels.py",
}
#: Single slow tests in files that are otherwise quick (Dask clusters, sweeps through the command).
SLOW_TESTS = {
    "tests/test_sweep.py::test_dask_workers_give_the_same_table_as_this_process",
    "tests/test_sweep.py::test_cli_prints_start_runs_and_done_then_a_rerun_does_nothing",
    "tests/test_sweep.py::test_cli_sweeps_an_experiment_file_over_dotted_keys",
    "tests/test_paper_fidelity.py::test_the_new_results_run_at_a_tiny_scale_and_draw_their_figures",
    # trains a real epoch, and only when the timed steps say it fits its budget (not on a busy machine)
    "tests/test_bench.py::test_bench_command_on_cpu_reports_an_epoch_and_its_accuracy_when_it_fits",
}


def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` every browser test and the tests of SLOW_FILES and SLOW_TESTS (a name in them that no longer
    exists is an error, so that a renamed test does not quietly join the quick loop)."""
    gone = sorted(f for f in SLOW_FILES if not (config.rootpath / f).is_file())
    seen = set()
    for item in items:
        where = item.nodeid.split("[")[0]
        seen.add(where)
        if (item.get_closest_marker("browser") is not None or where.split("::")[0] in SLOW_FILES
                or where in SLOW_TESTS):
            item.add_marker(pytest.mark.slow)
    files = {w.split("::")[0] for w in seen}
    gone += sorted(t for t in SLOW_TESTS if t.split("::")[0] in files and t not in seen)
    if gone:
        raise pytest.UsageError(f"tests/conftest.py names slow tests that do not exist: {', '.join(gone)}")
