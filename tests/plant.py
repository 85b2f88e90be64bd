"""Plant one mistake in a source file, run the tests that should catch it, and put the file back.

    python -m tests.plant apexplorer/schedule.py "wrap=True" "wrap=False" tests/test_multitask.py::test_x

OLD must occur exactly once in the file.  The file gets its exact bytes back afterwards, also after
Ctrl-C.  Exit status: 0 when the tests failed (the mistake is caught), 1 when they passed (it is not),
2 when the mistake could not be planted or pytest did not run the tests (a collection error, no tests).  See the top of tests/conftest.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def plant(path, old: str, new: str, tests, cwd=None) -> bool:
    """Whether running ``tests`` with ``old`` replaced by ``new`` in ``path`` fails (True: caught)."""
    cwd = Path(cwd or os.getcwd())
    path = Path(path)
    original = path.read_bytes()
    text = original.decode()
    n = text.count(old)
    if n != 1:
        raise ValueError(f"{old!r} occurs {n} times in {path}; give a piece of code that occurs exactly once")
    if old == new:
        raise ValueError("the planted code is the same as the original")
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    try:
        path.write_text(text.replace(old, new))
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                              cwd=cwd, env=env, capture_output=True, text=True)
    finally:
        path.write_bytes(original)
    tail = "".join(done.stdout.strip().splitlines()[-1:] or done.stderr.strip().splitlines()[-1:])
    if done.returncode not in (0, 1):  # 2: interrupted (a collection error), 4: bad arguments, 5: no tests
        raise ValueError(f"pytest did not run the tests (exit status {done.returncode}: {tail}); a planted mistake "
                         "must leave the code importable and the tests must exist")
    print(f"{'CAUGHT' if done.returncode else 'NOT CAUGHT'}: {old!r} -> {new!r} ({tail})")
    return done.returncode == 1


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return 0 if plant(argv[0], argv[1], argv[2], argv[3:]) else 1
    except (OSError, ValueError) as e:
        print(f"cannot plant: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
