"""``apexplorer serve`` and ``apexplorer lessons`` (issue 30): the app and the notebooks ship in the wheel, so a
pip-installed user with no clone serves the explorer; the operator's limits are read from a file or flags, and a
mistake in them is a message, not a traceback."""

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from apexplorer.app.limits import Limits, TrainingSlots, ordinal
from apexplorer.cli import main
from apexplorer.errors import ApexplorerError
from tests.app.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


def _get(url, timeout=60):
    start = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        r.read()
        return r.status, time.monotonic() - start


@pytest.mark.slow
def test_the_wheel_serves_the_explorer_from_an_empty_folder_and_copies_the_lessons(tmp_path):
    """Build the wheel, install it with --no-deps into a fresh venv that sees the test venv's packages, and run
    ``apexplorer serve`` from an empty folder: HTTP 200, the first visitor as fast as the next (warmed at start)."""
    src = tmp_path / "src"  # only what the wheel is made of: the worktree is left untouched
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("apexplorer", "notebooks"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path / "dist"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "APEXPLORER_FILES", "APEXPLORER_LIMITS")}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(src)], check=True, env=env, capture_output=True, timeout=120)
    wheel = next(dist.glob("apexplorer-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "apexplorer/app/served/explorer.py" in names
    assert "apexplorer/notebooks/01_adjoint_error_flow.ipynb" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    py = venv / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True,
                          capture_output=True, text=True).stdout.strip()
    Path(site, "test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # torch, panel, pip, ...
    subprocess.run([py, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, env=env,
                   capture_output=True, timeout=120)
    empty = tmp_path / "empty"
    empty.mkdir()
    where = subprocess.run([py, "-c", "import apexplorer; print(apexplorer.__file__)"], cwd=empty, env=env,
                           check=True, capture_output=True, text=True).stdout
    assert where.startswith(site), where  # the wheel's copy, not the repository's

    lessons = subprocess.run([venv / "bin" / "apexplorer", "lessons", "lessons"], cwd=empty, env=env,
                             capture_output=True, text=True, timeout=60)
    assert lessons.returncode == 0, lessons.stderr
    assert sorted(p.name for p in (empty / "lessons").glob("*.ipynb")) == \
        sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([venv / "bin" / "apexplorer", "serve", "--port", str(port), "--address", "127.0.0.1",
                                 "--allow-websocket-origin", f"127.0.0.1:{port}"], cwd=empty, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < end, log.read_text()
                time.sleep(0.25)
        url = f"http://127.0.0.1:{port}/explorer"
        status, first = _get(url)
        assert status == 200
        later = sorted(_get(url)[1] for _ in range(3))[1]
        # warmed at start: the first visitor does not pay for the imports (cold, it waited 3x the next ones)
        assert first <= 1.6 * later + 0.5, f"the first visitor waited {first:.2f} s, later ones {later:.2f} s"
    finally:
        proc.terminate()
        proc.wait(20)
    text = log.read_text()
    assert "Traceback" not in text and "ERROR" not in text, text
    assert list(empty.iterdir()) == [empty / "lessons"]  # serving wrote nothing into the visitor's folder


def test_serve_refuses_bad_limits_and_options_with_a_message(tmp_path, capsys):
    bad = tmp_path / "classroom.toml"
    bad.write_text("seeds = 4\nneuron = 100\n")
    cases = [
        (["serve", "--limits", str(bad)], "unknown key 'neuron'; the keys are neurons, seeds, epochs, trainings"),
        (["serve", "--limits", str(tmp_path / "none.toml")], "none.toml' does not exist"),
        (["serve", "--max-seeds", "0"], "limit seeds = 0 must be a positive whole number"),
        (["serve", "--max-epochs", "many"], "--max-epochs 'many' must be a positive number"),
        (["serve", "--files", str(tmp_path / "nowhere")], "is not a folder"),
        (["serve", "--port", "5006", "github"], "options of panel serve go after --"),
    ]
    bad2 = tmp_path / "broken.toml"
    bad2.write_text("seeds = [\n")
    cases.append((["serve", "--limits", str(bad2)], "is not valid TOML"))
    for argv, needle in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err, (argv, err)
    with pytest.raises(SystemExit) as e:  # argparse's own exit for an option it does not know
        main(["serve", "--oauth-provider", "github"])
    assert e.value.code == 2
    assert "options of panel serve go after --, e.g. apexplorer serve -- --oauth-provider" in capsys.readouterr().err


def test_lessons_copy_the_notebooks_and_keep_a_visitors_own(tmp_path, capsys):
    assert main(["lessons", str(tmp_path / "les")]) == 0
    names = sorted(p.name for p in (tmp_path / "les").glob("*.ipynb"))
    assert names == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")) and len(names) >= 6
    (tmp_path / "les" / names[0]).write_text("mine")
    assert main(["lessons", str(tmp_path / "les")]) == 2
    assert "nothing was copied" in capsys.readouterr().err
    assert (tmp_path / "les" / names[0]).read_text() == "mine"
    assert main(["lessons", str(tmp_path / "les"), "--force"]) == 0
    assert (tmp_path / "les" / names[0]).read_text() != "mine"


def test_limits_from_a_file_and_flags(tmp_path):
    f = tmp_path / "classroom.toml"
    f.write_text("neurons = 4096\nseeds = 4\nepochs = 50\ntrainings = 8\nidle_minutes = 20\nupload_mb = 50\n")
    lim = Limits.from_args(["--limits", str(f), "--max-seeds", "2"], environ={})
    assert (lim.neurons, lim.seeds, lim.epochs, lim.trainings, lim.idle_minutes, lim.upload_bytes) == \
        (4096, 2, 50, 8, 20.0, 50_000_000)
    assert Limits.from_args(lim.to_args(), environ={}) == lim
    default = Limits.from_args([], environ={"APEXPLORER_MAX_UPLOAD_MB": "20"})
    assert default.upload_bytes == 20_000_000 and default.seeds is None and default.trainings >= 2
    with pytest.raises(ApexplorerError, match="limit trainings = 1.5 must be a positive whole number"):
        Limits(trainings=1.5)


def test_the_line_of_trainings_keeps_its_order():
    slots, a, b, c, d = TrainingSlots(2), object(), object(), object(), object()
    assert slots.ask(a) and slots.ask(b)
    assert not slots.ask(c) and not slots.ask(d)
    assert (slots.place(c), slots.place(d)) == (1, 2)
    assert not slots.turn(d) and not slots.turn(c)  # nobody ended yet
    slots.release(a)
    assert not slots.turn(d) and slots.turn(c)  # c was first in line
    assert slots.place(d) == 1 and slots.running == 2
    slots.release(d)  # d left the line
    assert slots.waiting == 0
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]


def test_serve_hands_panel_the_operators_options(tmp_path):
    from apexplorer.app.serve import LOGIN, SCRIPT, panel_args
    from apexplorer.cli import make_parser

    args = make_parser().parse_args(["serve", "--port", "7000", "--files", str(tmp_path), "--max-seeds", "3",
                                     "--idle-minutes", "2", "--basic-auth", "pw", "--presenter", "--",
                                     "--cookie-secret", "c"])
    args.panel = args.panel[1:]
    args.limits_parsed = Limits.from_args(["--max-seeds", "3", "--idle-minutes", "2"], environ={})
    out = panel_args(args)
    assert out[:2] == ["serve", str(SCRIPT)] and "--warm" in out and SCRIPT.is_file() and LOGIN.is_file()
    assert out[out.index("--unused-session-lifetime") + 1] == "120000"  # 2 minutes after the page closed
    assert out[out.index("--basic-login-template") + 1] == str(LOGIN)
    script = out[out.index("--args") + 1:]
    assert script[script.index("--max-seeds") + 1] == "3" and "--presenter" in script
    assert script[script.index("--files") + 1] == str(tmp_path.resolve())
    assert out[out.index("--cookie-secret") + 1] == "c" and out.index("--cookie-secret") < out.index("--args")
