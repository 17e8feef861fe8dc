"""Latent causal graphs of Nichani, Damian, Lee 2024 (Task 1), their constructors and validation.

A single-parent graph (a forest) is a ``parents`` tuple over the context positions
0..n-1: ``parents[i]`` is an int in ``0..i-1``, or ``-1`` for a root.  The query is
position n = T - 1 and is not in it, so a graph for sequences of length T (query
included, the authors' ``seq_len``) has n = T - 1 entries.

A multi-parent graph (the authors' ``InContextDAG``) is a tuple of parent lists over
the nodes 0..T: nodes 0..T-1 are the tokens, node T is the target, whose parents form
the query.  Parents are kept in the order listed (it fixes the indexing of the
transition tensor).

Every constructor validates what it returns; bad input raises ``ValueError`` naming the
argument (``parents``, ``parent_lists``, ``T``, ``p_parent``).
"""
from __future__ import annotations

import numpy as np

from numerics.seeds import make_rng

__all__ = [
    "check_S",
    "check_alpha",
    "check_epsilon",
    "validate_parents",
    "validate_parent_lists",
    "is_single_parent",
    "chain_graph",
    "pairs_graph",
    "random_tree",
    "random_forest",
    "manual_tree",
    "two_parent_graph",
    "last_parent_graph",
    "adjacency_matrix",
    "roots",
    "depths",
    "lowest_common_ancestors",
    "to_networkx",
    "from_networkx",
]


