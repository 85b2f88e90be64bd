"""The AP explorer: ``panel serve apps/explorer.py --show``.

Each browser session gets its own Explorer (its own network, worker thread
and plots).  Importing this file (tests, notebooks) serves nothing.

Visitors save and load sessions through their browser.  To let them name files
on the server too, name a folder: ``--args --files DIR`` or
``APEXPLORER_FILES=DIR``; nothing outside it is read or written.  Uploads travel in
pieces, so files of any size pass the websocket; the largest file taken is
``--args --max-upload MB`` or ``APEXPLORER_MAX_UPLOAD_MB`` (default 512 MB).
"""

import sys

import panel as pn

from apexplorer.app import Explorer
from apexplorer.app.explorer import configure_torch_threads, quiet_closed_tabs
from apexplorer.app.files import files_folder
from apexplorer.app.upload import upload_limit

# No "plotly": its 4.7 MB script loads when the 3-D PCA tab is first shown, not before the first paint.
# "mathjax": the formula panel is typeset by the MathJax that Bokeh's server ships (offline, SVG).
pn.extension("tabulator", "mathjax", notifications=False, sizing_mode="stretch_width")


def app() -> pn.viewable.Viewable:
    explorer = Explorer(files=files_folder(sys.argv[1:]), max_upload=upload_limit(sys.argv[1:]))
    header = pn.pane.Markdown("# apexplorer · Adjoint Propagation explorer", margin=(5, 10),
                              visible=explorer.param.presenter.rx.not_())  # the presenter layout needs its room
    return pn.Column(header, explorer, sizing_mode="stretch_width")


if __name__.startswith("bokeh"):  # run by `panel serve`, once per browser session
    configure_torch_threads()
    quiet_closed_tabs()
    app().servable(title="apexplorer · AP explorer")
