"""Files of a served explorer (no Panel): what a visitor may read or write on the server.

Sessions, wirings and sweep tables move through the browser (uploads and
downloads).  A path on the server is open to visitors only inside the folder
that the server's operator names, with ``APEXPLORER_FILES=DIR`` or
``panel serve apps/explorer.py --args --files DIR``; without one, or outside
it, a path is refused with a message.  An upload is written to a private
temporary folder only for as long as the library needs to read it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import ApexplorerError

ENV = "APEXPLORER_FILES"


def files_folder(argv=None, environ=None) -> str | None:
    """The folder named by ``--files DIR`` in ``argv`` (``panel serve ... --args --files DIR``),
    else by ``$APEXPLORER_FILES``; None when neither names one."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--files", default=None)
    args, _ = parser.parse_known_args(list(argv or []))
    env = os.environ if environ is None else environ
    return args.files or env.get(ENV) or None


class ServerFiles:
    """The server folder open to visitors, or none (``folder=None``: uploads and downloads only)."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder).expanduser().resolve() if folder else None

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def path(self, name: str, must_exist: bool = False) -> Path:
        """The server path of ``name`` inside the folder; anything else raises ApexplorerError."""
        if self.folder is None:
            raise ApexplorerError(
                "this explorer reads and writes no server paths (its operator named no folder: "
                f"${ENV} or --args --files DIR); use the upload and download buttons")
        name = str(name or "").strip()
        if not name:
            raise ApexplorerError("give the name of a file in the server's folder for files")
        if not self.folder.is_dir():
            raise ApexplorerError("the server's folder for files does not exist; ask the server's operator")
        p = (self.folder / name).resolve()  # an absolute name, '..' or a link leads out, and is caught here
        if p == self.folder or self.folder not in p.parents:
            raise ApexplorerError(f"{name!r} is outside the server's folder for files; give a name inside it, "
                                  "such as run.pt")
        if must_exist and not p.is_file():
            raise ApexplorerError(f"there is no file {name!r} in the server's folder for files")
        return p


class Upload:
    """An uploaded file's bytes in a private temporary folder, under the name the visitor gave.

    >>> with Upload(data, "run.pt") as path:
    ...     read(path)              # the folder and the file are gone afterwards

    or, when a worker thread reads it later, ``up = Upload(...)`` and ``up.remove()`` once read.
    """

    def __init__(self, data: bytes, name: str, suffix: str = ""):
        base = Path(str(name or "upload")).name or "upload"
        if suffix and not base.endswith(suffix):
            base += suffix
        self.name = base
        self._dir = tempfile.mkdtemp(prefix="apexplorer-upload-")
        self.path = Path(self._dir) / base
        with open(self.path, "wb") as f:
            f.write(bytes(data))

    def remove(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def tell(self, message: str) -> str:
        """``message`` with the temporary path replaced by the visitor's file name."""
        return message.replace(str(self.path), self.name)

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc) -> None:
        self.remove()


__all__ = ["ENV", "ServerFiles", "Upload", "files_folder"]
