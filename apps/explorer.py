"""The AP explorer: ``panel serve apps/explorer.py --show`` (or, installed, ``apexplorer serve --show``).

Each browser session gets its own Explorer (its own network, worker thread
and plots).  Importing this file (tests, notebooks) serves nothing.  The app
lives in the package (:mod:`apexplorer.app.serve`); this file is a shim of it.

Visitors save and load sessions through their browser.  To let them name files
on the server too, name a folder: ``--args --files DIR`` or
``APEXPLORER_FILES=DIR``; nothing outside it is read or written.  Uploads travel in
pieces, so files of any size pass the websocket; the largest file taken is
``--args --max-upload MB`` or ``APEXPLORER_MAX_UPLOAD_MB`` (default 512 MB).  The
operator's limits (network size, seeds, epochs, trainings at once): ``--args --limits
FILE`` (:mod:`apexplorer.app.limits`).  Add ``--warm`` so that the first visitor does not
wait for the imports.
"""

from apexplorer.app.serve import extension, serve_session

extension()

if __name__.startswith("bokeh"):  # run by `panel serve`, once per browser session
    serve_session()
