"""Checks of von Oswald et al. 2023's Propositions 2 and 3 along a trained route, and the noisy-label closed form.

Part of the ``vonoswald2023`` check table (``validation.checks.vonoswald2023.CHECKS``).

- :func:`check_noisy_label_closed_form` [derived]: the one-step GD loss with k of the N context labels
  replaced by N(0, 1) noise (the code's ``size_distract``), ``theory.lsa.noisy_label_loss``, exactly
  against a brute-force enumeration (Rademacher inputs, every input draw and every replaced set) and
  against Monte Carlo (the code's law and a Gaussian law with label noise) at 5 SE.
- :func:`check_prop2_sine_kernel_smoother` and :func:`check_prop3_interleaved_copy`: see their docstrings.

Seed rule: the draws of a group called with ``seed=K`` are ``numerics.seeds.child_rng(CHECK_SEED + K, 90, ...)``.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from numerics.lsa import noisy_label_losses, noisy_label_mc
from numerics.seeds import child_rng
from theory.lsa import noisy_label_loss, noisy_label_loss_enumerated, optimal_step_size
from validation.checks import CheckResult, check_profile
from validation.runs.vonoswald2023 import CHECK_SEED, LAW, PAPER

__all__ = ["check_noisy_label_closed_form", "PROPS_CHECKS"]


def check_noisy_label_closed_form(profile: str, seed: int = 0):
    """Noisy labels [derived]: the closed form equals an exact enumeration and Monte Carlo at 5 SE."""
    check_profile(profile)
    eta = sp.Symbol("eta")
    half = sp.Rational(1, 2)
    sizes = (2, 3) if profile == "quick" else (2, 4)
    worst = 0
    for k in range(sizes[1] + 1):
        diff = sp.simplify(noisy_label_loss_enumerated(eta, *sizes, k, half, label_var=sp.Rational(3, 2), task_var=2)
                           - noisy_label_loss(eta, *sizes, k, f"rademacher({half})", label_var=sp.Rational(3, 2),
                                              task_var=2))
        worst = max(worst, 0 if diff == 0 else 1)
    rows = [CheckResult(PAPER, f"Noisy labels: closed form = exact enumeration over inputs and replaced sets "
                        f"(Rademacher, (d, N) = {sizes}, every k, symbolic eta)", 0.0, float(worst), 0.0, worst == 0,
                        "theory.lsa.noisy_label_loss_enumerated: 2^(d(N+1)) input draws x C(N, k) sets; exact",
                        source="derived")]
    n = 20_000 if profile == "quick" else 100_000
    ks = [0, 2, 4, 6, 8, 10]
    for name, law, kw in (("the code's U(-1/2, 1/2), d = N = 10, eta*", LAW, {}),
                          ("Gaussian(1), d = 5, N = 8, label noise 0.25, task var 2", "gaussian(1)",
                           dict(noise_var=0.25, task_var=2.0))):
        d, N = (10, 10) if law is LAW else (5, 8)
        step = float(optimal_step_size(d, N, law, kw.get("noise_var", 0), kw.get("task_var", 1)))
        ks_here = [k for k in ks if k <= N]
        mc, se = noisy_label_mc(step, d, N, ks_here, law, n_tasks=n, rng=child_rng(CHECK_SEED + seed, 90, d), **kw)
        exact = noisy_label_losses(step, d, N, ks_here, law, **kw)
        z = np.abs(mc - exact) / se
        j = int(np.argmax(z))
        rows.append(CheckResult(PAPER, f"Noisy labels: one-step GD loss = closed form under k corrupted labels ({name})",
                                0.0, float(z.max()), 5.0, bool(z.max() <= 5.0),
                                f"largest |MC - exact| / SE over k = {ks_here} (at k = {ks_here[j]}: exact "
                                f"{exact[j]:.5f}, MC {mc[j]:.5f}); {n} tasks per k; 5 SE", source="derived"))
    return rows


#: this module's check groups, appended to ``validation.checks.vonoswald2023.CHECKS``
PROPS_CHECKS = [check_noisy_label_closed_form]
