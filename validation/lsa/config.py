"""The settings of one LSA training run, checked once (von Oswald et al. 2023; the authors' code's defaults).

:meth:`LSAConfig.parse` turns the keyword arguments of :func:`validation.lsa.train_lsa` into a
frozen :class:`LSAConfig`: sizes, rates and seeds checked by :mod:`theory.args`, the law a
:class:`theory.laws.Law`, device and dtype by :mod:`validation.args`, and the code's defaults
filled in (steps, lr, init scale, gradient clip, token clip: notes §3.2).  Everything downstream
(the baselines, the training loop, the comparisons) takes this object and checks nothing again.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from theory.args import integer, positive, seed as check_seed
from theory.laws import Law, as_law
from validation.args import device as check_device, dtype as check_dtype

__all__ = ["LSAConfig", "default_grad_clip", "OPTIMIZER"]

#: the optimiser of the authors' code (no weight decay), as recorded in every result's config
OPTIMIZER = "AdamW(b1=0.9, b2=0.98, eps=1e-8, weight_decay=0)"


def default_grad_clip(layers: int) -> float:
    """The code's ``grad_clip_value``: 10 if K > 2, else 0.001 (the paper says 10 throughout)."""
    return 10.0 if layers > 2 else 1e-3


@dataclass(frozen=True)
class LSAConfig:
    """Checked settings of a run of :func:`validation.lsa.train_lsa` (see its parameters)."""

    d: int
    N: int
    law: Law
    layers: int
    recurrent: bool
    steps: int
    batch: int
    lr: float
    seed: int
    heads: int
    softmax: bool
    key_size: int
    init_scale: float
    grad_clip: float
    clip_tokens: float | None
    dampening: float
    eval_tasks: int
    eval_seed: int
    log_every: int
    gdpp_fit_tasks: int
    device: torch.device
    dtype: torch.dtype
    prefetch: bool
    max_threads: int | None
    #: the code's ``cycle_data``: 0 = fresh tasks every step (online); k > 0 = the same k batches of
    #: ``batch`` tasks, drawn once, cycled (k = 1: full-batch training on one fixed set, Fig 16)
    cycle_data: int = 0

    @classmethod
    def parse(cls, *, d, N, law, layers, recurrent, steps, batch, lr, seed, heads, softmax, key_size,
              init_scale, grad_clip, clip_tokens, dampening, eval_tasks, eval_seed, log_every,
              gdpp_fit_tasks, device, dtype, prefetch, max_threads, cycle_data=0) -> "LSAConfig":
        """Check every argument once (``ValueError`` naming it) and fill in the code's defaults for ``None``."""
        d, N = integer(d, "d", minimum=1), integer(N, "N", minimum=1)
        layers = integer(layers, "layers", minimum=1)
        heads = integer(heads, "heads", minimum=1)
        steps = (5000 if recurrent or layers == 1 else 50000) if steps is None else integer(steps, "steps", minimum=1)
        batch = integer(batch, "batch", minimum=1)
        lr = (1e-3 if layers <= 3 else 5e-4) if lr is None else positive(lr, "lr")
        seed = check_seed(seed)
        key_size = d + 1 if key_size is None else integer(key_size, "key_size", minimum=1)
        init_scale = 0.002 / layers if init_scale is None else positive(init_scale, "init_scale")
        grad_clip = default_grad_clip(layers) if grad_clip is None else positive(grad_clip, "grad_clip")
        if clip_tokens == "auto":
            clip_tokens = 10.0 if layers > 3 else None
        elif clip_tokens is not None:
            clip_tokens = positive(clip_tokens, "clip_tokens")
        dampening = positive(dampening, "dampening")
        eval_tasks = integer(eval_tasks, "eval_tasks", minimum=2)
        eval_seed = integer(eval_seed, "eval_seed", minimum=0)
        log_every = integer(log_every, "log_every", minimum=1)
        gdpp_fit_tasks = integer(gdpp_fit_tasks, "gdpp_fit_tasks", minimum=2)
        dtype = check_dtype(dtype)
        dev = check_device(device)
        try:
            law = as_law(law)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"law must be a theory.laws.Law or a spelling such as 'uniform(1/2)': {exc}") from exc
        prefetch = dev.type == "cpu" if prefetch is None else bool(prefetch)
        if max_threads is not None:
            max_threads = integer(max_threads, "max_threads", minimum=1)
        cycle_data = integer(cycle_data, "cycle_data", minimum=0)
        return cls(d=d, N=N, law=law, layers=layers, recurrent=bool(recurrent), steps=steps, batch=batch, lr=lr,
                   seed=seed, heads=heads, softmax=bool(softmax), key_size=key_size, init_scale=init_scale,
                   grad_clip=grad_clip, clip_tokens=clip_tokens, dampening=dampening, eval_tasks=eval_tasks,
                   eval_seed=eval_seed, log_every=log_every, gdpp_fit_tasks=gdpp_fit_tasks, device=dev,
                   dtype=dtype, prefetch=prefetch, max_threads=max_threads, cycle_data=cycle_data)

    def as_dict(self) -> dict:
        """The settings as plain values (law spelled, device and dtype as strings): ``LSAResult.config``."""
        return dict(d=self.d, N=self.N, law=self.law.spelling, layers=self.layers, recurrent=self.recurrent,
                    steps=self.steps, batch=self.batch, lr=self.lr, seed=self.seed, heads=self.heads,
                    softmax=self.softmax, key_size=self.key_size, init_scale=self.init_scale,
                    grad_clip=self.grad_clip, clip_tokens=self.clip_tokens, dampening=self.dampening,
                    eval_tasks=self.eval_tasks, eval_seed=self.eval_seed, log_every=self.log_every,
                    device=str(self.device), dtype=str(self.dtype).replace("torch.", ""), optimizer=OPTIMIZER,
                    max_threads=self.max_threads,
                    # only when set: the online runs' config dicts stay as they were
                    **({"cycle_data": self.cycle_data} if self.cycle_data else {}))
