"""Figures of Zheng et al. 2024, "On Mesa-Optimization in Autoregressively Trained Transformers".

Each figure trains the authors' model (``validation.mesa.train_mesa``: d = 5, T = 100, full-batch
GD with Table 1's step sizes) and draws the theory of ``theory.mesa`` dashed: the flow c(tau) of
Theorem 4.1 at tau = lr * epoch (``numerics.mesa.integrate_flow``), the exact finite-T fixed point
c* and, dotted, the paper's T -> oo line 1/(5 sigma^2) (the erratum: 0.19191/sigma^2 at T = 100).

The runs and their sizes per profile are :mod:`validation.runs.zheng2024`'s (``paper``: m = 10^4,
every init of every Table 1 scale, two runs side by side; ``quick``: a few hundred sequences, each
figure well under two minutes on two cores); they come from the run store, so fig1's six runs are
six of fig1_appendix's eighteen and a second call trains nothing.
"""
from __future__ import annotations

import time

import numpy as np

from numerics.mesa import c_star, integrate_flow, manifold_gd, position_error_curve
from numerics.seeds import child_rng
from paper_figs.artifacts import save_figure
from paper_figs.style import THEORY, figure_style
from theory import mesa as tm
from validation.mesa import TABLE1, table1_step
from validation.runs import zheng2024 as runs

__all__ = ["PAPER", "fig1", "fig1_appendix", "fig5_random_init", "fig7_full_one", "fixed_point_vs_T",
           "start_curvature", "diagonal_hessian"]

PAPER = "zheng2024"
D, T_LEN, INITS = runs.D, runs.T_PAPER, runs.INITS
RATE_KEY = 7  #: child_rng(seed, RATE_KEY): the Monte Carlo over the per-coordinate counts of a sparse run
PAPER_LINE = dict(color="black", linestyle=":", linewidth=1.1, zorder=5)  # the paper's T -> oo line


def _flow_c(r, law, masked=False):
    """c(tau) of the gradient flow from the run's start, tau = lr * epoch (theory, scipy)."""
    taus = r.lr * np.arange(r.epochs + 1)
    a, b = integrate_flow(r.config["a0"], r.config["b0"], r.d, r.T, law, taus, masked=masked)
    return a * b


def _trained(result, ax, arrays, law, a0, b0, m):
    """The run, or None when GD diverged at this step size and sample (noted on the plot and in the npz)."""
    if not isinstance(result, runs.Diverged):
        return result
    ax.plot([], [], " ", label=f"a0={a0:g}, b0={b0:g}: diverged (m = {m})")
    arrays[f"diverged_{law}_{a0:g}_{b0:g}"] = np.array(result.message)
    return None


def _ab_runs(ax, cfg, law, inits, arrays, results):
    """For each init that trains: (run, epochs, flow c(tau), line), with ab(epoch) and the flow drawn on ``ax``."""
    for (a0, b0), result in zip(inits, results):
        r = _trained(result, ax, arrays, law, a0, b0, cfg["m"])
        if r is None:
            continue
        ep = np.arange(r.epochs + 1)
        flow = _flow_c(r, law)
        (line,) = ax.plot(ep, r.ab, label=f"a0={a0:g}, b0={b0:g}")
        ax.plot(ep, flow, **THEORY)
        yield r, ep, flow, line


def _gauss_law(sigma):
    return f"gaussian({sigma:g})"


def _sparse_law(c):
    return f"sparse_axis({c:g})"


def diagonal_hessian(law: str, a, b, T: int = T_LEN) -> np.ndarray:
    """Population Hessian of the diagonal-manifold loss at A = diag(a), B = diag(b) (derived; notes 3.2).

    For exchangeable x_1, L = 1/2 sum_j [S (m2 - 2 k1 a_j b_j + k2 a_j^2 b_j^2) + H k3 b_j^2 sum_{k != j} a_k^2]
    (``theory.mesa.diagonal_loss``), so with u = S k1, v = S k2, w = H k3 and the parameters ordered
    (a_1..a_d, b_1..b_d): d2L/da_i^2 = v b_i^2 + w sum_{j != i} b_j^2, d2L/db_i^2 = v a_i^2 + w sum_{k != i} a_k^2,
    d2L/da_i db_i = 2 v a_i b_i - u, d2L/da_i db_k = 2 w a_i b_k (i != k), the rest 0.  A test compares it
    with sympy's Hessian of ``theory.mesa.diagonal_loss``.
    """
    k = tm.loss_coefficients(D, T, law)
    u, v, w = float(k["S"] * k["k1"]), float(k["S"] * k["k2"]), float(k["H"] * k["k3"])
    a, b = np.broadcast_to(np.asarray(a, float), (D,)), np.broadcast_to(np.asarray(b, float), (D,))
    a2, b2 = a**2, b**2
    haa = np.diag(v * b2 + w * (b2.sum() - b2))
    hbb = np.diag(v * a2 + w * (a2.sum() - a2))
    hab = 2 * w * np.outer(a, b)
    np.fill_diagonal(hab, 2 * v * a * b - u)
    return np.block([[haa, hab], [hab.T, hbb]])


