"""Figure 13 of von Oswald et al. 2023: the spectrum of X X^T and the GD++ curvature correction."""
from __future__ import annotations

import time

import numpy as np
import sympy as sp

from numerics.lsa import fit_gdpp, gdpp_condition_numbers, gram_spectrum, sample_tasks
from numerics.seeds import child_rng, child_seed
from paper_figs.artifacts import save_figure
from paper_figs.style import THEORY, figure_style
from paper_figs.vonoswald2023.common import as_curve, figure_config, setup
from theory.lsa import gdpp_eigenvalue_facts, gdpp_eigenvalue_map
from validation.runs.vonoswald2023 import D, PAPER

__all__ = ["PAPER_FIG13", "fig13_gdpp_spectrum"]

#: the paper's Fig 13 numbers (read from its text and plots): lambda_min, lambda_max of X X^T over
#: 10^4 tasks, and gamma of trained recurrent 2-layer models, for N = 10, 25, 50, 100
PAPER_FIG13 = {"N": (10, 25, 50, 100), "lam_min": (1e-10, 0.097, 0.666, 2.870),
               "lam_max": (4.6, 7.712, 10.845, 17.196), "gamma": (0.179, 0.099, 0.056, 0.029)}


def _fig13_data(cfg: dict, seed: int):
    """Spectra of X X^T and fitted recurrent 2-step GD++ gammas for the N of Fig 13."""
    lam_min, lam_max, gammas, spectra = [], [], [], {}
    for N in PAPER_FIG13["N"]:
        spec = gram_spectrum(sample_tasks(cfg["spectrum_tasks"], D, int(N), rng=child_rng(seed, 1300 + N)).X)
        spectra[int(N)] = spec.eigenvalues
        lam_min.append(spec.lam_min)
        lam_max.append(spec.lam_max)
        fit = fit_gdpp(2, d=D, N=int(N), recurrent=True, n_fit=cfg["fit_tasks"], n_eval=cfg["fit_tasks"],
                       seed=child_seed(seed, 13, int(N)))
        gammas.append(float(fit.gammas[0]))
    return lam_min, lam_max, gammas, spectra


