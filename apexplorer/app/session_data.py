"""The datasets one page's session may use (no Panel): built-in ones, a visitor's uploads, and local files.

A served page reads no ``.csv`` / ``.npz`` from the server's disk: a visitor's own
data comes only by upload, and lives in that browser session under the name the
visitor gave it.  In a notebook (``local_files=True``) a data file on this machine
is read as the command line reads it.
"""

from __future__ import annotations

from ..errors import DataError
from ..userdata import is_file_name, load_bytes

__all__ = ["NOT_UPLOADED", "SessionData"]

#: What a link, an experiment file or a session that names a visitor's data file says on a page without it.
NOT_UPLOADED = ("{name} is a visitor's uploaded data, which links, experiment files and saved sessions name but "
                "do not hold; upload {name} again on the Tasks tab")


class SessionData:
    """This session's uploaded datasets (by the visitor's file name) and the built-in ones.

    ``builtin(name)``: reads a dataset that is not an upload (the page's cached loader)."""

    def __init__(self, builtin, local_files: bool = True):
        self.builtin = builtin
        #: whether a .csv / .npz dataset name may be read from this machine's disk (a notebook's own files)
        self.local_files = local_files
        #: the uploads, {"moons.csv": Dataset}, and the CSV label column each was read with (None: the last)
        self.uploads: dict = {}
        self.labels: dict = {}

    def get(self, name: str):
        """Dataset ``name``: this session's upload of that name, else a built-in one (a file on this machine only
        where :attr:`local_files`; raises ApexplorerError)."""
        if name in self.uploads:
            return self.uploads[name]
        if is_file_name(name) and not self.local_files:
            raise DataError(NOT_UPLOADED.format(name=name))
        return self.builtin(name)

    def choices(self, builtin_names) -> list:
        """The datasets a task may take here: the built-in ones, then this session's uploads."""
        return [*builtin_names, *self.uploads]

    @staticmethod
    def read(data: bytes, name: str, label: str | None = None):
        """A visitor's ``.csv`` / ``.npz`` bytes as a Dataset, whole or not at all (raises DataError naming the
        visitor's file, never a server path)."""
        return load_bytes(data, name, label=(label or "").strip() or None)

    def keep(self, d, label: str | None = None) -> str:
        """Keep an uploaded dataset ``d`` (read with CSV label column ``label``); a new upload of the same name
        replaces the last one.  Returns its name."""
        name = d.files[0]
        self.uploads[name] = d
        self.labels[name] = (label or "").strip() or None
        return name

    def recorded(self, task: str, name: str, d, current: str) -> dict:
        """The experiment's record of ``task`` taking dataset ``name`` (``d``, read): a data file's content
        hash and, for an upload, its label column (a notebook's file that stays keeps its own label column)."""
        out = {f"tasks.{task}.dataset": name, f"tasks.{task}.sha256": getattr(d, "sha256", None)}
        if name in self.uploads:
            out[f"tasks.{task}.label"] = self.labels[name]
        elif current != name:
            out[f"tasks.{task}.label"] = None
        return out
