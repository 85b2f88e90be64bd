"""The served explorer's log: a visitor closing a tab is no exception (the browser tests fail on any)."""

import asyncio
import logging
import threading

from bokeh.document import Document
from bokeh.document.events import TitleChangedEvent
from bokeh.protocol import Protocol
from bokeh.server.connection import ServerConnection
from bokeh.server.protocol_handler import ProtocolHandler

from apexplorer.app.explorer import quiet_closed_tabs


def _in_a_server_thread(fn):
    """``fn(loop)`` in a thread of its own with an event loop of its own, as a server runs (the test's thread may
    have a loop running already)."""
    out = []

    def run():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            out.append(fn(loop))
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out[0] if out else None


def _patch_to_an_ended_session(loop):
    """Bokeh's own handling of a change that arrives on a connection whose session has ended."""
    protocol = Protocol()
    conn = ServerConnection.__new__(ServerConnection)  # a connection as Bokeh leaves it once its session is gone
    conn._session, conn._protocol = None, protocol
    msg = protocol.create("PATCH-DOC", [TitleChangedEvent(Document(), "closing")])
    return loop.run_until_complete(ProtocolHandler().handle(msg, conn))


def _quietened_and_patched(loop):
    quiet_closed_tabs()
    return _patch_to_an_ended_session(loop)


def test_a_change_from_a_tab_whose_session_ended_is_one_warning_and_other_errors_keep_their_traceback(caplog):
    log = logging.getLogger("bokeh.server.protocol_handler")
    before = list(log.filters)
    for f in before:  # a server of this process may have quietened it already
        log.removeFilter(f)
    caplog.set_level(logging.WARNING, logger="bokeh.server.protocol_handler")
    _in_a_server_thread(_patch_to_an_ended_session)
    assert [r.levelname for r in caplog.records] == ["ERROR"] and caplog.records[0].exc_info  # Bokeh alone
    caplog.clear()
    try:
        _in_a_server_thread(_quietened_and_patched)
        assert [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records] == [
            ("WARNING", "a change from a tab whose session had ended was dropped", None)]
        caplog.clear()
        try:
            raise AssertionError("a bug of ours")
        except AssertionError:
            log.error("error handling message", exc_info=True)
        assert [r.levelname for r in caplog.records] == ["ERROR"] and caplog.records[0].exc_info
    finally:
        log.filters[:] = before