def fig13_gdpp_spectrum(*, profile="quick", out="results", seed=0):
    """Figure 13: the spectrum of X X^T and the GD++ curvature correction.

    (a) min / max eigenvalue of X X^T over the tasks for N = 10, 25, 50, 100 (the paper's values
    annotated; they match U(-1/2, 1/2), not U(-1, 1), where they would be 4x larger);
    (b) the GD++ eigenvalue map f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3 (dashed,
    ``theory.lsa.gdpp_eigenvalue_map``) at the fitted gamma for N = 25 over the eigenvalues' range,
    root 1/gamma and maximum at 1/(3 gamma); (c) condition number of f(X X^T) over the tasks vs
    gamma for N = 25 (median and 10-90 % band); (d) gamma of recurrent 2-step GD++ fitted by
    ``numerics.lsa.fit_gdpp`` vs the paper's trained 2-layer models.
    """
    from theory.lsa import gdpp_eigenvalue_facts, gdpp_eigenvalue_map

    started = time.perf_counter()
    cfg = setup(profile, seed)
    Ns = np.array(PAPER_FIG13["N"])
    lam_min, lam_max, gammas, spectra = _fig13_data(cfg, seed)
    g25 = gammas[1]
    lam25 = spectra[25]
    gamma_grid = np.linspace(0.0, 0.2, cfg["gamma_points"])
    kappa = np.array([gdpp_condition_numbers(lam25, float(g)) for g in gamma_grid])  # (G, n)
    q = np.nanpercentile(np.where(np.isfinite(kappa), kappa, np.nan), [10, 50, 90], axis=1)
    lam_grid = np.linspace(0.0, max(float(lam25.max()), 1.0 / g25) * 1.05, 200)
    lam_s, gam_s = sp.symbols("lam gamma")
    f = sp.lambdify((lam_s, gam_s), gdpp_eigenvalue_map(lam_s, gam_s), "numpy")
    facts = gdpp_eigenvalue_facts(sp.nsimplify(g25))
    arrays = dict(N=Ns, lam_min=np.array(lam_min), lam_max=np.array(lam_max), gamma_fit=np.array(gammas),
                  paper_lam_min=np.array(PAPER_FIG13["lam_min"]), paper_lam_max=np.array(PAPER_FIG13["lam_max"]),
                  paper_gamma=np.array(PAPER_FIG13["gamma"]), gamma_grid=gamma_grid, kappa_q10_50_90=q,
                  lam_grid=lam_grid, theory_map=as_curve(lambda x: f(x, g25), lam_grid), gamma_25=np.array(g25))
    with figure_style() as plt:
        fig, ax = plt.subplots(1, 4, figsize=(13, 3.1))
        a = ax[0]
        a.plot(Ns, lam_max, "o-", label="max eig (ours)")
        a.plot(Ns, np.maximum(lam_min, 1e-12), "o-", label="min eig (ours)")
        a.plot(Ns, 4 * np.array(lam_max), ":", color="C0", lw=1.0, label="max eig if x ~ U(-1, 1) (4x)")
        a.plot(Ns, PAPER_FIG13["lam_max"], "kx", ms=7, label="paper")
        a.plot(Ns, PAPER_FIG13["lam_min"], "kx", ms=7)
        for N, lo, hi in zip(Ns, PAPER_FIG13["lam_min"], PAPER_FIG13["lam_max"]):
            a.annotate(f"{hi:g}", (N, hi), textcoords="offset points", xytext=(3, 4), fontsize=7)
            a.annotate(f"{lo:g}", (N, lo), textcoords="offset points", xytext=(3, -9), fontsize=7)
        a.set(xscale="log", yscale="log", xlabel="N", ylabel="eigenvalue of X X^T",
              title=f"(a) spectrum over {cfg['spectrum_tasks']} tasks")
        a.legend()
        a = ax[1]
        a.axvspan(float(lam25.min()), float(lam25.max()), color="C0", alpha=0.15, label="eigenvalues, N = 25")
        a.plot(lam_grid, arrays["theory_map"], **THEORY, label=f"f(lam), gamma = {g25:.3f}")
        a.plot(lam_grid, lam_grid, color="0.6", lw=0.8, label="identity")
        a.plot([float(facts["argmax"])], [float(facts["max"])], "kv", label="max 4/(27 gamma) at 1/(3 gamma)")
        a.axvline(1 / g25, color="0.4", lw=0.8, ls=":", label="root 1/gamma")
        a.set(xlabel="lam", ylabel="f(lam)", ylim=(0, 1.2 * float(facts["max"]) + 0.5),
              title="(b) GD++ eigenvalue map")
        a.legend(loc="upper left")
        a = ax[2]
        a.fill_between(gamma_grid, q[0], q[2], color="C0", alpha=0.2, lw=0, label="10-90 % of tasks")
        a.plot(gamma_grid, q[1], color="C0", label="median condition number")
        a.axvline(g25, color="C1", lw=1.0, label=f"fitted gamma {g25:.3f}")
        a.axvline(PAPER_FIG13["gamma"][1], **THEORY, label=f"paper gamma {PAPER_FIG13['gamma'][1]}")
        a.axvline(1 / float(lam25.max()), color="0.4", lw=0.8, ls=":", label="1 / max eig: f(lam_max) = 0")
        a.set(yscale="log", xlabel="gamma", ylabel="cond f(X X^T)", title="(c) condition number, N = 25")
        a.legend()
        a = ax[3]
        a.plot(Ns, gammas, "o-", label="fitted recurrent 2-step GD++")
        a.plot(Ns, PAPER_FIG13["gamma"], "kx", ms=7, label="paper (trained 2-layer TF)")
        for N, g in zip(Ns, PAPER_FIG13["gamma"]):
            a.annotate(f"{g:g}", (N, g), textcoords="offset points", xytext=(4, 3), fontsize=7)
        a.set(xscale="log", yscale="log", xlabel="N", ylabel="gamma", title="(d) curvature correction")
        a.legend()
        config = figure_config(cfg, profile, seed, paper=PAPER_FIG13, lam_min=lam_min, lam_max=lam_max,
                               gamma_fit=gammas, eigenvalue_facts_N25={k: str(v) for k, v in facts.items()},
                               note="gamma is fitted on MC tasks (recurrent 2-step GD++), not read from a trained "
                                    "model")
        return save_figure(fig, out, PAPER, "fig13", arrays=arrays, config=config, started=started)
