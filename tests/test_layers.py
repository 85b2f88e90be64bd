"""The layers of the package are contracts: the library never imports the app, the commands or the CLI,
only the app imports Panel, and no imports form a cycle (imports inside functions included)."""

import grimp
import pytest

TOP = ("apexplorer.app", "apexplorer.commands", "apexplorer.cli")
UI = ("panel", "bokeh", "holoviews", "plotly", "param")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("apexplorer", include_external_packages=True)


def _library(graph):
    """Every module but the package's own __init__ (which exports) and the top layers."""
    return sorted(m for m in graph.modules if m.startswith("apexplorer.") and not m.startswith(TOP))


def test_the_library_never_imports_the_app_the_commands_or_the_cli(graph):
    bad = [(m, graph.find_shortest_chain(m, t)) for m in _library(graph) for t in TOP
           if t in graph.modules and graph.find_shortest_chain(m, t)]
    assert not bad, "\n".join(" -> ".join(chain) for _, chain in bad)


def test_only_the_app_imports_panel_and_the_plotting_libraries(graph):
    bad = [(m, ui) for m in _library(graph) for ui in UI
           if ui in graph.modules and ui in graph.find_modules_directly_imported_by(m)]
    # sweep.plots draws the paper's sweep figures with HoloViews for notebooks: plotting, not Panel
    allowed = {("apexplorer.sweep.plots", "holoviews")}
    assert set(bad) <= allowed, sorted(set(bad) - allowed)


def _cycles(graph):
    """Strongly connected groups of apexplorer modules (Tarjan), as sorted lists."""
    nodes = sorted(m for m in graph.modules if m == "apexplorer" or m.startswith("apexplorer."))
    edges = {m: sorted(t for t in graph.find_modules_directly_imported_by(m) if t in nodes) for m in nodes}
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for m in nodes:
        if m not in index:
            visit(m)
    return out


def test_no_imports_form_a_cycle(graph):
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    """The check can fail: two modules that import each other (inside a function) are one cycle."""
    g = grimp.ImportGraph()
    for m in ("apexplorer", "apexplorer.a", "apexplorer.b", "apexplorer.c"):
        g.add_module(m)
    g.add_import(importer="apexplorer.a", imported="apexplorer.b")
    g.add_import(importer="apexplorer.b", imported="apexplorer.a")
    g.add_import(importer="apexplorer.c", imported="apexplorer.a")
    assert _cycles(g) == [["apexplorer.a", "apexplorer.b"]]
