"""tests/plant.py, the helper that checks a test can fail: it tells a caught mistake from one that is not,
and puts the source back byte for byte."""

import pytest

from tests.plant import plant


def test_a_planted_mistake_is_caught_or_not_and_the_file_is_restored(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # a bare pytest starts faster
    src = tmp_path / "mod_x.py"
    src.write_bytes(b"def double(v):\r\n    return 2 * v\r\n")  # odd line ends: restored as they were
    (tmp_path / "test_mod_x.py").write_text("from mod_x import double\n\n\ndef test_double():\n"
                                            "    assert double(3) == 6\n")
    before = src.read_bytes()
    assert plant(src, "2 * v", "3 * v", ["test_mod_x.py"], cwd=tmp_path) is True
    assert src.read_bytes() == before
    assert plant(src, "2 * v", "v + v", ["test_mod_x.py"], cwd=tmp_path) is False  # the same function: not caught
    assert src.read_bytes() == before
    out = capsys.readouterr().out
    assert "CAUGHT: '2 * v' -> '3 * v'" in out and "NOT CAUGHT: '2 * v' -> 'v + v'" in out
    with pytest.raises(ValueError, match="occurs 0 times"):
        plant(src, "4 * v", "5 * v", ["test_mod_x.py"], cwd=tmp_path)
    with pytest.raises(ValueError, match="pytest did not run the tests"):  # a test that does not exist
        plant(src, "2 * v", "3 * v", ["test_nothing.py"], cwd=tmp_path)
    assert src.read_bytes() == before
