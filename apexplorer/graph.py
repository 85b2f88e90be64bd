"""Pure graph functions: reachability, cycles and topological order.

Nodes are names (ports and modules); edges are ``(source, target)`` pairs.
The inference phase visits modules in topological order of the active
feedforward edges; the learning phase in topological order of the active
feedback edges.  Nothing here knows about tensors.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence


def reachable(starts: Iterable[str], edges: Iterable[tuple]) -> set:
    """Nodes reachable from ``starts`` (included) along directed ``edges``."""
    adj = defaultdict(list)
    for a, b in edges:
        adj[a].append(b)
    seen = set()
    stack = list(starts)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(adj[n])
    return seen


def find_cycle(nodes: Sequence[str], edges: Iterable[tuple]) -> list | None:
    """A cycle ``[a, b, ..., a]`` among ``edges``, or None if the graph is acyclic."""
    adj = defaultdict(list)
    for a, b in edges:
        adj[a].append(b)
    color = {}  # 1 = on stack, 2 = done
    for root in list(nodes) + [a for a in adj]:
        if root in color:
            continue
        stack = [(root, iter(adj[root]))]
        path = [root]
        color[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                color[node] = 2
                stack.pop()
                path.pop()
            elif color.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in color:
                color[nxt] = 1
                stack.append((nxt, iter(adj[nxt])))
                path.append(nxt)
    return None


def topological_order(nodes: Sequence[str], edges: Iterable[tuple]) -> list:
    """Order ``nodes`` so every edge goes forward; ties keep the order of ``nodes``.

    Edges touching nodes outside ``nodes`` are ignored.  Raises ValueError on a cycle.
    """
    nodes = list(nodes)
    keep = set(nodes)
    indeg = {n: 0 for n in nodes}
    adj = defaultdict(list)
    for a, b in edges:
        if a in keep and b in keep:
            adj[a].append(b)
            indeg[b] += 1
    rank = {n: i for i, n in enumerate(nodes)}
    ready = sorted((n for n in nodes if indeg[n] == 0), key=rank.get)
    out = []
    while ready:
        n = ready.pop(0)
        out.append(n)
        for m in adj[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
                ready.sort(key=rank.get)
    if len(out) != len(nodes):
        raise ValueError(f"cycle among {sorted(set(nodes) - set(out))}")
    return out
