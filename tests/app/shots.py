"""What the screenshot scripts share (``python -m tests.app.screenshots`` and its siblings).

:func:`main` parses ``--out DIR`` (default ``assets/``) and ``--url URL`` (an explorer already
served; by default one is started as the browser tests start it), opens Debian's Chromium, saves
the screenshots ``shoot(browser, url, out)`` yields and prints their paths.  It returns 1 when the
server it started logged an exception meanwhile, so a screenshot never hides a broken page.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.app.conftest import ARGS, CHROMIUM, ROOT, Served

#: The screens every screenshot is taken at: a projector's 1280x720 and a full-HD 1920x1080.
SIZES = ((1280, 720), (1920, 1080))


def main(shoot, doc: str, argv=None) -> int:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "assets"), help="folder of the PNGs (default assets/)")
    ap.add_argument("--url", help="use this served explorer instead of starting one")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    served = None if args.url else Served(Path(tempfile.mkdtemp(prefix="apexplorer-shots-")) / "serve.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                for path in shoot(browser, args.url or served.url, out):
                    print(path)
            finally:
                browser.close()
    finally:
        if served is not None:
            served.stop()
    problems = served.problems() if served is not None else ""
    if problems:
        print(problems[-3000:], file=sys.stderr)
        return 1
    return 0
