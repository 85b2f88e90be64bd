"""The wheel carries the teaching notebooks (``notebooks/``) as ``apexplorer/notebooks``: ``apexplorer lessons DIR``
copies them out.  Everything else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithLessons(build_py):
    def run(self):
        super().run()
        src = HERE / "notebooks"
        if src.is_dir():
            dst = Path(self.build_lib) / "apexplorer" / "notebooks"
            dst.mkdir(parents=True, exist_ok=True)
            for nb in sorted(src.glob("*.ipynb")):
                shutil.copyfile(nb, dst / nb.name)


setup(cmdclass={"build_py": BuildWithLessons})