def start_curvature(law: str, a0: float, b0: float, lr: float, T: int = T_LEN) -> float:
    """lr x the largest eigenvalue of the population Hessian of the diagonal-manifold loss at (a0 I, b0 I)
    (derived; > 2: no local stability argument covers the first step, e.g. 2.34 for Table 1's
    sigma = 2, (2, 2), lr = 2e-6; tests/test_zheng2024_theory.py::test_table1_sigma2_step_overshoots_then_converges)."""
    return float(lr * np.linalg.eigvalsh(diagonal_hessian(law, a0, b0, T)).max())


def _save_run(arrays, prefix, r, flow):
    """What the companions need of one Figure 1 run: its finite-sample fixed point and SE, its non-red norm."""
    arrays[f"{prefix}_cemp"] = np.array([r.c_empirical, r.c_empirical_se])
    arrays[f"{prefix}_offred"] = r.offred_norm
    arrays[f"{prefix}_lr"] = np.array(r.lr)


def _gauss_panels(axes, cfg, sigma, inits, arrays, results):
    law = _gauss_law(sigma)
    T = cfg.get("T", T_LEN)
    exact = c_star(D, T, law)
    arrays[f"gauss{sigma:g}_cstar"] = np.array(exact)
    for (a0, b0), result in zip(inits, results):  # the start's curvature, whether or not the run trained
        lr = result.lr if not isinstance(result, runs.Diverged) else table1_step(law)[0]
        arrays[f"gauss{sigma:g}_edge_{a0:g}_{b0:g}"] = np.array(start_curvature(law, a0, b0, lr, T))
    cemp = []
    for r, ep, flow, line in _ab_runs(axes[0], cfg, law, inits, arrays, results):
        a0, b0 = r.config["a0"], r.config["b0"]
        axes[1].plot(ep, r.ratio, color=line.get_color())
        axes[1].plot(ep, flow * sigma**2, **THEORY)
        arrays[f"gauss{sigma:g}_ab_{a0:g}_{b0:g}"] = r.ab
        arrays[f"gauss{sigma:g}_ratio_{a0:g}_{b0:g}"] = r.ratio
        arrays[f"gauss{sigma:g}_flow_{a0:g}_{b0:g}"] = flow
        _save_run(arrays, f"gauss{sigma:g}_{a0:g}_{b0:g}", r, flow)
        cemp.append((r.c_empirical, r.c_empirical_se))
    if cemp:
        c_emp, se = cemp[0]
        axes[0].axhspan(c_emp - se, c_emp + se, color="grey", alpha=0.2,
                        label=f"finite-sample fixed point {c_emp:.4f} +- 1 SE (m = {cfg['m']})")
    edges = [f"({a0:g}, {b0:g})" for a0, b0 in inits if arrays[f"gauss{sigma:g}_edge_{a0:g}_{b0:g}"] > 2]
    if edges:
        axes[0].text(0.02, 0.02, f"start {', '.join(edges)}: lr x lambda_max > 2, beyond local stability;\n"
                                 f"on m = {cfg['m']} it may leave the scalar manifold: not a test of Thm 4.1",
                     transform=axes[0].transAxes, fontsize=7, va="bottom")
    axes[0].axhline(exact, **THEORY, label=f"exact c* = {exact:.4f} (flow dashed)")
    axes[0].axhline(0.2 / sigma**2, **PAPER_LINE, label=f"paper 1/(5 sigma^2) = {0.2 / sigma**2:.4g}")
    axes[0].set(title=f"Gaussian x1, sigma = {sigma:g}: ab", xlabel="epoch", ylabel="ab (log)", yscale="log")
    axes[1].axhline(exact * sigma**2, **THEORY, label=f"exact c* sigma^2 = {exact * sigma**2:.4f}")
    axes[1].axhline(0.2, **PAPER_LINE, label="paper 0.2")
    axes[1].set(title="ratio pred/true at the last position", xlabel="epoch", ylabel="mean Re(y_hat/x) (log)",
                yscale="log")
    for ax in axes:
        ax.legend()


