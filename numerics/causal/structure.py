"""The structure of a causal graph of Nichani, Damian, Lee 2024: adjacency, roots, depths, lowest
common ancestors, and conversion to and from networkx.

Graphs are ``parents`` tuples or parent lists as in :mod:`numerics.causal.graphs`, validated on entry.
"""
from __future__ import annotations

import numpy as np

from numerics.causal.graphs import validate_parent_lists, validate_parents

__all__ = [
    "adjacency_matrix",
    "roots",
    "depths",
    "lowest_common_ancestors",
    "to_networkx",
    "from_networkx",
]


def adjacency_matrix(graph) -> np.ndarray:
    """0/1 matrix with A[i, j] = 1 iff j is a parent of i (row = child, like an attention row).

    A ``parents`` tuple gives an (n, n) matrix, parent lists an (m, m) matrix, m = len.
    """
    if any(isinstance(p, (list, tuple)) for p in graph):
        lists = validate_parent_lists(graph)
        A = np.zeros((len(lists), len(lists)))
        for i, plist in enumerate(lists):
            A[i, list(plist)] = 1.0
        return A
    parents = np.asarray(validate_parents(graph))
    A = np.zeros((len(parents), len(parents)))
    child = np.flatnonzero(parents >= 0)
    A[child, parents[child]] = 1.0
    return A


def roots(parents) -> np.ndarray:
    """Indices of the roots of a forest."""
    return np.flatnonzero(np.asarray(validate_parents(parents)) < 0)


def depths(parents) -> np.ndarray:
    """Depth of each node of a forest (roots have depth 0)."""
    parents = validate_parents(parents)
    depth = np.zeros(len(parents), dtype=int)
    for i, p in enumerate(parents):  # parents precede children: one pass suffices
        depth[i] = 0 if p < 0 else depth[p] + 1
    return depth


def lowest_common_ancestors(parents) -> np.ndarray:
    """(n, n) int matrix of lowest common ancestors; -1 where the nodes lie in different trees.

    A node is its own ancestor, so the LCA of an ancestor j of i and i is j.

    Examples
    --------
    >>> int(lowest_common_ancestors((-1, 0, 0))[1, 2]), int(lowest_common_ancestors((-1, -1))[0, 1])
    (0, -1)
    """
    parents = validate_parents(parents)
    n = len(parents)
    # ancestors[i, k] = 1 iff k is an ancestor of i (itself included)
    ancestors = np.eye(n, dtype=bool)
    for i, p in enumerate(parents):
        if p >= 0:
            ancestors[i] |= ancestors[p]
    common = ancestors[:, None, :] & ancestors[None, :, :]  # (n, n, n)
    # the deepest common ancestor has the largest index (ancestors precede descendants)
    idx = np.where(common, np.arange(n), -1)
    return idx.max(axis=-1)


def to_networkx(graph):
    """A ``networkx.DiGraph`` with nodes 0..m-1 and an edge parent -> child for each parent.

    Works for ``parents`` tuples and parent lists; parent lists store each node's parent
    order in the node attribute ``parents``.
    """
    import networkx as nx

    G = nx.DiGraph()
    if any(isinstance(p, (list, tuple)) for p in graph):
        lists = validate_parent_lists(graph)
        for i, plist in enumerate(lists):
            G.add_node(i, parents=list(plist))
            G.add_edges_from((p, i) for p in plist)
        return G
    parents = validate_parents(graph)
    G.add_nodes_from(range(len(parents)))
    G.add_edges_from((p, i) for i, p in enumerate(parents) if p >= 0)
    return G


def from_networkx(G, *, single_parent: bool = True):
    """Read a DAG from networkx: nodes must be 0..m-1 with every edge from a lower to a higher index.

    Parameters
    ----------
    G : networkx.DiGraph
    single_parent : bool
        True: return a ``parents`` tuple (ValueError naming ``parents`` if a node has two
        parents). False: return parent lists (order from the node attribute ``parents`` when
        present, else increasing).
    """
    nodes = sorted(G.nodes)
    if nodes != list(range(len(nodes))):
        raise ValueError(f"G must have nodes 0..m-1, got {nodes[:10]}")
    for u, v in G.edges:
        if not u < v:
            raise ValueError(f"G must have edges from lower to higher index (parents first), got {u} -> {v}")
    lists = []
    for i in nodes:
        preds = sorted(G.predecessors(i))
        order = G.nodes[i].get("parents")
        if order is not None and sorted(order) == preds:
            preds = list(order)
        lists.append(preds)
    if single_parent:
        return validate_parents(lists)
    return validate_parent_lists(lists)
