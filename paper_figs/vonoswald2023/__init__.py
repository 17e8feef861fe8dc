"""Figures of von Oswald et al. 2023, "Transformers learn in-context by gradient descent".

One function per paper figure; each takes its trained LSA models from the run store
(``validation.runs.vonoswald2023``), evaluates the GD / GD++ baselines of ``numerics.lsa`` and
draws the closed forms of ``theory.lsa`` dashed, so every picture is also a check.  Settings are
the authors' code's (notes §0): d = N = 10, x ~ U(-1/2, 1/2)^d (the paper writes U(-1, 1)),
w ~ N(0, I), losses are 1/2 MSE; the OOD axis alpha is the code's ``input_range`` (full width,
U(-alpha/2, alpha/2)).

Profiles: ``"quick"`` (one seed, shortened training; every figure well under two minutes on
two cores) and ``"paper"`` (5 seeds, 5000 steps tied / 50000 untied, 10^4 evaluation tasks); the
sizes are ``validation.runs.vonoswald2023.PROFILES``.  fig1_right, fig2, fig6, fig9 and fig10 share
one training run, fig3 and fig6 the deep ones.  Each figure's json records what a profile shortened.

Modules by idea: :mod:`~paper_figs.vonoswald2023.one_layer` (Fig 2, 9),
:mod:`~paper_figs.vonoswald2023.deep` (Fig 3), :mod:`~paper_figs.vonoswald2023.ood` (Fig 6),
:mod:`~paper_figs.vonoswald2023.rollouts` (Fig 1 right, 10), :mod:`~paper_figs.vonoswald2023.spectrum`
(Fig 13), :mod:`~paper_figs.vonoswald2023.sine` (Fig 4), :mod:`~paper_figs.vonoswald2023.interleaved` (Fig 5),
:mod:`~paper_figs.vonoswald2023.noisy` (the noisy-label test), :mod:`~paper_figs.vonoswald2023.deep_models`
(Figs 7, 8, 14: deep recurrent, MLP + 4 heads, LayerNorm), :mod:`~paper_figs.vonoswald2023.deep_seeds`
(Fig 15: seeds, 1 vs 2 heads, grokking), :mod:`~paper_figs.vonoswald2023.softmax` (Figs 11, 12, 16: softmax
heads, fixed training sets), what they share in :mod:`~paper_figs.vonoswald2023.common`, and the
figure-claim companions (``FIGURE_CHECKS``: each figure's claim asserted from its own arrays) in
:mod:`~paper_figs.vonoswald2023.companions` (Figs 1-3, 6, 9, 10, 13),
:mod:`~paper_figs.vonoswald2023.companions_sine` (Figs 4, 5, noisy labels),
:mod:`~paper_figs.vonoswald2023.companions_deep` (Figs 7, 8, 14, 15) and
:mod:`~paper_figs.vonoswald2023.companions_softmax` (Figs 11, 12, 16).
"""
from paper_figs.vonoswald2023.companions import FIGURE_CHECKS as _ONE_LAYER_CHECKS
from paper_figs.vonoswald2023.companions_deep import FIGURE_CHECKS_DEEP
from paper_figs.vonoswald2023.companions_sine import SINE_FIGURE_CHECKS
from paper_figs.vonoswald2023.companions_softmax import SOFTMAX_FIGURE_CHECKS
from paper_figs.vonoswald2023.deep import fig3_deep_vs_gd_and_gdpp
from paper_figs.vonoswald2023.deep_models import fig7_recurrent_ten_layers, fig8_deep_mlp_four_heads, fig14_layernorm
from paper_figs.vonoswald2023.deep_seeds import fig15_seeds_heads_grokking
from paper_figs.vonoswald2023.interleaved import fig5_interleaved_copying
from paper_figs.vonoswald2023.noisy import noisy_labels_vs_gd
from paper_figs.vonoswald2023.one_layer import fig2_one_layer_vs_gd, fig9_weight_heatmaps
from paper_figs.vonoswald2023.ood import fig6_out_of_distribution
from paper_figs.vonoswald2023.rollouts import fig1_right_dampened_rollout, fig10_dampened_rollouts
from paper_figs.vonoswald2023.sine import fig4_sine_kernel_regression
from paper_figs.vonoswald2023.softmax import fig11_softmax_head_weights, fig12_softmax_heads_vs_gd, fig16_fixed_training_set
from paper_figs.vonoswald2023.spectrum import fig13_gdpp_spectrum

__all__ = [
    "FIGURES",
    "FIGURE_CHECKS",
    "fig1_right_dampened_rollout",
    "fig2_one_layer_vs_gd",
    "fig3_deep_vs_gd_and_gdpp",
    "fig4_sine_kernel_regression",
    "fig5_interleaved_copying",
    "fig6_out_of_distribution",
    "fig7_recurrent_ten_layers",
    "fig8_deep_mlp_four_heads",
    "fig9_weight_heatmaps",
    "fig10_dampened_rollouts",
    "fig11_softmax_head_weights",
    "fig12_softmax_heads_vs_gd",
    "fig13_gdpp_spectrum",
    "fig14_layernorm",
    "fig15_seeds_heads_grokking",
    "fig16_fixed_training_set",
    "noisy_labels_vs_gd",
]

FIGURES = {
    "fig1_right": fig1_right_dampened_rollout,
    "fig2": fig2_one_layer_vs_gd,
    "fig3": fig3_deep_vs_gd_and_gdpp,
    "fig4": fig4_sine_kernel_regression,
    "fig5": fig5_interleaved_copying,
    "fig6": fig6_out_of_distribution,
    "fig7": fig7_recurrent_ten_layers,
    "fig8": fig8_deep_mlp_four_heads,
    "fig9": fig9_weight_heatmaps,
    "fig10": fig10_dampened_rollouts,
    "fig11": fig11_softmax_head_weights,
    "fig12": fig12_softmax_heads_vs_gd,
    "fig13": fig13_gdpp_spectrum,
    "fig14": fig14_layernorm,
    "fig15": fig15_seeds_heads_grokking,
    "fig16": fig16_fixed_training_set,
    "noisy_labels": noisy_labels_vs_gd,
}

#: each figure's companion: its claim asserted from its own arrays
FIGURE_CHECKS = {**_ONE_LAYER_CHECKS, **SINE_FIGURE_CHECKS, **FIGURE_CHECKS_DEEP, **SOFTMAX_FIGURE_CHECKS}
