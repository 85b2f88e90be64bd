"""Screenshots of the keyboard-shortcut popover and of the Paper tab:
``python -m tests.app.screenshots_views [OUT_DIR]``.

Serves ``apps/explorer.py`` (as the browser tests do) and saves, into ``assets/`` by default,
``keys-1280.png`` (the shortcuts' popover over the page at 1280×720) and ``paper-1280.png`` /
``paper-1920.png`` (Fig. 5e's simultaneous point loaded from the Paper tab, the paper's values
and ours beside the network).  Needs Debian's chromium at ``/usr/bin/chromium``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from apexplorer.paper import gallery
from tests.app.conftest import ARGS, CHROMIUM, ROOT, Page, Served


def keys(browser, url: str, out: Path) -> Path:
    pg = Page(browser, url, viewport=(1280, 720)).open()
    try:
        pg.wait_status(r"\(ready\)")
        pg.button("Keys").click()
        expect(pg.text("Train / Pause")).to_be_visible()
        time.sleep(0.5)
        path = out / "keys-1280.png"
        pg.page.screenshot(path=str(path))
        return path
    finally:
        pg.close()


def paper(browser, url: str, size: tuple, out: Path) -> Path:
    pg = Page(browser, url, viewport=size).open()
    try:
        pg.tab("Paper").click()
        entry = next(e for e in gallery.entries() if e["id"] == "fig5e")
        pg.page.get_by_label("Figure or table").select_option(label=f"{entry['figure']}: {entry['title']}")
        pg.page.get_by_label("Point").select_option("simultaneous")
        pg.button("Load this experiment").click()
        expect(pg.text("loaded the paper's experiment fig5e: simultaneous")).to_be_visible(timeout=60_000)
        pg.wait_status(r"\(ready\)", timeout=120_000)
        time.sleep(1.0)
        path = out / f"paper-{size[0]}.png"
        pg.page.screenshot(path=str(path))
        return path
    finally:
        pg.close()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else ROOT / "assets"
    out.mkdir(parents=True, exist_ok=True)
    served = Served(Path(tempfile.mkdtemp(prefix="apexplorer-shots-")) / "serve.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                print(keys(browser, served.url, out))
                for size in ((1280, 720), (1920, 1080)):
                    print(paper(browser, served.url, size, out))
            finally:
                browser.close()
    finally:
        served.stop()
    problems = served.problems()
    if problems:
        print(problems[-3000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