def _sparse_panels(axes, cfg, c, inits, arrays, results):
    law = _sparse_law(c)
    for r, ep, flow, line in _ab_runs(axes[0], cfg, law, inits, arrays, results):
        a0, b0 = r.config["a0"], r.config["b0"]
        mse_theory = np.array([position_error_curve([r.T - 1], float(f), D, law)[0] for f in flow])
        axes[1].semilogy(ep, np.maximum(r.test_mse, 1e-300), color=line.get_color())
        axes[1].semilogy(ep, np.maximum(mse_theory, 1e-300), **THEORY)
        arrays[f"sparse{c:g}_ab_{a0:g}_{b0:g}"] = r.ab
        arrays[f"sparse{c:g}_mse_{a0:g}_{b0:g}"] = r.test_mse
        arrays[f"sparse{c:g}_flow_{a0:g}_{b0:g}"] = flow
        _save_run(arrays, f"sparse{c:g}_{a0:g}_{b0:g}", r, flow)
        # each coordinate j runs the manifold recursion at lr f_j, f_j = d n_j / m with (n_j) ~ Multinomial(m, 1/d)
        # (the sequences whose active axis is j), so the final ab = mean_j c_K(f_j): its law, by Monte Carlo over
        # the counts with c_K(f) interpolated on a grid of rates (the range at m = 150 is too wide to linearise)
        fs = np.linspace(0.0, 3.0, 121)
        ends = np.full(fs.shape, np.nan)
        for i, f in enumerate(fs[1:], 1):
            try:
                a, b = manifold_gd(a0, b0, D, r.T, law, r.lr * f, r.epochs)
                ends[i] = a[-1] * b[-1]
            except ValueError:  # this rate diverges; a draw that needs it counts as nan
                pass
        ends[0] = a0 * b0
        counts = child_rng(r.seed, RATE_KEY).multinomial(r.m, np.full(D, 1.0 / D), size=4000)
        samples = np.interp(D * counts / r.m, fs, ends, right=np.nan).mean(axis=1)
        arrays[f"sparse{c:g}_{a0:g}_{b0:g}_rate_law"] = np.array([np.nanmean(samples), np.nanstd(samples),
                                                                  np.isnan(samples).mean()])
    axes[0].axhline(1 / c**2, **THEORY, label=f"theory 1/c^2 = {1 / c**2:g} (flow dashed)")
    axes[0].set(title=f"sparse x1 (Example 4.1), c = {c:g}: ab", xlabel="epoch", ylabel="ab")
    axes[1].set(title="test MSE at the last position (theory -> 0)", xlabel="epoch", ylabel="|y_hat - x|^2")
    axes[0].legend()


def fig1(*, profile="quick", out="results", seed=0):
    """Figure 1: Gaussian (sigma = 2) ab and ratio, sparse (c = 1) ab and MSE, three diagonal inits."""
    started, cfg = time.perf_counter(), runs.figure_settings(profile, seed)
    arrays = {}
    results = runs.figure_runs(cfg, runs.ab_configs(cfg, _gauss_law(2.0), INITS)
                               + runs.ab_configs(cfg, _sparse_law(1.0), INITS))
    with figure_style() as plt:
        fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
        _gauss_panels(axes[:2], cfg, 2.0, INITS, arrays, results[:len(INITS)])
        _sparse_panels(axes[2:], cfg, 1.0, INITS, arrays, results[len(INITS):])
        return save_figure(fig, out, PAPER, "fig1", arrays=arrays, started=started,
                           config=dict(cfg, d=D, T=cfg.get("T", T_LEN), inits=INITS, table1=str(TABLE1)))


def fig1_appendix(*, profile="quick", out="results", seed=0):
    """Appendix versions of Figure 1: every scale of Table 1 (Gaussian 0.5, 1, 2; sparse 0.5, 1, 2)."""
    started, cfg = time.perf_counter(), runs.figure_settings(profile, seed)
    arrays = {}
    scales = ((0.5, 0.5), (1.0, 1.0), (2.0, 2.0))
    inits = cfg["appendix_inits"]
    laws = [law for sigma, c in scales for law in (_gauss_law(sigma), _sparse_law(c))]
    results = runs.figure_runs(cfg, [config for law in laws for config in runs.ab_configs(cfg, law, inits)])
    per_law = {law: results[i * len(inits):(i + 1) * len(inits)] for i, law in enumerate(laws)}
    with figure_style() as plt:
        fig, axes = plt.subplots(3, 4, figsize=(15, 10))
        for row, (sigma, c) in enumerate(scales):
            _gauss_panels(axes[row, :2], cfg, sigma, inits, arrays, per_law[_gauss_law(sigma)])
            _sparse_panels(axes[row, 2:], cfg, c, inits, arrays, per_law[_sparse_law(c)])
        return save_figure(fig, out, PAPER, "fig1_appendix", arrays=arrays, started=started,
                           config=dict(cfg, d=D, T=cfg.get("T", T_LEN), table1=str(TABLE1)))


