"""The page's own browser side: its URL, its keyboard shortcuts and its figure export.

:class:`PageBridge` is an invisible component of the served explorer.

* ``query``: the URL query that describes the experiment.  It is written with
  ``history.replaceState``, so editing a setting replaces the address instead of
  adding one history entry per keystroke (Panel's ``pn.state.location`` pushes).
* Keyboard shortcuts: space (Train / Pause), → (Step), R (Reset), P (presenter
  layout), ? (this list) and Esc (hide it) reach Python as ``on_key(name)``.  A key typed into a text box, a select
  or a button's own space stays theirs.
* ``presenter``: the page's base font grows to :data:`PRESENTER_FONT` (the root
  font size and Bokeh's ``--bokeh-font-size``, which the widgets and panes inherit
  through their shadow roots), and the text drawn in every figure (titles, axes,
  legends, labels) by ``figure_scale``, for a room's back row.  Figures drawn
  later (a tab shown for the first time) are scaled when they appear; leaving
  the presenter layout gives every figure its own sizes back.
* ``presenter`` also grows the curves (figures named ``ap-curve-*``) down to the bottom of the
  screen, so a full-HD screen's lower half is not left empty; they get their own height back after.
* One layout per message: BokehJS lays the whole page out again for each panel shown or hidden, at
  once, so one edit of the wiring (a question shown, a popover hidden, a message said) cost a layout
  each.  The bridge has the page lay itself out once per message from the server instead, at its end;
  with the edit's changes held together (:func:`~.plots.edits_models`), one edit is one layout.
* :meth:`export_figures`: every Bokeh figure on the page as PNG and SVG, in one
  zip that the browser downloads (rendered by BokehJS in the page itself:
  offline, no webdriver).
"""

from __future__ import annotations

import param
from panel.custom import JSComponent

SHORTCUTS = {" ": "toggle", "ArrowRight": "step", "r": "reset", "R": "reset", "p": "presenter", "P": "presenter",
             "?": "help", "Escape": "close", "Delete": "delete", "Backspace": "delete"}
#: Keys with Ctrl (or ⌘), and the keys of the network graph while it has the focus (Tab reaches it).
CTRL_KEYS = {"z": "undo", "Z": "redo", "y": "redo"}
GRAPH_KEYS = {"Tab": "graph-next", "Enter": "graph-enter"}
NAMES = set(SHORTCUTS.values()) | set(CTRL_KEYS.values()) | set(GRAPH_KEYS.values()) | {"graph-prev", "graph-leave"}
HELP = ("**Keyboard shortcuts** (when no text box has the focus)\n\n"
        "| key | does |\n|---|---|\n| space | Train / Pause |\n| → | Step (one batch) |\n"
        "| R | Reset (a fresh network) |\n| P | presenter layout on / off |\n| ? | show or hide this list |\n"
        "| Esc | hide this list; cancel a half-made path |\n"
        "| Tab | on the network: the next block (Shift+Tab: the one before) |\n"
        "| Enter | on the network: click the outlined block (start or finish a path) |\n"
        "| Delete | remove the selected path or module |\n"
        "| Ctrl+Z | undo a wiring or task edit |\n| Ctrl+Shift+Z | redo it |")
#: The base font of the presenter layout (CSS length): 18px on a 1280-pixel-wide screen, 22px on 1920.
PRESENTER_FONT = "clamp(18px, 1.15vw, 24px)"


