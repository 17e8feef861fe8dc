"""Out-of-distribution losses of one GD step (von Oswald et al. 2023, Fig. 2d and 6) and the input-law erratum.

The training law is the authors' code's U(-1/2, 1/2) (``input_range`` = 1); the paper writes
U(-1, 1).  Every loss here is :func:`theory.lsa.losses.one_step_loss` at a step size tuned on
the training law and evaluated on another law or task scale.
"""
from __future__ import annotations

import sympy as sp

from theory.args import symbolic_positive
from theory.laws import Law, Uniform, as_law
from theory.lsa.losses import one_step_loss, optimal_one_step_loss, optimal_step_size

__all__ = ["TRAIN_LAW", "ood_input_scale_loss", "ood_task_scale_loss", "input_range_erratum"]

#: the code's U(-1/2, 1/2) (input_range = 1), the law every von Oswald et al. model is trained on
TRAIN_LAW: Law = Uniform(sp.Rational(1, 2))


def ood_input_scale_loss(alpha, d, N, eta=None) -> sp.Expr:
    """One-step GD loss on inputs U(-alpha/2, alpha/2) (derived, notes §7.3; the curve of von Oswald et al.
    2023, Fig. 2d / 6).

    ``alpha`` is the FULL width of the interval (the code's ``input_range``; the paper's axis
    label "U(-alpha, alpha)" is an erratum).  ``eta`` defaults to the optimal step size at the
    training width alpha = 1.  With s^2 = alpha^2/12 and k = 9/5:
    Loss = 1/2 s^2 d [1 - 2 eta s^2 + eta^2 s^4 (N + d - 1/5)/N]; for d = N = 10 this is
    0.0812, 0.2062, 1.204, 8.401 at alpha = 1/2, 1, 3/2, 2.

    Examples
    --------
    >>> ood_input_scale_loss(1, 10, 10)
    245/1188
    """
    alpha = symbolic_positive(alpha, "alpha")
    if eta is None:
        eta = optimal_step_size(d, N, TRAIN_LAW)
    return one_step_loss(eta, d, N, Uniform(alpha / 2))


def ood_task_scale_loss(alpha, d, N, eta=None, law=TRAIN_LAW) -> sp.Expr:
    """One-step GD loss when the task is scaled, w -> alpha w (derived: alpha^2 L; von Oswald et al. 2023, Fig. 6).

    Prediction and target are both linear in w, so the loss is alpha^2 times the training loss;
    computed here as the loss with task variance alpha^2.  ``eta`` defaults to the optimal step
    size of ``law`` (default U(-1/2, 1/2)) with unit task variance.

    Examples
    --------
    >>> ood_task_scale_loss(2, 10, 10)
    245/297
    """
    alpha = symbolic_positive(alpha, "alpha")
    law = as_law(law)
    if eta is None:
        eta = optimal_step_size(d, N, law)
    return one_step_loss(eta, d, N, law, task_var=alpha**2)


def input_range_erratum(d=10, N=10) -> dict:
    """Optimal one-step GD loss under the paper's U(-1, 1) and the code's U(-1/2, 1/2).

    von Oswald et al. 2023 state x ~ U(-1, 1); their code draws U(-1/2, 1/2).  Their "GD loss of
    0.2" matches the code: for d = N = 10 the closed form gives 245/1188 = 0.2062 (code) versus
    245/297 = 0.8249 (paper's statement), a factor 4 = (ratio of variances).

    Returns
    -------
    dict with keys ``paper_uniform(1)`` and ``code_uniform(1/2)``.

    Examples
    --------
    >>> input_range_erratum()
    {'paper_uniform(1)': 245/297, 'code_uniform(1/2)': 245/1188}
    """
    return {"paper_uniform(1)": optimal_one_step_loss(d, N, Uniform(1)),
            "code_uniform(1/2)": optimal_one_step_loss(d, N, TRAIN_LAW)}
