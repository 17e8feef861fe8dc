"""Latent forests of Nichani, Damian, Lee 2024 exactly (sympy): the graph, its tree distances, the
S = 2 information matrix on it and the information gap of the theorem.

A forest is a ``parents`` tuple over the context positions 0..n-1: ``parents[i]`` in 0..i-1, or -1
for a root.  :func:`validate_parents` is the graph check of the exact layer, shared by
:mod:`theory.causal.gradient`.
"""
from __future__ import annotations

import sympy as sp

from theory.args import ArgumentError, symbolic_positive
from theory.causal.binary import binary_lambda_moment

__all__ = [
    "validate_parents",
    "tree_distances",
    "binary_forest_information",
    "information_gap",
    "binary_information_gap",
]


def validate_parents(parents) -> tuple[int, ...]:
    """A forest as a tuple of Python ints, checked: ``parents[i]`` is -1 (a root) or in 0..i-1.

    Entries may be Python, numpy or sympy integers; a list entry (a multi-parent node) is refused,
    as are fewer than 2 positions (T >= 3).  ``ValueError`` naming ``parents`` otherwise.

    Examples
    --------
    >>> validate_parents([-1, 0, sp.Integer(1)])
    (-1, 0, 1)
    """
    if isinstance(parents, str) or not hasattr(parents, "__iter__"):
        raise ArgumentError(f"parents must be a sequence of ints in 0..i-1 or -1, got {parents!r}")
    out = []
    for i, p in enumerate(parents):
        expr = sp.sympify(p) if not hasattr(p, "__iter__") else None
        if expr is None or not expr.is_Integer or not (int(expr) == -1 or 0 <= int(expr) < i):
            raise ArgumentError(f"parents[{i}] must be -1 (root) or in 0..{i - 1} (single parent), got {p!r}")
        out.append(int(expr))
    if len(out) < 2:
        raise ArgumentError(f"parents must cover at least 2 context positions (T >= 3), got {len(out)}")
    return tuple(out)


def tree_distances(parents) -> sp.Matrix:
    """Matrix of tree distances between positions of a forest; -1 across trees.

    Examples
    --------
    >>> tree_distances((-1, 0, 0, -1))
    Matrix([
    [ 0,  1,  1, -1],
    [ 1,  0,  2, -1],
    [ 1,  2,  0, -1],
    [-1, -1, -1,  0]])
    """
    return _distances(validate_parents(parents))


def _distances(parents: tuple[int, ...]) -> sp.Matrix:
    n = len(parents)
    chains = []
    for i in range(n):  # ancestors of i with their distance, i itself at 0
        chain, node, d = {}, i, 0
        while node >= 0:
            chain[node] = d
            node, d = parents[node], d + 1
        chains.append(chain)
    out = sp.zeros(n, n)
    for i in range(n):
        for j in range(n):
            common = [chains[i][c] + chains[j][c] for c in chains[i] if c in chains[j]]
            out[i, j] = min(common) if common else -1
    return out


def binary_forest_information(parents, alpha) -> sp.Matrix:
    """Exact n x n matrix of I~_{j,i} for S = 2 on a forest: entry [i, j] = E[lambda^(d(i,j) + 1)], j <= i.

    The two nodes descend from their lowest common ancestor (stationary law mu) by a and b
    steps; reversibility gives P_ji = diag(mu) pi^(a+b), so I~ depends only on the tree
    distance d = a + b.  Entries across trees and above the diagonal are 0; the diagonal is
    E[lambda] = 0.  The exact counterpart of numerics.causal.information_matrix at S = 2.

    Examples
    --------
    >>> binary_forest_information((-1, 0, 0), 1)
    Matrix([
    [  0, 0, 0],
    [1/6, 0, 0],
    [1/6, 0, 0]])
    """
    alpha = symbolic_positive(alpha, "alpha")
    dist = _distances(validate_parents(parents))
    n = dist.rows
    out = sp.zeros(n, n)
    for i in range(n):
        for j in range(i + 1):
            if dist[i, j] >= 0:
                out[i, j] = binary_lambda_moment(int(dist[i, j]) + 1, alpha)
    return out


def information_gap(information, parents) -> sp.Expr:
    """Delta = min over non-roots i of [ I[i, p(i)] - max_{j <= i, j != p(i)} I[i, j] ].

    ``information`` is an n x n Matrix with entry [i, j] = I~_{j,i} (as from
    :func:`binary_forest_information`).  The maximum runs over the whole causal row, the
    diagonal included, so Delta > 0 means the parent wins the row of the first-layer gradient
    (the theorem's information-gap assumption).
    """
    parents = validate_parents(parents)
    M = sp.Matrix(information)
    if M.shape != (len(parents), len(parents)):
        raise ArgumentError(f"information must be {len(parents)} x {len(parents)}, got {M.shape}")
    margins = []
    for i, p in enumerate(parents):
        if p < 0:
            continue
        others = [M[i, j] for j in range(i + 1) if j != p]
        margins.append(M[i, p] - sp.Max(*others))
    if not margins:
        raise ArgumentError("parents must have at least one non-root position for the gap to exist")
    return sp.simplify(sp.Min(*margins))


def binary_information_gap(parents, alpha) -> sp.Expr:
    """Delta for S = 2 in closed form (symbolic alpha allowed).

    Row i holds E[lambda^2] at the parent and E[lambda^(d+1)] elsewhere: 0 for even d + 1,
    and decreasing in odd d (:func:`binary_data_processing_inequality`).  So the margin of
    node i is E[lambda^2] - E[lambda^(d_i + 1)] with d_i the smallest odd distance >= 3 in its
    row (E[lambda^2] if none), and Delta takes the smallest d_i over the graph.

    Examples
    --------
    >>> binary_information_gap((-1, 0, 1, 2), 1)  # chain: 1/6 - 1/15
    1/10
    """
    parents = validate_parents(parents)
    alpha = symbolic_positive(alpha, "alpha")
    dist = _distances(parents)
    candidates = []
    for i, p in enumerate(parents):
        if p < 0:
            continue
        odd = [int(dist[i, j]) for j in range(i + 1) if j != p and dist[i, j] >= 3 and dist[i, j] % 2]
        candidates.append(min(odd) if odd else None)
    if not candidates:
        raise ArgumentError("parents must have at least one non-root position for the gap to exist")
    finite = [d for d in candidates if d is not None]
    worst = min(finite) if finite else None  # the smallest odd distance has the largest E[lambda^(d+1)]
    edge = binary_lambda_moment(2, alpha)
    if worst is None:
        return edge
    return sp.factor(sp.simplify(edge - binary_lambda_moment(worst + 1, alpha)))
