"""Time of each symbolic derivation (issue 2, item 8: target < 2 s each); writes benchmarks/results/symbolic.json.

Each derivation's first call in this process is reported as ``first_s`` (what a user of
``icl-theory derive`` waits for; sympy's cache may already hold pieces shared with an earlier
row) and a repeat as ``repeat_s``.  The list covers the results the README's table derives plus
the heavier constructions; it is a measurement, not a test.

Usage: ``python -m benchmarks.symbolic``.
"""
from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import sympy as sp

from benchmarks import write_result

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "symbolic.json"


def _derivations():
    from theory import causal as C
    from theory import lsa as L
    from theory import mesa as M
    from theory.laws import Gaussian, SparseAxis, Uniform

    d, N, eta, gamma, alpha, T, c, tau, c0 = sp.symbols("d N eta gamma alpha T c tau c0", positive=True)
    half = Uniform(sp.Rational(1, 2))
    return {
        "lsa.one_step_loss (symbolic eta, d, N, Gaussian(sigma))": lambda: L.one_step_loss(
            eta, d, N, Gaussian(sp.Symbol("sigma", positive=True))),
        "lsa.optimal_step_size (d = N = 10, U(-1/2,1/2))": lambda: L.optimal_step_size(10, 10, half),
        "lsa.optimal_step_size (symbolic, noise and task variance)": lambda: L.optimal_step_size(
            d, N, Gaussian(1), noise_var=sp.Symbol("s", positive=True), task_var=tau),
        "lsa.zfb_preconditioner (3 x 3 Lambda)": lambda: L.zfb_preconditioner(
            sp.Matrix([[2, 1, 0], [1, 2, 1], [0, 1, 3]]), 5),
        "lsa.lsa_gd_residual (2, 2, 3)": lambda: L.lsa_gd_residual(2, 2, 3),
        "lsa.lsa_gd_residual (3, 2, 4)": lambda: L.lsa_gd_residual(3, 2, 4),
        "lsa.k_layer_gd_residual (2, 1, 3, K = 2)": lambda: L.k_layer_gd_residual(2, 1, 3, 2),
        "lsa.gdpp_residual": lambda: L.gdpp_residual(2, 1, 3),
        "lsa.gdpp_eigenvalue_facts": lambda: L.gdpp_eigenvalue_facts(gamma),
        "lsa.copy_attention_weights (2, 1, 3)": lambda: L.copy_attention_weights(2, 1, 3),
        "lsa.ood_input_scale_loss (alpha = 2)": lambda: L.ood_input_scale_loss(2, 10, 10),
        "mesa.reduced_loss (symbolic c, d, T, Gaussian)": lambda: M.reduced_loss(c, d, T, Gaussian(1)),
        "mesa.fixed_point (d = 5, T = 100, Gaussian)": lambda: M.fixed_point(5, 100, Gaussian(1)),
        "mesa.fixed_point (symbolic d, T, SparseAxis)": lambda: M.fixed_point(d, T, SparseAxis(1)),
        "mesa.balanced_flow (symbolic)": lambda: M.balanced_flow(tau, c0, d, T, Gaussian(1)),
        "mesa.structural_lemma (d = 2, T = 4)": lambda: M.structural_lemma(2, 4),
        "mesa.recovers_distribution (Gaussian, d = 5)": lambda: M.recovers_distribution(Gaussian(1), 5),
        "mesa.full_one_offdiag_gradients (d = 3, T = 12)": lambda: M.full_one_offdiag_gradients(
            1, sp.Rational(3, 10), 3, 12),
        "causal.binary_cross_information (k = 3, symbolic alpha)": lambda: C.binary_cross_information(3, alpha),
        "causal.binary_data_processing_inequality (k = 3)": lambda: C.binary_data_processing_inequality(3, alpha),
        "causal.binary_forest_information (4 nodes)": lambda: C.binary_forest_information(
            (-1, 0, 1, 1), sp.Rational(1, 10)),
        "causal.expected_first_order_gradient (3 nodes, large T)": lambda: C.expected_first_order_gradient(
            (-1, 0, 1), sp.Matrix([[sp.Rational(1, 2)] * 2, [sp.Rational(1, 4), sp.Rational(3, 4)]]),
            large_T=True),
        "causal.expected_row_entropy (S = 10, alpha = 1/10)": lambda: C.expected_row_entropy(10, sp.Rational(1, 10)),
    }


def main() -> dict:
    rows = {}
    for name, fn in _derivations().items():
        start = time.perf_counter()
        fn()
        first = time.perf_counter() - start
        start = time.perf_counter()
        fn()
        repeat = time.perf_counter() - start
        rows[name] = {"first_s": first, "repeat_s": repeat, "under_2s": first < 2.0}
        print(f"{first:8.3f} s  {repeat:8.3f} s  {name}", file=sys.stderr)
    result = {
        "benchmark": "time of each symbolic derivation (target < 2 s)",
        "machine": {"python": platform.python_version(), "sympy": sp.__version__},
        "derivations": rows,
        "slowest_first_s": max(r["first_s"] for r in rows.values()),
    }
    write_result(OUT, result)
    print(json.dumps({k: v for k, v in result.items() if k != "derivations"}, indent=2))
    return result


if __name__ == "__main__":
    main()
