"""The served explorer's script: ``panel serve`` runs it once per browser session (``apexplorer serve``).

Its options come after ``--args`` (see :mod:`apexplorer.app.serve`).  Importing it serves nothing.
"""

from apexplorer.app.serve import extension, serve_session

extension()

if __name__.startswith("bokeh"):  # run by `panel serve`, once per browser session
    serve_session()
