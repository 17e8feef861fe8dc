"""The trained models of von Oswald et al. 2023: linear self-attention in torch, trained and compared with GD.

Submodules, one idea each:

- :mod:`validation.lsa.population`: the population path of a trained one-layer run (same start, same
  optimiser, exact gradient) and the exact population loss of trained weights;
- :mod:`validation.lsa.models`: tokens, the batched LSA forward pass on merged weights (and the
  per-token reference loop it is tested against), the GD / GD++ construction weights, the
  trainable :class:`LSA` module;
- :mod:`validation.lsa.sampler`: regression tasks drawn in torch on the device;
- :mod:`validation.lsa.config`: the settings of a run, checked once;
- :mod:`validation.lsa.loop`: the training loop (trains and returns losses and logged weights);
- :mod:`validation.lsa.baselines`: the GD and GD++ constructions fitted for a run's setting;
- :mod:`validation.lsa.readouts`: step size, curvature and interpolation read from weights;
- :mod:`validation.lsa.evaluation`: losses, alignment metrics and roll-outs on fixed tasks;
- :mod:`validation.lsa.sine` / :mod:`validation.lsa.sine_trainer`: Fig 4's MLP + LSA on sine tasks (Prop 2);
- :mod:`validation.lsa.interleaved` / :mod:`validation.lsa.interleaved_trainer`: Fig 5's softmax copy layer (Prop 3);
- :mod:`validation.lsa.trainer`: :func:`train_lsa`, the one call from arguments to an
  :class:`LSAResult` (baselines, training, comparisons);
- :mod:`validation.lsa.blocks`: general transformer blocks on the same tokens (H-head linear or softmax
  attention, optional LayerNorm and GELU MLP, tied or untied), equal to the LSA with both off;
- :mod:`validation.lsa.blocks_training`: :func:`train_blocks`, their run-store trainer (fresh tasks or one
  fixed training set) with the GD / GD++ comparisons.
"""
from validation.lsa.baselines import LSABaselines, construction_pair, fit_baselines
from validation.lsa.blocks import (
    BlockSpec,
    BlockTransformer,
    block_forward,
    block_pred_and_grad,
    block_predict,
    init_theta,
    unpack,
)
from validation.lsa.config import LSAConfig, default_grad_clip
from validation.lsa.interleaved import (
    InterleavedTransformer,
    copy_sensitivity,
    interleaved_tokens,
    positional_encoding,
    sample_interleaved_tasks,
)
from validation.lsa.interleaved_trainer import (
    InterleavedResult,
    interleaved_eval_tasks,
    interleaved_model,
    train_interleaved,
)
from validation.lsa.evaluation import (
    Evaluator,
    alignment_history,
    alignment_metrics,
    interpolation_losses,
    lsa_predict,
    lsa_rollout_losses,
)
from validation.lsa.loop import LSATraining, train_weights
from validation.lsa.models import (
    LSA,
    construction_weights,
    lsa_forward,
    lsa_forward_loop,
    make_tokens,
    pad_weights,
)
from validation.lsa.population import initial_factors, population_path, weights_population_loss
from validation.lsa.readouts import curvature_readout, effective_step_size, interpolate_weights
from validation.lsa.sine import SineLSA, kernel_decomposition, sample_sine_tasks
from validation.lsa.sine_trainer import SineResult, sine_eval_tasks, sine_model, train_module, train_sine
from validation.lsa.sampler import TaskSampler, sample_task_tokens
from validation.lsa.trainer import LSAResult, compare_training, evaluation_set, train_lsa
from validation.lsa.blocks_training import BlocksResult, train_blocks  # noqa: E402  (imports trainer)

__all__ = [
    # sine regression and interleaved tokens (sine, sine_trainer, interleaved, interleaved_trainer)
    "SineLSA", "sample_sine_tasks", "kernel_decomposition", "SineResult", "train_sine", "sine_model",
    "sine_eval_tasks", "train_module", "InterleavedTransformer", "sample_interleaved_tasks", "positional_encoding",
    "copy_sensitivity", "interleaved_tokens", "InterleavedResult", "train_interleaved", "interleaved_model",
    "interleaved_eval_tasks",
    "initial_factors",
    "population_path",
    "weights_population_loss",
    # training (trainer, config, loop)
    "LSAResult",
    "train_lsa",
    "LSAConfig",
    "default_grad_clip",
    "LSATraining",
    "train_weights",
    # baselines and comparisons (baselines, evaluation, trainer)
    "LSABaselines",
    "fit_baselines",
    "construction_pair",
    "Evaluator",
    "evaluation_set",
    "compare_training",
    "alignment_metrics",
    "alignment_history",
    "interpolation_losses",
    "lsa_predict",
    "lsa_rollout_losses",
    # read-outs of weights (readouts)
    "effective_step_size",
    "curvature_readout",
    "interpolate_weights",
    # the model (models, sampler)
    "LSA",
    "make_tokens",
    "lsa_forward",
    "lsa_forward_loop",
    "construction_weights",
    "pad_weights",
    "TaskSampler",
    "sample_task_tokens",
    # general transformer blocks: LayerNorm, MLP, heads (blocks, blocks_training)
    "BlockSpec",
    "BlockTransformer",
    "block_forward",
    "block_predict",
    "block_pred_and_grad",
    "init_theta",
    "unpack",
    "BlocksResult",
    "train_blocks",
]
