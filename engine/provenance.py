"""Where each number comes from, so a page can light up the cells behind a cell.

:func:`provenance` takes a trace, a tensor name and an element's index and returns the
cells (as index lists per tensor) that produced it, with the terms of its sum where it is
one. Each layer kind (:mod:`engine.kinds`) says which cells feed the tensors it writes;
indices use the network's shapes (filter axis first).
"""

from __future__ import annotations

import functools

import numpy as np

from .model import Trace
from .network import SEED, Network

Cell = list[int]


@functools.lru_cache(maxsize=256)
def sources_for(net: Network) -> dict:
    """{tensor name: provenance function(trace, index)} for every tensor that has one."""
    out: dict = {}
    for node in net.nodes:
        out.update(node.kind.sources(node, net))
    return out


def provenance_sources(net: Network) -> tuple[str, ...]:
    """The tensors of ``net`` whose cells have sources."""
    return tuple(sources_for(net))


def _check_index(tensors: Trace, name: str, index: tuple[int, ...]) -> None:
    shape = np.shape(tensors[name])
    if len(index) != len(shape) or not all(0 <= i < s for i, s in zip(index, shape)):
        raise ValueError(f"index {list(index)} is outside {name}, whose shape is {shape}")


def winners(tensors: Trace, name: str = "P1") -> np.ndarray:
    """(K, q, q, 3): for every cell of the max-pool output ``name``, the input cell
    [f, r, c] that won its window."""
    net = tensors.network
    node = next(n for n in net.nodes if n.writes == name)
    return node.kind.winners(tensors, node)


def provenance(tensors: Trace, name: str,
               index: tuple[int, ...] | list[int]) -> dict[str, object]:
    """The sources of ``tensors[name][index]``.

    For the seed's network: Z1 A1 P1 F dW2 db2 dF dP1 dA1 dZ1 dW1 db1 dX. The result maps
    source tensor names to lists of cells, plus ``value`` and, for sums, ``terms`` (the
    products summed, in the order of the cells) with their ``factors`` (pairs), ``bias``
    where one is added, and ``note`` (a sentence for the page).
    """
    index = tuple(int(i) for i in index)
    sources = sources_for(tensors.network)
    if name not in sources:
        raise ValueError(f"no provenance for {name!r}; known: {', '.join(sources)}")
    _check_index(tensors, name, index)
    result = sources[name](tensors, index)
    result["value"] = float(np.asarray(tensors[name])[index])
    return result


SOURCES = sources_for(SEED)
# The keys of a provenance result that are not source tensors.
DETAILS = ("value", "terms", "factors", "bias", "note", "window")