class PageBridge(JSComponent):
    """Invisible: the URL query, the keyboard shortcuts and the figure export of one page."""

    query = param.String(default="", doc="The URL query the page shows (without '?'); replaced, never pushed.")
    keys = param.Dict(default=SHORTCUTS, doc="Key -> shortcut name.")
    pressed = param.Integer(default=0, doc="Shortcuts received (for tests).")
    graph_at = param.Integer(default=-1, doc="The network graph's block that the keyboard is on (-1: none).")
    graph_n = param.Integer(default=0, doc="How many blocks Tab goes through on the network graph.")
    presenter = param.Boolean(default=False, doc="Larger base font for a room (see PRESENTER_FONT).")
    font = param.String(default=PRESENTER_FONT, doc="The presenter layout's base font size.")
    figure_scale = param.Number(default=1.3, bounds=(1, 3), doc=(
        "How much larger figures' text is when presenting (on a screen up to 1600 pixels wide; in proportion "
        "on a wider one)."))

    _esm = """
    const ZIP_CRC = (() => { const t = new Uint32Array(256);
      for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
        t[n] = c >>> 0 } return t })()
    function crc32(b) { let c = 0xFFFFFFFF; for (let i = 0; i < b.length; i++) c = ZIP_CRC[(c ^ b[i]) & 0xFF] ^ (c >>> 8);
      return (c ^ 0xFFFFFFFF) >>> 0 }
    // a zip of stored (uncompressed) files: [{name, bytes}] -> Blob
    function zip(files) {
      const enc = new TextEncoder(), parts = [], central = []; let offset = 0
      for (const f of files) {
        const name = enc.encode(f.name), crc = crc32(f.bytes), n = f.bytes.length
        const h = new DataView(new ArrayBuffer(30))
        h.setUint32(0, 0x04034b50, true); h.setUint16(4, 20, true); h.setUint32(14, crc, true)
        h.setUint32(18, n, true); h.setUint32(22, n, true); h.setUint16(26, name.length, true)
        parts.push(new Uint8Array(h.buffer), name, f.bytes)
        const c = new DataView(new ArrayBuffer(46))
        c.setUint32(0, 0x02014b50, true); c.setUint16(4, 20, true); c.setUint16(6, 20, true)
        c.setUint32(16, crc, true); c.setUint32(20, n, true); c.setUint32(24, n, true)
        c.setUint16(28, name.length, true); c.setUint32(42, offset, true)
        central.push(new Uint8Array(c.buffer), name)
        offset += 30 + name.length + n
      }
      const size = central.reduce((s, p) => s + p.length, 0)
      const e = new DataView(new ArrayBuffer(22))
      e.setUint32(0, 0x06054b50, true); e.setUint16(8, files.length, true); e.setUint16(10, files.length, true)
      e.setUint32(12, size, true); e.setUint32(16, offset, true)
      return new Blob([...parts, ...central, new Uint8Array(e.buffer)], {type: "application/zip"})
    }
    function plotViews() {  // every figure drawn on the page now (a hidden tab's are not)
      const Plot = Bokeh.Models.get("Plot")
      return [...Bokeh.index.query((v) => v.model instanceof Plot)]
        .filter((v) => v.el && v.el.isConnected && v.bbox && v.bbox.width > 0 && v.bbox.height > 0)
    }
    async function exportFigures(filename) {
      const files = [], used = {}
      for (const v of plotViews()) {
        const t = (v.model.title && v.model.title.text) || v.model.name || "figure"
        let base = t.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "figure"
        used[base] = (used[base] || 0) + 1
        if (used[base] > 1) base += "-" + used[base]
        const png = await v.export("png").to_blob()
        files.push({name: base + ".png", bytes: new Uint8Array(await png.arrayBuffer())})
        const svg = v.export("svg").ctx.get_serialized_svg(true)
        files.push({name: base + ".svg", bytes: new TextEncoder().encode(svg)})
      }
      const a = document.createElement("a")
      a.href = URL.createObjectURL(zip(files)); a.download = filename
      document.body.appendChild(a); a.click(); a.remove()
      return files.length
    }
    // One layout of the page per message from the server.  BokehJS lays the whole page out again for each panel
    // shown or hidden (and each size or class changed), at once, so an edit that shows a question, hides a popover
    // and says what it did cost three layouts (~100 ms each).  While a message's changes are applied, the layouts
    // asked for are noted (one per root) and done once at its end, before the browser paints: nothing drawn differs.
    function oneLayoutPerMessage(view) {
      const doc = view.model.document
      let base = Object.getPrototypeOf(view)
      while (base && !(base.constructor && base.constructor.__name__ === "LayoutDOMView")) base = Object.getPrototypeOf(base)
      if (!doc || !base || doc.__apOneLayout) return
      doc.__apOneLayout = true
      const Layout = base.constructor, invalidate = base.invalidate_layout
      let asked = null  // the roots to lay out, while a message is applied
      base.invalidate_layout = function () {
        if (asked === null) return invalidate.call(this)
        let root = this
        while (root.parent instanceof Layout) root = root.parent
        asked.add(root)
      }
      const apply = doc.apply_json_patch
      doc.apply_json_patch = function (...args) {
        if (asked !== null) return apply.apply(this, args)
        asked = new Set()
        try { return apply.apply(this, args) }
        finally { const roots = asked; asked = null; for (const r of roots) invalidate.call(r) }
      }
    }
    export function render({ model, view }) {
      oneLayoutPerMessage(view)
      const setQuery = () => {
        const q = model.query, loc = window.location
        const url = loc.pathname + (q ? "?" + q : "") + loc.hash
        if (url !== loc.pathname + loc.search + loc.hash) window.history.replaceState(window.history.state, "", url)
      }
      setQuery()
      model.on("query", setQuery)
      const setFont = (on = model.presenter) => {  // custom properties and font-size inherit into shadow roots
        const r = document.documentElement
        r.classList.toggle("ap-presenter", on)
        if (on) { r.style.fontSize = model.font; r.style.setProperty("--bokeh-font-size", model.font) }
        else { r.style.removeProperty("font-size"); r.style.removeProperty("--bokeh-font-size") }
      }
      // text sizes drawn by Bokeh (canvas): scale every figure's, and remember the originals
      const FONT_PROPS = ["text_font_size", "axis_label_text_font_size", "major_label_text_font_size",
                          "label_text_font_size", "title_text_font_size", "group_text_font_size"]
      const original = new Map()  // model -> {prop: its own value}
      const scaled = (v, k) => {
        const px = (t) => (typeof t === "string" && /^[0-9.]+px$/.test(t)) ? `${Math.round(parseFloat(t) * k)}px` : null
        if (typeof v === "string") return px(v)
        if (v && typeof v === "object" && "value" in v && px(v.value)) return {value: px(v.value)}
        return null
      }
      const parts = (p) => {
        const out = [p.title, ...p.left, ...p.right, ...p.above, ...p.below, ...p.center]
        for (const r of p.renderers) { out.push(r); if (r.glyph) out.push(r.glyph) }
        return out.filter((m) => m && typeof m === "object" && m.properties)
      }
      const scaleFigures = (on) => {
        if (!window.Bokeh || !Bokeh.index) return
        const Plot = Bokeh.Models.get("Plot")
        if (on) {
          for (const v of Bokeh.index.query((v) => v.model instanceof Plot)) for (const m of parts(v.model)) {
            if (original.has(m)) continue
            const own = {}, change = {}
            for (const name of FONT_PROPS) {
              if (!(name in m.properties)) continue
              const s = scaled(m[name], model.figure_scale * Math.max(1, window.innerWidth / 1600))
              if (s !== null) { own[name] = m[name]; change[name] = s }
            }
            original.set(m, own)
            if (Object.keys(change).length) m.setv(change)
          }
        } else {
          for (const [m, own] of original) if (Object.keys(own).length) m.setv(own)
          original.clear()
        }
      }
      // the curves (figures named ap-curve-*) grow to the bottom of the screen, leaving room for the speed line
      const fitted = new Map()  // model -> its own height
      const fitCurves = (on) => {
        if (!window.Bokeh || !Bokeh.index) return
        if (!on) { for (const [m, h] of fitted) if (m.height !== h) m.setv({height: h}); fitted.clear(); return }
        const Plot = Bokeh.Models.get("Plot")
        const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16
        const curves = [...Bokeh.index.query((v) => v.model instanceof Plot)].filter((v) =>
          v.model.name && v.model.name.startsWith("ap-curve-") && v.el && v.el.isConnected &&
          v.el.getBoundingClientRect().width > 0)
        const tops = new Set(curves.map((v) => Math.round(v.el.getBoundingClientRect().top / 4)))
        if (tops.size !== 1) return  // still stacked (the side-by-side figures are on their way): wait
        for (const v of curves) {
          const m = v.model
          const r = v.el.getBoundingClientRect()
          if (!fitted.has(m)) fitted.set(m, m.height)
          const want = Math.max(fitted.get(m), Math.floor(window.innerHeight - (r.top + window.scrollY) - 2.5 * rem))
          if (Math.abs(want - m.height) > 4) m.setv({height: want})
        }
      }
      let watch = null
      const setPresenter = (on = model.presenter) => {
        setFont(on)
        scaleFigures(on)
        fitCurves(on)
        if (on && watch === null) watch = setInterval(() => { scaleFigures(true); fitCurves(true) }, 1000)  // figures drawn later
        if (!on && watch !== null) { clearInterval(watch); watch = null }
      }
      setPresenter()
      model.on(["presenter", "font", "figure_scale"], () => setPresenter())
      const CTRL = {"z": "undo", "Z": "redo", "y": "redo"}, GRAPH = {"Tab": "graph-next", "Enter": "graph-enter"}
      let swallow = false
      const typing = (e) => { const t = e.composedPath()[0]
        return t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName)) }
      const onGraph = (e) => e.composedPath().some((t) => t && t.dataset && t.dataset.apGraph === "1")
      const focusable = () => {  // the network drawing takes the focus: Tab reaches it, then goes through its blocks
        for (const v of plotViews()) if (v.model.name === "ap-network" && v.el.dataset.apGraph !== "1") {
          v.el.dataset.apGraph = "1"; v.el.tabIndex = 0; v.el.setAttribute("role", "application")
          v.el.setAttribute("aria-label", "network graph: Tab goes through its blocks, Enter clicks the one outlined")
          v.el.addEventListener("blur", () => model.send_msg({key: "graph-leave"}))
        }
      }
      focusable()
      const graphWatch = setInterval(focusable, 1000)
      const down = (e) => {
        if (typing(e)) return
        if ((e.ctrlKey || e.metaKey) && !e.altKey && CTRL[e.key]) {
          e.preventDefault()
          model.send_msg({key: e.key === "z" && e.shiftKey ? "redo" : CTRL[e.key]})
          return
        }
        if (e.ctrlKey || e.metaKey || e.altKey) return
        if (onGraph(e) && GRAPH[e.key]) {
          const last = e.key === "Tab" && model.graph_n > 0 && model.graph_at >= 0 &&
            (e.shiftKey ? model.graph_at === 0 : model.graph_at === model.graph_n - 1)
          if (last) { model.send_msg({key: "graph-leave"}); return }  // the last block: Tab leaves the drawing
          e.preventDefault()
          model.send_msg({key: e.key === "Tab" && e.shiftKey ? "graph-prev" : GRAPH[e.key]})
          return
        }
        const name = model.keys[e.key]
        if (!name) return
        e.preventDefault(); swallow = e.key === " "
        model.send_msg({key: name})
      }
      const up = (e) => { if (swallow && e.key === " ") { e.preventDefault(); swallow = false } }
      document.addEventListener("keydown", down, true)
      document.addEventListener("keyup", up, true)
      model.on("msg:custom", async (msg) => {
        if (msg && msg.export) {
          let n = 0
          try { n = await exportFigures(msg.export) } catch (err) { model.send_msg({exported: -1, error: String(err)}); return }
          model.send_msg({exported: n})
        }
      })
      const resized = () => { if (model.presenter) fitCurves(true) }
      window.addEventListener("resize", resized)
      model.on("remove", () => { setFont(false); if (watch !== null) clearInterval(watch); clearInterval(graphWatch)
                                 window.removeEventListener("resize", resized)
                                 document.removeEventListener("keydown", down, true)
                                 document.removeEventListener("keyup", up, true) })
      const el = document.createElement("span")
      el.style.display = "none"
      return el
    }
    """

    def __init__(self, on_key=None, on_exported=None, **params):
        params.setdefault("width", 0)
        params.setdefault("height", 0)
        params.setdefault("margin", 0)
        super().__init__(**params)
        self.on_key = on_key
        self.on_exported = on_exported

    def _handle_msg(self, data) -> None:
        if not isinstance(data, dict):
            return
        if "key" in data and data["key"] in NAMES:
            self.pressed += 1
            if self.on_key is not None:
                self.on_key(data["key"])
        elif "exported" in data and self.on_exported is not None:
            self.on_exported(int(data["exported"]), data.get("error", ""))

    def export_figures(self, filename: str = "apexplorer-figures.zip") -> None:
        """Ask the page to download every figure shown as PNG and SVG in one zip."""
        self._send_msg({"export": filename})


__all__ = ["CTRL_KEYS", "GRAPH_KEYS", "HELP", "PRESENTER_FONT", "PageBridge", "SHORTCUTS"]
