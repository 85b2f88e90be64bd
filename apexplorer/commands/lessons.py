"""``apexplorer lessons DIR``: copy the teaching notebooks (they ship in the package) into a folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import ApexplorerError


def notebooks_folder() -> Path:
    """The shipped notebooks: the package's copy (a wheel), else the repository's ``notebooks/``."""
    here = Path(__file__).resolve().parents[1]
    for folder in (here / "notebooks", here.parent / "notebooks"):
        if folder.is_dir() and any(folder.glob("*.ipynb")):
            return folder
    raise ApexplorerError("this installation has no notebooks (install apexplorer from its wheel or repository)")


def register(sub) -> None:
    p = sub.add_parser("lessons", help="copy the teaching notebooks into a folder")
    p.add_argument("dir", metavar="DIR", help="the folder to copy them into (made if missing)")
    p.add_argument("--force", action="store_true", help="replace notebooks of the same name already there")
    p.set_defaults(func=cmd_lessons)


def cmd_lessons(args) -> int:
    src = notebooks_folder()
    dst = Path(args.dir).expanduser()
    if dst.exists() and not dst.is_dir():
        raise ApexplorerError(f"{args.dir!r} is a file; name a folder")
    books = sorted(src.glob("*.ipynb"))
    there = [b.name for b in books if (dst / b.name).exists()]
    if there and not args.force:
        raise ApexplorerError(f"{args.dir!r} already has {', '.join(there)}; nothing was copied (--force replaces "
                              "them, or name another folder)")
    dst.mkdir(parents=True, exist_ok=True)
    for b in books:
        shutil.copyfile(b, dst / b.name)
    print(f"copied {len(books)} notebooks into {dst}: {', '.join(b.name for b in books)}")
    print(f"open them with: jupyter lab {dst}")
    return 0
