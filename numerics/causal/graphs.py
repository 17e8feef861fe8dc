"""Latent causal graphs of Nichani, Damian, Lee 2024 (Task 1): the graph vocabulary, its validation
and the constructors of the papers' graphs.

A single-parent graph (a forest) is a ``parents`` tuple over the context positions
0..n-1: ``parents[i]`` is an int in ``0..i-1``, or ``-1`` for a root.  The query is
position n = T - 1 and is not in it, so a graph for sequences of length T (query
included, the authors' ``seq_len``) has n = T - 1 entries.

A multi-parent graph (the authors' ``InContextDAG``) is a tuple of parent lists over
the nodes 0..T: nodes 0..T-1 are the tokens, node T is the target, whose parents form
the query.  Parents are kept in the order listed (it fixes the indexing of the
transition tensor).

The argument checks of the task (``check_S``, ``check_alpha``, ``check_epsilon``,
``validate_parents``, ``validate_parent_lists``) live here and are public: every other module of
the model, in this layer and in ``validation.causal``, checks its graphs and sizes with them.
Every constructor validates what it returns; bad input raises ``ValueError`` naming the
argument (``parents``, ``parent_lists``, ``T``, ``p_parent``).
"""
from __future__ import annotations

import numpy as np

from numerics.seeds import make_rng
from theory.args import integer, positive, real

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
]


def check_S(S) -> int:
    """The vocabulary size S: an integer >= 2 (``ValueError`` naming ``S`` otherwise)."""
    return integer(S, "S", minimum=2)


def check_alpha(alpha) -> float:
    """The Dirichlet concentration alpha: a finite number > 0, as a float (``ValueError`` naming ``alpha``)."""
    return positive(alpha, "alpha")


def check_epsilon(epsilon) -> float:
    """The smoothing epsilon of the log loss: a number in the open interval (0, 1), as a float."""
    value = real(epsilon, "epsilon")
    if not 0.0 < value < 1.0:
        raise ValueError(f"epsilon must be a number in (0, 1), got {epsilon!r}")
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
            if p and integer(p[0], f"parents[{i}]") == -1:
                raise ValueError(f"parents[{i}] must be in 0..{i - 1} when given as a list, got [-1]")
            p = p[0] if p else -1
        p = integer(p.item() if isinstance(p, np.ndarray) else p, f"parents[{i}]")
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
            plist = [] if integer(plist, f"parent_lists[{i}]") == -1 else [plist]
        plist = tuple(integer(p, f"parent_lists[{i}]") for p in plist)
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


def chain_graph(T: int) -> tuple[int, ...]:
    """The in-context Markov chain: p(i) = i - 1, position 0 the root (the authors' ``chain``).

    The query (position T - 1) is a fresh uniform token, not the chain's next state.

    Examples
    --------
    >>> chain_graph(5)
    (-1, 0, 1, 2)
    """
    T = integer(T, "T", minimum=3)  # the sequence length, query included
    return (-1,) + tuple(range(T - 2))


def pairs_graph(T: int) -> tuple[int, ...]:
    """The (x, f(x)) pairs graph (the authors' ``icl``): p(i) = i - 1 for odd i, even i roots.

    Examples
    --------
    >>> pairs_graph(6)
    (-1, 0, -1, 2, -1)
    """
    T = integer(T, "T", minimum=3)  # the sequence length, query included
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
    T = integer(T, "T", minimum=3)  # the sequence length, query included
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
    T = integer(T, "T", minimum=3)  # the sequence length, query included
    p_parent = real(p_parent, "p_parent", low=0.0, high=1.0)
    rng = make_rng(seed, rng)
    i = np.arange(1, T - 1)
    candidate = rng.integers(0, i)  # uniform on {0..i-1}
    keep = rng.random(T - 2) < p_parent
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
    T = integer(T, "T", minimum=3)  # the sequence length, query included
    return validate_parent_lists([[], []] + [[(i - 1) // 2, i - 1] for i in range(2, T + 1)])


def last_parent_graph(parent_lists) -> tuple[tuple[int, ...], ...]:
    """Keep only the last listed parent of each node: the graph of the "one NN" baseline.

    For :func:`two_parent_graph` this is the in-context bigram p(i) = [i - 1].
    """
    lists = validate_parent_lists(parent_lists)
    return tuple(p[-1:] for p in lists)
