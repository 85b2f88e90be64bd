"""The pieces that make the explorer safe to share, without a browser: escaping, uploads in pieces,
links checked part by part, and files that are not what they should be."""

import base64
import zlib

import pytest

from apexplorer.app.safe import escape, escape_html, plain
from apexplorer.app.upload import ChunkedUpload, size_text, upload_limit
from apexplorer.checkpoint import load as load_checkpoint
from apexplorer.errors import ApexplorerError
from apexplorer.experiment import Experiment
from apexplorer.share import check_query


def test_escape_leaves_no_markup_and_shows_bidi_controls():
    import panel as pn

    md = pn.pane.Markdown("")
    parser = md._get_parser(md.renderer, ())
    for text in ["<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "![p](/x)", "https://evil.example/x",
                 "**b** `c` # h", "a | b"]:
        html = parser.render(escape(text))
        assert "<img" not in html and "<a" not in html and "<strong" not in html and "<code" not in html, html
    assert plain("\u202eevil") == "‹U+202E›evil"
    assert escape_html("<b>") == "&lt;b&gt;"
    assert plain("x" * 5000, limit=100).endswith("… (4,900 more characters)")


def _send(up, data, name="s.pt", chunk=7):
    up._handle_msg({"start": name, "size": len(data)})
    for i in range(0, len(data), chunk):
        up._handle_msg({"part": base64.b64encode(data[i:i + chunk]).decode(), "offset": i})
    up._handle_msg({"end": name, "size": len(data)})


def test_an_upload_in_pieces_arrives_whole_and_one_over_the_limit_is_refused():
    got, refused, started = [], [], []
    up = ChunkedUpload(limit=100, on_file=lambda d, n: got.append((d, n)), on_refused=refused.append,
                       on_start=started.append)
    _send(up, bytes(range(90)))
    assert got == [(bytes(range(90)), "s.pt")] and started == ["s.pt"] and not refused
    up._handle_msg({"refused": "big.pt", "size": 24_100_000})  # the browser checked first
    assert refused[-1] == ("'big.pt' is 24.1 MB; this server takes files up to 100 bytes (its operator sets the "
                           "limit with --max-upload MB)")
    _send(up, bytes(200))  # a browser that does not check: refused on the server
    assert len(got) == 1 and "'s.pt' is 200 bytes" in refused[-1]
    assert upload_limit(["--max-upload", "20"], {}) == 20_000_000
    assert upload_limit([], {"APEXPLORER_MAX_UPLOAD_MB": "1.5"}) == 1_500_000
    assert upload_limit(["--max-upload", "x"], {}) == 512_000_000
    assert size_text(21_488_247) == "21.5 MB"


def test_a_link_is_checked_part_by_part():
    assert check_query(Experiment, {"preset": "digits", "ap.t1": "5"})[0].ap.t1 == 5
    for query, part, words in [({"wiring.inline": "{not json"}, "wiring.inline={not json", "is not valid JSON"),
                               ({"ap.t1": "-5", "train.lr": "0.01"}, "ap.t1=-5", "must be an integer >= 1"),
                               ({"preset": "../../etc/passwd"}, "preset=../../etc/passwd", "is not a preset"),
                               ({"x": "AAAA"}, "x=AAAA", "is damaged"),
                               ({"foo": "1"}, "foo=1", "unknown key 'foo'")]:
        exp, refused = check_query(Experiment, query)
        assert exp is None and len(refused) == 1 and refused[0][0] == part and words in refused[0][1], refused
    bomb = base64.urlsafe_b64encode(zlib.compress(b" " * 20_000_000, 9)).decode()
    assert "unpacks to more than" in check_query(Experiment, {"x": bomb})[1][0][1]
    with pytest.raises(ApexplorerError, match="wiring.inline = .{not json. is not valid JSON"):
        Experiment.from_preset("digits").with_changes({"wiring.inline": "{not json"})


def test_files_that_are_not_what_they_should_be_say_what_they_should_be(tmp_path):
    (tmp_path / "empty.toml").write_bytes(b"")
    (tmp_path / "bin.toml").write_bytes(bytes(range(256)))
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ApexplorerError, match="is empty; an experiment file is the .toml"):
        Experiment.load(tmp_path / "empty.toml")
    with pytest.raises(ApexplorerError, match="is not a text file; an experiment file is the .toml"):
        Experiment.load(tmp_path / "bin.toml")
    with pytest.raises(ApexplorerError, match="is empty; a checkpoint is the .pt file"):
        load_checkpoint(tmp_path / "empty.pt")


def test_escape_leaves_no_web_address_even_for_a_renderer_that_unescapes_before_it_looks_for_links():
    """markdown-it-py before 3.0 (which Panel 1.4 accepts) joins a backslash-escaped character back into its text
    before it looks for web addresses, so an escaped ``nope\\.pt`` in a message became a link to http://nope.pt/.
    What such a renderer's link finder reads (escapes undone, split at tags) holds no address."""
    import re
    from html import unescape

    import panel as pn
    from linkify_it import LinkifyIt

    finder = LinkifyIt()
    md = pn.pane.Markdown("")
    parser = md._get_parser(md.renderer, ())
    for text in ["checkpoint 'nope.pt' is corrupt or not a checkpoint", "loaded the session run.pt",
                 "https://evil.example/x", "write to me@example.org", "see www.example.com", "results.csv: 24 rows"]:
        out = escape(text)
        read = re.split(r"<[^>]*>", re.sub(r"\\(.)", r"\1", out))
        assert not any(finder.test(piece) for piece in read), (text, out)
        html = parser.render(out)  # and the page's own renderer shows the text as typed
        assert "<a" not in html and unescape(re.sub(r"<[^>]*>", "", html)).strip() == text, html
