"""The one-step GD loss when k of the N context labels are replaced by noise (von Oswald et al. 2023).

The authors' code tests its trained models on "noisy data" (``size_distract`` in ``create_reg_data``,
``noisy_data_ana`` in ``train.py``; notes §2.1): in every task, k of the N context targets, chosen
uniformly without replacement, are replaced by independent draws xi_i ~ N(0, label_var) (label_var = 1
in the code), for k = 0, 2, 4, 6, 8 and 10^4 tasks.  The paper shows the trained layer and GD degrade
alike; it gives no formula.  Here the loss of one GD step from W0 = 0 under that corruption is derived
in closed form [derived].

Derivation.  Let R be the replaced set (|R| = k) and K its complement (M = N - k clean labels).
y_hat = (eta/N) sum_{i in K} y_i x_i.x_q + (eta/N) sum_{i in R} xi_i x_i.x_q.  The xi_i are independent
of everything else and have mean 0, so the cross term vanishes and

  E 1/2 (y_hat - y_q)^2 = E 1/2 ((eta/N) sum_{i in K} y_i x_i.x_q - y_q)^2
                          + 1/2 (eta/N)^2 k label_var E (x.x')^2,

with x, x' independent draws of the law: E (x.x')^2 = tr(E[x x^T]^2) = tr M^2.  The first term is
one GD step on the M clean points with step eta M / N (the same predictor: (eta M/N)/M = eta/N), i.e.
``one_step_loss(eta M / N, d, M, law, noise_var, task_var)`` (for M = 0: the zero predictor's loss).
None of it depends on WHICH labels were replaced: the GD predictor is symmetric in the context points
and the points are i.i.d., so the expectation over the uniformly chosen set R is the value for any
fixed R (the tests check this by summing over every R for a discrete law, exactly).
"""
from __future__ import annotations

import itertools

import sympy as sp

from theory.args import integer, symbolic_integer, symbolic_nonnegative, symbolic_positive, symbolic_real
from theory.laws import as_law
from theory.lsa.losses import one_step_loss, optimal_step_size, second_moment_matrix_traces, zero_predictor_loss

__all__ = ["noisy_label_loss", "noisy_label_optimal_loss", "noisy_label_loss_enumerated"]


def noisy_label_loss(eta, d, N, k, law, label_var=1, noise_var=0, task_var=1) -> sp.Expr:
    """E[1/2 (y_hat - y_q)^2] of one GD step when k of the N context labels are replaced by noise [derived].

    von Oswald et al. 2023's noisy-label test (the code's ``size_distract``): k context targets,
    chosen uniformly without replacement, become xi ~ N(0, label_var); y_hat = (eta/N) sum_i y_i x_i.x_q.
    With M = N - k and tr M^2 = tr(E[x x^T]^2):

        Loss = one_step_loss(eta M/N, d, M, law, noise_var, task_var) + 1/2 (eta/N)^2 k label_var tr M^2,

    the first term being the zero predictor's loss when M = 0 (derivation in the module docstring).

    Parameters
    ----------
    eta : step size (number or symbol).
    d : input dimension (integer >= 1, or a symbol).  N : context length (integer >= 1).
    k : number of replaced labels, an integer 0 <= k <= N.
    law : a :class:`theory.laws.Law` (or its spelling) of x_i and x_q.
    label_var : variance of the replacement labels (1 in the code).
    noise_var, task_var : label-noise variance of the clean labels and the query, task variance.

    Examples
    --------
    >>> noisy_label_loss(sp.Rational(200, 33), 10, 10, 0, "uniform(1/2)")
    245/1188
    >>> noisy_label_loss(0, 10, 10, 4, "uniform(1/2)")
    5/12
    """
    eta = symbolic_real(eta, "eta")
    law = as_law(law)
    d = symbolic_integer(d, "d", 1)
    N = integer(N, "N", minimum=1)
    k = integer(k, "k", minimum=0, maximum=N)
    label_var = symbolic_nonnegative(label_var, "label_var")
    noise_var = symbolic_nonnegative(noise_var, "noise_var")
    task_var = symbolic_positive(task_var, "task_var")
    M = N - k
    clean = (zero_predictor_loss(d, law, noise_var, task_var) if M == 0
             else one_step_loss(eta * M / N, d, M, law, noise_var, task_var))
    trM2 = second_moment_matrix_traces(d, law)["trM2"]
    return sp.simplify(clean + (eta / N) ** 2 * k * label_var * trM2 / 2)


