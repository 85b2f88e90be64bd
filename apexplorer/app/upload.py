"""A file upload that takes files of any size the page makes: it sends them in pieces.

Panel's ``FileInput`` sends a whole file, base64-encoded, in one websocket message; a
message over the server's limit (Bokeh's ``--websocket-max-message-size``, 20 MB by
default) closes the websocket, and the page is dead ("not connected").  A session of
fig5a after two steps is 24 MB.  :class:`ChunkedUpload` reads the chosen file in the
browser and sends it in pieces of :data:`CHUNK` bytes, each far below that limit, so
the server's websocket limit does not matter.  A file over the operator's limit
(:func:`upload_limit`: ``--max-upload MB`` or ``$APEXPLORER_MAX_UPLOAD_MB``, default
:data:`DEFAULT_LIMIT_MB`) is refused in the browser before anything is sent, with a
message naming its size and the limit.

The file's bytes reach Python as ``on_file(data, name)`` once all have arrived; a
refusal as ``on_refused(text)``; the start of a new upload as ``on_start(name)`` (where
old messages go).
"""

from __future__ import annotations

import argparse
import base64
import os

import param
from panel.custom import JSComponent

ENV = "APEXPLORER_MAX_UPLOAD_MB"
#: the operator's default limit on one uploaded file, in MB (a session of the page's largest networks fits)
DEFAULT_LIMIT_MB = 512
#: bytes per websocket message (as base64 about 1.33 times more), far below Bokeh's 20 MB default
CHUNK = 2_000_000


def upload_limit(argv=None, environ=None) -> int:
    """The largest file a visitor may upload, in bytes: ``--max-upload MB`` in ``argv`` (``panel serve ...
    --args --max-upload 1024``), else ``$APEXPLORER_MAX_UPLOAD_MB``, else :data:`DEFAULT_LIMIT_MB`."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--max-upload", default=None)
    args, _ = parser.parse_known_args(list(argv or []))
    env = os.environ if environ is None else environ
    for text in (args.max_upload, env.get(ENV)):
        try:
            mb = float(text)
        except (TypeError, ValueError):
            continue
        if mb > 0:
            return int(mb * 1_000_000)
    return DEFAULT_LIMIT_MB * 1_000_000


def size_text(n: int) -> str:
    """A size in words: 512 bytes, 3.4 kB, 24.1 MB, 1.2 GB."""
    if n < 1000:
        return f"{n} bytes"
    for unit, k in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if n < k * 1000 or unit == "GB":
            return f"{n / k:.1f} {unit}"
    return f"{n} bytes"  # pragma: no cover


class ChunkedUpload(JSComponent):
    """A file picker whose file reaches Python in pieces, ``on_file(data, name)`` (see the module)."""

    accept = param.String(default="", doc="The file types offered, e.g. '.pt' or '.toml,.json'.")
    limit = param.Integer(default=DEFAULT_LIMIT_MB * 1_000_000, doc="The largest file taken, in bytes.")
    chunk = param.Integer(default=CHUNK, bounds=(1000, None), doc="Bytes per message.")
    label = param.String(default="", doc="What the picker is for (its accessible name).")
    received = param.Integer(default=0, doc="Files received whole (for tests).")

    _esm = """
    function b64(bytes) {
      let s = ""
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000))
      return btoa(s)
    }
    const size = (n) => n < 1000 ? n + " bytes" : n < 1e6 ? (n / 1e3).toFixed(1) + " kB"
                      : n < 1e9 ? (n / 1e6).toFixed(1) + " MB" : (n / 1e9).toFixed(1) + " GB"
    export function render({ model }) {
      const box = document.createElement("span")
      const input = document.createElement("input")
      input.type = "file"
      input.accept = model.accept
      if (model.label) input.setAttribute("aria-label", model.label)
      const note = document.createElement("span")
      note.className = "ap-upload-progress"
      note.style.marginLeft = "6px"
      note.style.fontSize = "0.85em"
      note.style.color = "#555"
      box.append(input, note)
      model.on("accept", () => { input.accept = model.accept })
      let busy = false
      input.addEventListener("change", async () => {
        const file = input.files && input.files[0]
        if (!file || busy) return
        if (file.size > model.limit) {
          input.value = ""
          note.textContent = ""
          model.send_msg({refused: file.name, size: file.size})
          return
        }
        busy = true
        try {
          model.send_msg({start: file.name, size: file.size})
          const step = model.chunk
          for (let off = 0; off < file.size; off += step) {
            const part = new Uint8Array(await file.slice(off, off + step).arrayBuffer())
            model.send_msg({part: b64(part), offset: off})
            if (file.size > step) note.textContent = "sending " + size(Math.min(file.size, off + step)) + " of " + size(file.size)
          }
          model.send_msg({end: file.name, size: file.size})
          note.textContent = ""
        } catch (err) {
          note.textContent = ""
          model.send_msg({failed: file.name, error: String(err)})
        } finally {
          busy = false
          input.value = ""  // the same file may be chosen again
        }
      })
      return box
    }
    """

    def __init__(self, on_file=None, on_refused=None, on_start=None, **params):
        params.setdefault("margin", (5, 10))
        super().__init__(**params)
        self.on_file = on_file
        self.on_refused = on_refused
        self.on_start = on_start
        self._name = None
        self._size = 0
        self._parts = []
        self._got = 0

    def refusal(self, name: str, size: int) -> str:
        return (f"{name!r} is {size_text(size)}; this server takes files up to {size_text(self.limit)} "
                "(its operator sets the limit with --max-upload MB)")

    def _refuse(self, text: str) -> None:
        self._name, self._parts, self._got = None, [], 0
        if self.on_refused is not None:
            self.on_refused(text)

    def _handle_msg(self, data) -> None:
        if not isinstance(data, dict):
            return
        if "refused" in data:
            self._refuse(self.refusal(str(data["refused"]), int(data.get("size") or 0)))
        elif "start" in data:
            self._name, self._size, self._parts, self._got = str(data["start"]), int(data.get("size") or 0), [], 0
            if self.on_start is not None:
                self.on_start(self._name)
            if self._size > self.limit:  # the browser checks first; this is for one that does not
                self._refuse(self.refusal(self._name, self._size))
        elif "part" in data and self._name is not None:
            part = base64.b64decode(data["part"])
            self._got += len(part)
            if self._got > self.limit:
                self._refuse(self.refusal(self._name, self._got))
                return
            self._parts.append(part)
        elif "end" in data and self._name is not None:
            name, blob = self._name, b"".join(self._parts)
            if len(blob) != int(data.get("size") or 0):
                self._refuse(f"{name!r} arrived incomplete ({size_text(len(blob))} of "
                             f"{size_text(int(data.get('size') or 0))}); choose it again")
                return
            self._name, self._parts, self._got = None, [], 0
            self.received += 1
            if self.on_file is not None:
                self.on_file(blob, name)
        elif "failed" in data:
            self._refuse(f"the browser could not read {str(data['failed'])!r}: {data.get('error', '')}")


__all__ = ["CHUNK", "ChunkedUpload", "DEFAULT_LIMIT_MB", "ENV", "size_text", "upload_limit"]
