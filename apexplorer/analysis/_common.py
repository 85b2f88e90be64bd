"""What every analysis shares: one network at a time (an ensemble member is picked with :func:`member`)."""

from __future__ import annotations

from ..errors import ApexplorerError
from ..network import Network


def member(net: Network, k: int) -> Network:
    """Member ``k`` of an ensemble as a single Network sharing its tensors (views, no copies).

    A single network is returned as it is for ``k = 0``.
    """
    if net.members is None:
        if k != 0:
            raise ApexplorerError(f"member {k!r}: the network is not an ensemble, its only member is 0")
        return net
    if not isinstance(k, int) or not 0 <= k < net.members:
        raise ApexplorerError(f"member {k!r} does not exist; the ensemble has members 0..{net.members - 1}")
    tensors = {kind: {n: t[k] for n, t in d.items()} for kind, d in net.tensors.items()}
    return Network(net.wiring, net.config, seed=net.seeds[k], device=net.device, tensors=tensors)


def single(net: Network) -> Network:
    """The network itself, or a clear error for an ensemble."""
    if getattr(net, "members", None) is not None:
        raise ApexplorerError(f"the network is an ensemble of {net.members} members; analyse one at a time with "
                              "apexplorer.analysis.member(net, k)")
    return net