def _heat(ax, W, title, plt):
    lim = max(float(np.abs(W).max()), 1e-12)
    im = ax.imshow(W, vmin=-lim, vmax=lim)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    plt.colorbar(im, ax=ax, shrink=0.8)


def fig5_random_init(*, profile="quick", out="results", seed=0):
    """Figure 5: Gaussian x1 (sigma = 1), every weight N(0, sigma_w^2) at the start: W^KQ, W^PV heat maps."""
    started, cfg = time.perf_counter(), runs.figure_settings(profile, seed)
    law, arrays = "gaussian(1)", {}
    exact = c_star(D, cfg.get("T", T_LEN), law)
    # the diagonal start (0.1, 0.1) on the same data: the caption's "same test performance" reference
    *results, diag = runs.figure_runs(cfg, runs.random_init_configs(cfg))
    if isinstance(diag, runs.Diverged):
        raise ValueError(diag.message)
    arrays.update(diag_test_mse=np.array([diag.test_mse[-1], diag.test_mse_se]), diag_ab=diag.ab,
                  diag_cemp=np.array([diag.c_empirical, diag.c_empirical_se]))
    with figure_style() as plt:
        ncol = len(cfg["sigma_w"])
        fig, axes = plt.subplots(3, ncol, figsize=(4.2 * ncol, 10), squeeze=False)
        for j, (sw, r) in enumerate(zip(cfg["sigma_w"], results)):
            if isinstance(r, runs.Diverged):
                raise ValueError(r.message)
            _heat(axes[0, j], r.W_KQ.real, f"W^KQ (sigma_w = {sw:g})", plt)
            _heat(axes[1, j], r.W_PV.real, f"W^PV (sigma_w = {sw:g})", plt)
            ep = np.arange(r.epochs + 1)
            axes[2, j].plot(ep, r.ab, label="ab (mean diag of red blocks)")
            axes[2, j].plot(ep, r.offred_norm, label="|non-red blocks|")
            axes[2, j].plot(ep, r.offdiag_norm, label="|red off-diagonals|")
            axes[2, j].axhline(exact, **THEORY, label=f"c* = {exact:.4f}")
            axes[2, j].plot(ep, diag.ab, color="grey", linewidth=0.8, label="ab, diagonal start (0.1, 0.1)")
            axes[2, j].set(xlabel="epoch", title="dynamics")
            axes[2, j].legend()
            arrays.update({f"W_KQ_{sw:g}": r.W_KQ.real, f"W_PV_{sw:g}": r.W_PV.real, f"ab_{sw:g}": r.ab,
                           f"offred_{sw:g}": r.offred_norm, f"test_mse_{sw:g}": r.test_mse,
                           f"test_mse_se_{sw:g}": np.array(r.test_mse_se)})
        return save_figure(fig, out, PAPER, "fig5", arrays=arrays, started=started,
                           config=dict(cfg, d=D, law=law, c_star=exact))