def _as_int(value, what: str) -> int:
    """An integer from a Python/numpy/sympy integer; ValueError naming ``what`` otherwise."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    try:
        as_int = int(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be an integer, got {value!r}") from exc
    if as_int != value:
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return as_int


def _check_T(T, minimum: int = 3) -> int:
    T = _as_int(T, "T")
    if T < minimum:
        raise ValueError(f"T must be an integer >= {minimum} (sequence length incl. the query), got {T}")
    return T


def check_S(S) -> int:
    """S as an int >= 2 (ValueError naming ``S`` otherwise)."""
    S = _as_int(S, "S")
    if S < 2:
        raise ValueError(f"S must be an integer >= 2 (vocabulary size), got {S}")
    return S


def check_alpha(alpha) -> float:
    """alpha as a finite float > 0 (ValueError naming ``alpha`` otherwise)."""
    try:
        value = float(alpha)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"alpha must be a number > 0, got {alpha!r}") from exc
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"alpha must be > 0 (Dirichlet concentration), got {alpha}")
    return value


def check_epsilon(epsilon) -> float:
    """epsilon as a float in the open interval (0, 1) (ValueError naming ``epsilon``)."""
    try:
        value = float(epsilon)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"epsilon must be a number in (0, 1), got {epsilon!r}") from exc
    if not 0.0 < value < 1.0:
        raise ValueError(f"epsilon must be in (0, 1), got {epsilon}")
    return value


def validate_parents(parents) -> tuple[int, ...]:
    """Check a single-parent graph and return it as a tuple of Python ints.

    Accepts a sequence of integers (``-1`` = root) or of parent lists with at most one
    entry each (the multi-parent spelling of a forest).

    Parameters
    ----------
    parents : sequence
        ``parents[i]`` in ``0..i-1`` or ``-1``; at least 2 positions (T >= 3).

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        Naming ``parents``: an entry out of range or not before its child, a node with
        two or more parents (a single-parent graph is required), fewer than 2 positions.

    Examples
    --------
    >>> validate_parents([-1, 0, 0, [1]])
    (-1, 0, 0, 1)
    """
    if isinstance(parents, (str, bytes)) or not hasattr(parents, "__len__"):
        raise ValueError(f"parents must be a sequence of ints in 0..i-1 or -1, got {parents!r}")
    out = []
    for i, p in enumerate(parents):
        if isinstance(p, (list, tuple, np.ndarray)) and not (isinstance(p, np.ndarray) and p.ndim == 0):
            p = list(p)
            if len(p) > 1:
                raise ValueError(
                    f"parents must be a single-parent graph (a forest); position {i} has "
                    f"{len(p)} parents {p}: use the multi-parent sampler for such graphs"
                )
            if p and _as_int(p[0], f"parents[{i}]") == -1:
                raise ValueError(f"parents[{i}] must be in 0..{i - 1} when given as a list, got [-1]")
            p = p[0] if p else -1
        p = _as_int(p, f"parents[{i}]")
        if p != -1 and not 0 <= p < i:
            raise ValueError(
                f"parents[{i}] must be -1 (root) or in 0..{i - 1} (a parent comes before its child), got {p}"
            )
        out.append(p)
    if len(out) < 2:
        raise ValueError(f"parents must cover at least 2 context positions (T >= 3), got {len(out)}")
    return tuple(out)


def validate_parent_lists(parent_lists) -> tuple[tuple[int, ...], ...]:
    """Check a multi-parent graph over nodes 0..T (node T = the target) and return it as tuples.

    Parameters
    ----------
    parent_lists : sequence of sequences of int
        ``parent_lists[i]`` lists distinct parents in ``0..i-1`` (empty for a root); the last
        entry lists the target's parents.  At least 3 tokens (T >= 3).

    Raises
    ------
    ValueError
        Naming ``parent_lists``: a parent out of range or repeated, too few nodes.

    Examples
    --------
    >>> validate_parent_lists([[], [0], [0, 1], [1, 2]])
    ((), (0,), (0, 1), (1, 2))
    """
    if isinstance(parent_lists, (str, bytes)) or not hasattr(parent_lists, "__len__"):
        raise ValueError(f"parent_lists must be a sequence of parent lists, got {parent_lists!r}")
    out = []
    for i, plist in enumerate(parent_lists):
        if isinstance(plist, (int, np.integer)) or not hasattr(plist, "__iter__"):
            plist = [] if _as_int(plist, f"parent_lists[{i}]") == -1 else [plist]
        plist = tuple(_as_int(p, f"parent_lists[{i}]") for p in plist)
        for p in plist:
            if not 0 <= p < i:
                raise ValueError(
                    f"parent_lists[{i}] entries must be in 0..{i - 1} (parents before children), got {p}"
                )
        if len(set(plist)) != len(plist):
            raise ValueError(f"parent_lists[{i}] must not repeat a parent, got {list(plist)}")
        out.append(plist)
    if len(out) < 4:
        raise ValueError(
            f"parent_lists must have at least 4 nodes (3 tokens and the target, T >= 3), got {len(out)}"
        )
    return tuple(out)


def is_single_parent(parent_lists) -> bool:
    """Whether every node of a multi-parent graph has at most one parent."""
    return all(len(p) <= 1 for p in validate_parent_lists(parent_lists))


# --------------------------------------------------------------------------- constructors
def chain_graph(T: int) -> tuple[int, ...]:
    """The in-context Markov chain: p(i) = i - 1, position 0 the root (the authors' ``chain``).

    The query (position T - 1) is a fresh uniform token, not the chain's next state.

    Examples
    --------
    >>> chain_graph(5)
    (-1, 0, 1, 2)
    """
    T = _check_T(T)
    return (-1,) + tuple(range(T - 2))


def pairs_graph(T: int) -> tuple[int, ...]:
    """The (x, f(x)) pairs graph (the authors' ``icl``): p(i) = i - 1 for odd i, even i roots.

    Examples
    --------
    >>> pairs_graph(6)
    (-1, 0, -1, 2, -1)
    """
    T = _check_T(T)
    return tuple(i - 1 if i % 2 else -1 for i in range(T - 1))


def random_tree(T: int, *, seed=None, rng=None) -> tuple[int, ...]:
    """A random forest as the authors' ``random`` graph: p(i) ~ Unif{-1, 0, ..., i-1}.

    Node i is a root with probability 1/(i + 1); node 0 is always a root.

    Examples
    --------
    >>> g = random_tree(20, seed=0)
    >>> len(g), g[0]
    (19, -1)
    """
    T = _check_T(T)
    rng = make_rng(seed, rng)
    i = np.arange(T - 1)
    parents = rng.integers(-1, i)  # uniform on {-1, ..., i-1}; i = 0 gives -1
    return validate_parents(parents.tolist())


def random_forest(T: int, p_parent: float = 0.5, *, seed=None, rng=None) -> tuple[int, ...]:
    """A random forest as in the authors' ``many_graphs`` notebook (Figure 9).

    Node 0 is a root; node i >= 1 gets a parent p(i) ~ Unif{0..i-1} with probability
    ``p_parent`` and is a root otherwise (the notebook's ``p = 0.5`` is the root probability,
    so its default graph law is the same).

    Examples
    --------
    >>> random_forest(6, 1.0, seed=0)[0]
    -1
    """
    T = _check_T(T)
    if not 0.0 <= float(p_parent) <= 1.0:
        raise ValueError(f"p_parent must be in [0, 1], got {p_parent}")
    rng = make_rng(seed, rng)
    i = np.arange(1, T - 1)
    candidate = rng.integers(0, i)  # uniform on {0..i-1}
    keep = rng.random(T - 2) < float(p_parent)
    parents = np.concatenate([[-1], np.where(keep, candidate, -1)])
    return validate_parents(parents.tolist())


def manual_tree() -> tuple[int, ...]:
    """The authors' small illustrative tree: (-1, 0, 0, 1, 2), used with S = 3, T = 6."""
    return (-1, 0, 0, 1, 2)


def two_parent_graph(T: int = 32) -> tuple[tuple[int, ...], ...]:
    """The two-parent graph of Figure 5: nodes 0, 1 roots, p(i) = [(i-1)//2, i-1] for 2 <= i <= T.

    Node T is the target; with T = 32 its parents are positions 15 and 31.

    Examples
    --------
    >>> two_parent_graph(4)
    ((), (), (0, 1), (1, 2), (1, 3))
    """
    T = _check_T(T)
    return validate_parent_lists([[], []] + [[(i - 1) // 2, i - 1] for i in range(2, T + 1)])


def last_parent_graph(parent_lists) -> tuple[tuple[int, ...], ...]:
    """Keep only the last listed parent of each node: the graph of the "one NN" baseline.

    For :func:`two_parent_graph` this is the in-context bigram p(i) = [i - 1].
    """
    lists = validate_parent_lists(parent_lists)
    return tuple(p[-1:] for p in lists)


# --------------------------------------------------------------------------- structure
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


# --------------------------------------------------------------------------- networkx
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