def noisy_label_optimal_loss(d, N, k, law, label_var=1, noise_var=0, task_var=1) -> sp.Expr:
    """:func:`noisy_label_loss` at the clean optimum eta* = ``optimal_step_size(d, N, law)`` [derived].

    The step size the code's GD baseline uses in the noisy-label test (tuned on clean tasks and then
    held fixed), and the one a trained layer implements.

    Examples
    --------
    >>> noisy_label_optimal_loss(10, 10, 0, "uniform(1/2)")
    245/1188
    """
    eta = optimal_step_size(d, N, law, noise_var, task_var)
    return noisy_label_loss(eta, d, N, k, law, label_var, noise_var, task_var)


def noisy_label_loss_enumerated(eta, d, N, k, scale=1, label_var=1, task_var=1) -> sp.Expr:
    """:func:`noisy_label_loss` for Rademacher inputs by brute force: every input draw, every replaced set.

    An independent route to the closed form [derived]: x_i, x_q uniform on {-scale, scale}^d, so the
    expectation over inputs is a finite average over all 2^(d (N+1)) draws; for each draw and EACH of the
    C(N, k) replaced sets R (uniformly chosen, as the code's ``jax.random.choice(..., replace=False)``),
    the expectation over w ~ N(0, task_var I) and xi ~ N(0, label_var) is taken by hand:
    E 1/2 (y_hat - y_q)^2 = 1/2 task_var |(A - I) x_q|^2 + 1/2 label_var (eta/N)^2 sum_{i in R} (x_i.x_q)^2,
    A = (eta/N) sum_{i not in R} x_i x_i^T.  Exact rationals; small sizes only (d (N+1) <= 12).

    Examples
    --------
    >>> half = sp.Rational(1, 2)
    >>> noisy_label_loss_enumerated(half, 1, 2, 1) == noisy_label_loss(half, 1, 2, 1, "rademacher(1)")
    True
    """
    eta, scale = symbolic_real(eta, "eta"), symbolic_positive(scale, "scale")
    d, N = integer(d, "d", minimum=1), integer(N, "N", minimum=1)
    k = integer(k, "k", minimum=0, maximum=N)
    if d * (N + 1) > 12:
        raise ValueError(f"d (N + 1) must be <= 12 for the enumeration, got {d * (N + 1)}")
    label_var = symbolic_nonnegative(label_var, "label_var")
    task_var = symbolic_positive(task_var, "task_var")
    sets = list(itertools.combinations(range(N), k))
    total = sp.Integer(0)
    for signs in itertools.product((-1, 1), repeat=d * (N + 1)):
        xs = [sp.Matrix(d, 1, signs[i * d:(i + 1) * d]) * scale for i in range(N + 1)]
        x_q = xs[N]
        dots = [(xs[i].T * x_q)[0, 0] for i in range(N)]
        for R in sets:
            clean = [i for i in range(N) if i not in R]
            r = sum((xs[i] * dots[i] for i in clean), sp.zeros(d, 1)) * eta / N - x_q   # (A - I) x_q
            total += task_var * (r.T * r)[0, 0] + label_var * (eta / N) ** 2 * sum(dots[i] ** 2 for i in R)
    return sp.simplify(total / (2 * 2 ** (d * (N + 1)) * len(sets)))