def fig7_full_one(*, profile="quick", out="results", seed=0):
    """Figure 7: full-one start, heat maps of W^KQ, W^PV for three inits, masked and unmasked, and ab."""
    started, cfg = time.perf_counter(), runs.figure_settings(profile, seed)
    law, arrays = "full_one(1)", {}
    T = cfg.get("T", T_LEN)
    masked_c = float(tm.masked_fixed_point(D, T))
    results = iter(runs.figure_runs(cfg, runs.full_one_configs(cfg)))  # INITS x (masked, unmasked)
    with figure_style() as plt:
        fig, axes = plt.subplots(3, 5, figsize=(19, 10))
        for i, (a0, b0) in enumerate(INITS):
            for k, mask in enumerate((True, False)):
                r = _trained(next(results), axes[i, 4], arrays, law, a0, b0, cfg["fig7_m"])
                if r is None:
                    continue
                tag = "masked" if mask else "unmasked"
                _heat(axes[i, 2 * k], r.W_KQ.real, f"W^KQ {tag}, ({a0:g}, {b0:g})", plt)
                _heat(axes[i, 2 * k + 1], r.W_PV.real, f"W^PV {tag}, ({a0:g}, {b0:g})", plt)
                ep = np.arange(r.epochs + 1)
                axes[i, 4].plot(ep, r.ab, label=f"{tag}: final {r.final_ab:.4f}")
                if mask:
                    axes[i, 4].plot(ep, _flow_c(r, law, masked=True), **THEORY)
                arrays.update({f"W_KQ_{tag}_{a0:g}_{b0:g}": r.W_KQ.real, f"W_PV_{tag}_{a0:g}_{b0:g}": r.W_PV.real,
                               f"ab_{tag}_{a0:g}_{b0:g}": r.ab, f"loss_{tag}_{a0:g}_{b0:g}": r.loss,
                               f"cemp_{tag}_{a0:g}_{b0:g}": np.array([r.c_empirical, r.c_empirical_se])})
                if mask:
                    arrays[f"flow_masked_{a0:g}_{b0:g}"] = _flow_c(r, law, masked=True)
            axes[i, 4].axhline(masked_c, **THEORY, label=f"masked c* = {masked_c:.4f} (flow dashed)")
            axes[i, 4].set(title=f"ab, init ({a0:g}, {b0:g})", xlabel="epoch")
            axes[i, 4].legend()
        return save_figure(fig, out, PAPER, "fig7", arrays=arrays, started=started,
                           config=dict(cfg, d=D, law=law, masked_c_star=masked_c))


def fixed_point_vs_T(*, profile="quick", out="results", seed=0):
    """c*(T) exact (Theorem 4.1 at finite T) against its limit k1/k2, with trained points on it (not in the paper).

    d = 5: sampled runs (+- 1 delta-method SE); d = 2: runs on the exact phase grid (the training set
    is the population), which must sit on the exact curve to rounding.
    """
    started, cfg = time.perf_counter(), runs.figure_settings(profile, seed)
    law = "gaussian(1)"
    Ts = np.unique(np.round(np.logspace(np.log10(3), 3, 80)).astype(int))
    exact = {dd: np.array([c_star(dd, int(T), law) for T in Ts]) for dd in (D, 2)}
    limit = float(tm.fixed_point_limit(D, law))
    sweep, grid = runs.sweep_configs(cfg), runs.grid_configs(cfg)
    longest_first = sorted(range(len(sweep)), key=lambda i: -cfg["sweep_T"][i])  # two at a time: balance the load
    results = runs.figure_runs(cfg, [sweep[i] for i in longest_first] + grid)
    swept = dict(zip(longest_first, results[:len(sweep)]))
    for r in list(swept.values()) + results[len(sweep):]:
        if isinstance(r, runs.Diverged):
            raise ValueError(r.message)
    trained = [swept[i].final_ab for i in range(len(sweep))]
    se = [swept[i].c_empirical_se for i in range(len(sweep))]
    grid_ab = [r.final_ab for r in results[len(sweep):]]
    with figure_style() as plt:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        ax.semilogx(Ts, exact[D], **THEORY, label=f"exact c*(T), d = {D}, sigma = 1")
        ax.semilogx(Ts, exact[2], **{**THEORY, "linestyle": "-.", "linewidth": 0.9}, label="exact c*(T), d = 2")
        ax.axhline(limit, **PAPER_LINE, label=f"limit k1/k2 = {limit:g} (the paper's line)")
        ax.errorbar(cfg["sweep_T"], trained, yerr=np.array(se), fmt="o", capsize=3,
                    label=f"trained ab, d = {D}, m = {cfg['sweep_m']} (+- 1 SE)")
        ax.plot(cfg["grid_T"], grid_ab, "s", mfc="none", label="trained ab, d = 2, exact phase grid")
        ax.axvline(100, color="grey", linewidth=0.8)
        ax.annotate(f"T = 100: {c_star(D, 100, law):.5f}", (100, c_star(D, 100, law)), xytext=(5, -15),
                    textcoords="offset points")
        ax.set(xlabel="T", ylabel="ab", title="Theorem 4.1 fixed point vs sequence length")
        ax.legend()
        return save_figure(fig, out, PAPER, "fixed_point_vs_T", started=started,
                           arrays=dict(T=Ts, exact=exact[D], exact_d2=exact[2], sweep_T=np.array(cfg["sweep_T"]),
                                       trained=np.array(trained), se=np.array(se),
                                       grid_T=np.array(cfg["grid_T"]), grid_ab=np.array(grid_ab),
                                       exact_at_sweep=np.array([c_star(D, int(T), law) for T in cfg["sweep_T"]]),
                                       exact_at_grid=np.array([c_star(2, int(T), law) for T in cfg["grid_T"]])),
                           config=dict(cfg, d=D, law=law, limit=limit))
