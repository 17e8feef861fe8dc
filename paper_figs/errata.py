"""Where the papers, their code and the derivations disagree: one record per item.

Each record names what the paper says, what holds (the authors' code, or a derivation
checked here) and the check or figure of this project that shows it.  The README's
errata table and the report's are both written from this list.
"""
from __future__ import annotations

__all__ = ["ERRATA"]

ERRATA = [
    # --- von Oswald et al. 2023 -------------------------------------------------
    dict(paper="vonoswald2023", item="input distribution",
         paper_says="x ~ U(-1, 1)^d",
         holds="the code draws U(-r/2, r/2)^d with r = 1, i.e. U(-1/2, 1/2): the one-step GD loss is "
               "0.2062 there (the paper's 'GD loss of 0.2') and 0.8249 under U(-1, 1) (d = N = 10)",
         shown_by="check 'errata: one-step loss under U(-1/2,1/2) vs U(-1,1)'; "
                  "icl-theory derive one_step_loss eta=200/33 d=10 N=10 law='uniform(1/2)'"),
    dict(paper="vonoswald2023", item="OOD input axis",
         paper_says="x ~ U(-alpha, alpha)",
         holds="the code passes alpha as the full width: x ~ U(-alpha/2, alpha/2)",
         shown_by="figure fig6 (closed-form OOD curve in the code's convention)"),
    dict(paper="vonoswald2023", item="OOD with other input laws",
         paper_says="'alpha scales the input values'",
         holds="the code normalises the context to Frobenius norm alpha (the query by the same factor)",
         shown_by="numerics.lsa OOD sampler; figure fig6"),
    dict(paper="vonoswald2023", item="optimiser and clipping",
         paper_says="default Adam, gradient clipping at global norm 10, lr 5e-4 from K = 3",
         holds="AdamW(b1 0.9, b2 0.98, eps 1e-8); clip 0.001 for K <= 2 and 10 above; 5e-4 only for K > 3",
         shown_by="validation.lsa.train_lsa defaults (documented there)"),
    dict(paper="vonoswald2023", item="initialisation",
         paper_says="std 0.002/K",
         holds="variance scale 0.002/K over fan-in (truncated normal)",
         shown_by="validation.lsa.train_lsa"),
    dict(paper="vonoswald2023", item="step-size line search",
         paper_says="line search over 10^4 tasks",
         holds="a 250-point grid 0.001 + 0.1k tuned on the evaluation tasks themselves; "
               "the exact optimum is eta* = 200/33 = 6.0606",
         shown_by="check 'eta* = line search on Monte Carlo'"),
    dict(paper="vonoswald2023", item="GD++ gamma and spectrum (Fig 13)",
         paper_says="gamma = 0.179 (N = 10), lambda_max(XX^T) = 4.6",
         holds="under U(-1/2,1/2): fitted recurrent 2-step GD++ gamma ~ 0.175, lambda_max ~ 4.2; "
               "both would be ~4x off under U(-1, 1)",
         shown_by="checks on GD++ gamma and the spectrum; figure fig13"),
    dict(paper="vonoswald2023", item="GD++ condition number (Fig 13, N = 25)",
         paper_says="for gamma -> 0.099 the condition number concentrates near 1",
         holds="under the stated map f(lam) = lam (1 - gamma lam)^2 on the U(-1/2,1/2) spectrum the median "
               "condition number falls from 10.6 (gamma = 0) to 3.8 (gamma = 0.099), is lowest (2.84) near "
               "gamma = 0.145 and explodes past 1/lambda_max ~ 0.142; a value near 1 is impossible for this "
               "map, so the paper plotted another quantity",
         shown_by="figure fig13 (panel c)"),
    dict(paper="vonoswald2023", item="lambda_max(XX^T) over 10^4 tasks (Fig 13)",
         paper_says="4.6 / 7.712 / 10.845 / 17.196 for N = 10 / 25 / 50 / 100",
         holds="a maximum over tasks is one draw of a skewed statistic: over 100 blocks of 10^4 tasks its mean "
               "(SD) is 4.48 (0.22) / 7.12 (0.26) / 10.74 (0.34) / 17.09 (0.52); the paper's N = 25 value sits "
               "near the 97th percentile, all four consistent with U(-1/2,1/2) and ~4x off under U(-1,1)",
         shown_by="check 'spectrum of XX^T' (tolerance 5 replicate SDs); figure fig13"),
    dict(paper="vonoswald2023", item="Fig 9 title",
         paper_says="W_K^T W_V",
         holds="the heat map is the key-query product (W_K^T W_Q), with P W_V beside it",
         shown_by="figure fig9"),
    dict(paper="vonoswald2023", item="loss convention",
         paper_says="'loss'",
         holds="every reported loss is 1/2 MSE (the zero predictor sits at 1/2 sigma^2 d = 0.4167)",
         shown_by="theory.lsa.one_step_loss (the 1/2 convention)"),
    # --- Zheng et al. 2024 ------------------------------------------------------
    dict(paper="zheng2024", item="Gaussian theory line (Fig 1)",
         paper_says="ab -> 1/(5 sigma^2)",
         holds="that is the T -> infinity limit; at d = 5, T = 100 the exact fixed point of Theorem 4.1 is "
               "0.19191/sigma^2 (about 4 % lower), through the (d - 1) H_{T-2} k3 term",
         shown_by="check 'errata: exact c* at d = 5, T = 100'; figures fig1 and fixed_point_vs_T"),
    dict(paper="zheng2024", item="training",
         paper_says="gradient flow on the population loss",
         holds="full-batch GD on m = 10^4 finite sequences: the trained ab sits at the fixed point of the "
               "empirical loss, which differs from the population one by the sampling error of E x^6",
         shown_by="trained fixed-point check (tolerance argued from m)"),
    dict(paper="zheng2024", item="random initialisation (Fig 5)",
         paper_says="reported",
         holds="not in the released code (diagonal initialisation only); implemented here",
         shown_by="figure fig5"),
    dict(paper="zheng2024", item="Table 1 step size for sigma = 2 with the (2, 2) start",
         paper_says="lr = 2e-6",
         holds="the scalar stability criterion lr * curvature is 1.57 of 2 in the population and 1.50-1.65 "
               "on samples of 10^4 sequences: close to divergence (m = 400 diverges within 2 epochs)",
         shown_by="fig1_appendix (a diverged run is named in the legend, not plotted as NaNs); "
                  "validation.mesa.train_mesa stops with ValueError naming lr"),
    dict(paper="zheng2024", item="stable step sizes (our notes, Section 8.6)",
         paper_says="the scalar-direction rule decides stability",
         holds="the off-diagonal (non-red) directions can be stiffer: on the exact full-one grid (d = 3, "
               "T = 8, masked) lr = 0.05 lets rounding noise grow to a non-red norm of 0.25 (ab 0.4715 "
               "instead of 0.5505); lr = 0.02 is exact",
         shown_by="tests/test_zheng2024_validation.py (population-GD runs use stable steps)"),
    dict(paper="zheng2024", item="logged test quantities",
         paper_says="test MSE and the prediction/truth ratio",
         holds="the code logs 1/2 sum over all positions and adds 1e-5 to the ratio's denominator; here "
               "test_mse is |y_hat_{T-1} - x_T|^2 at the last position (the quantity of position_error) and "
               "the ratio skips coordinates with x_T = 0",
         shown_by="validation.mesa.MesaResult (documented)"),
    dict(paper="zheng2024", item="token embedding",
         paper_says="e_t = (0, x_t, x_{t-1}) in C^{3d}",
         holds="the code drops the zero block: e_t = (x_t, x_{t-1}); equivalent for the prediction",
         shown_by="validation.mesa (code layout, documented)"),
    # --- Nichani, Damian, Lee 2024 ----------------------------------------------
    dict(paper="nichani2024", item="Bayes baseline",
         paper_says="the 'Bayes' loss line",
         holds="the authors' estimator counts roots whenever the last context token equals the query: "
               "chain loss 1.7753 instead of 1.7625 at S = 10, T = 20, alpha = 0.1; the correct one is used",
         shown_by="check 'errata: Bayes baseline'; figures fig2/fig6"),
    dict(paper="nichani2024", item="training algorithm",
         paper_says="layer-wise Algorithm 1 on a reduced model",
         holds="the experiments train the full disentangled transformer jointly (SGD lr 1 cosine, or AdamW); "
               "both are implemented",
         shown_by="validation.causal.train_two_stage and train_disentangled"),
    dict(paper="nichani2024", item="prior regularity",
         paper_says="pi(s'|s) >= gamma/S",
         holds="the experiments' Dir(0.1) rows violate it; stationary laws need GTH elimination",
         shown_by="numerics.causal.stationary_distribution tests"),
    dict(paper="nichani2024", item="first-step gradient of A1 (our notes, Section 4.2)",
         paper_says="c_i = pi(s_i | s_T)/f_hat(s_i) - 1",
         holds="the -1 is the target mass of the labels present in the sequence; the exact derivative is "
               "c_i = pi(s_i|s_T)/(f_hat(s_i)+eps) - sum_y pi(y|s_T) f_hat(y)/(f_hat(y)+eps), which differs "
               "whenever a label is missing (S = 3, T = 12: -0.1730 vs -0.1766; autograd -0.1732)",
         shown_by="tests/test_nichani2024_theory.py::test_notes_minus_one_form_fails_when_a_label_is_absent"),
    dict(paper="nichani2024", item="A2(0) = 0",
         paper_says="zero initialisation",
         holds="with A2 = 0 the A1 gradient is exactly 0: Algorithm 1 needs beta0 > 0",
         shown_by="theory.causal first-order expansion"),
]
