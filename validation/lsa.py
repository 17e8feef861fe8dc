"""Trained linear self-attention of von Oswald et al. 2023, "Transformers learn in-context by GD".

``train_lsa`` trains the attention-only transformer of the authors' code (K LSA layers, tied or
not, linear or softmax, H heads; keys and values from the context only; prediction = minus the
query's y-slot) on fresh regression tasks every step, and compares it with the GD constructions:

* the loss on a fixed evaluation set (10^4 tasks, the code's PRNGKey(5) role: ``eval_seed``)
  against K-step GD (eta* = ``theory.lsa.optimal_step_size`` for K = 1) and K-step GD++;
* the effective step size read from the trained weights (Proposition 1 read-out);
* the alignment metrics of the code's ``analyse`` (preds diff, model cos, model diff, with
  g = d y_hat / d x_q computed by ``torch.func``);
* the interpolation of the rescaled trained weights with the construction (notes §4.4).

Training follows the code (notes §3.2): AdamW (b1 0.9, b2 0.98, eps 1e-8, no weight decay)
after clipping the global gradient norm (10 if K > 2, else 0.001), batch 2048, init variance
(0.002 / K) / fan_in (truncated normal), lr 1e-3 (5e-4 for K > 3), tokens clipped to [-10, 10]
after every layer for K > 3, 1/2-MSE loss.  The models live in :mod:`validation.lsa_models`.
"""
from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from numerics.lsa import fit_gdpp, sample_tasks
from theory.laws import as_law
from theory.lsa import one_step_loss, optimal_step_size
from validation.lsa_analysis import (
    Evaluator,
    _check_int,
    _check_pos,
    alignment_metrics,
    curvature_readout,
    effective_step_size,
    interpolate_weights,
    lsa_predict,
    lsa_rollout_losses,
)
from validation.lsa_models import LSA, construction_weights
from validation.lsa_sampler import TaskSampler

__all__ = [
    "LSAResult",
    "train_lsa",
    "alignment_metrics",
    "effective_step_size",
    "curvature_readout",
    "interpolate_weights",
    "lsa_predict",
    "lsa_rollout_losses",
    "default_grad_clip",
]


@dataclass(frozen=True, eq=False)
class LSAResult:
    """Outcome of :func:`train_lsa` (all arrays numpy float64; losses are the paper's 1/2-MSE).

    ``W_KQ`` / ``W_PV`` have shape (L, H, D, D) with L = 1 for a recurrent model: the logits are
    e_i^T W_KQ_h e_j and the value map is W_PV_h = P_h W_V_h (column-vector convention).
    ``alignment`` compares the trained model with K-step GD (eta* for K = 1; a fitted eta,
    tied like the model, for K > 1); ``alignment_gdpp`` with K-step GD++ (K > 1 only).
    """

    config: dict
    steps: np.ndarray                   # (n_log,) training steps at which we evaluated
    losses: np.ndarray                  # (n_log,) eval 1/2-loss
    train_losses: np.ndarray            # (n_log,) 1/2-loss of that step's minibatch (nan at step 0)
    final_loss: float
    final_loss_se: float                # standard error of final_loss over the eval tasks
    step_size: float                    # effective eta of the first (or only, or shared) layer
    step_sizes: np.ndarray              # (L,) per distinct layer
    gammas: np.ndarray                  # (L,) curvature read-out per distinct layer (GD++'s gamma)
    eta_star: float                     # theory.lsa.optimal_step_size(d, N, law)
    theory_loss: float                  # theory.lsa.one_step_loss(eta*, d, N, law)
    gd_etas: np.ndarray                 # (K,) step sizes of the GD baseline
    gd_loss: float                      # its eval loss (same tasks)
    alignment: dict                     # final preds_diff, model_cos, model_diff vs GD
    alignment_history: dict             # the same, one entry per logged step
    W_KQ: np.ndarray
    W_PV: np.ndarray
    interpolation_loss: float | None    # eval loss of (rescaled trained + construction) / 2
    interpolation_losses: np.ndarray | None
    gdpp_etas: np.ndarray | None = None
    gdpp_gammas: np.ndarray | None = None
    gdpp_loss: float | None = None
    alignment_gdpp: dict | None = None
    alignment_gdpp_history: dict | None = None
    wall_time: float = 0.0
    steps_per_second: float = 0.0
    extras: dict = field(default_factory=dict)

    def predict(self, X, y, x_q, *, layers: int | None = None, dampening: float | None = None,
                clip: float | None | str = "config") -> np.ndarray:
        """The trained model's predictions on numpy tasks X (n, N, d), y (n, N), x_q (n, d), float64."""
        c = self.config
        return lsa_predict(self.W_KQ, self.W_PV, X, y, x_q,
                           layers=c["layers"] if layers is None else layers,
                           softmax=c["softmax"],
                           dampening=c["dampening"] if dampening is None else dampening,
                           clip=c["clip_tokens"] if clip == "config" else clip)


def default_grad_clip(layers: int) -> float:
    """The code's ``grad_clip_value``: 10 if K > 2, else 0.001 (the paper says 10 throughout)."""
    return 10.0 if layers > 2 else 1e-3


def _device(device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'cpu' or 'cuda[:i]', got {device!r}") from exc
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda[:i]', got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device must be 'cpu' here: {device!r} requested but CUDA is not available")
    return dev


# ----------------------------------------------------------------------------- data stream


def _batches(sampler: TaskSampler, n: int, batch: int, generator: torch.Generator, prefetch: bool):
    """Yield n training batches (E, y_q[, C]); on the CPU a producer thread draws them ahead.

    The producer is the only user of ``generator`` and yields in order, so the stream is the
    same with or without prefetching (same seed -> same batches).
    """
    if not prefetch:
        for _ in range(n):
            yield sampler(batch, generator)
        return
    q: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()

    def produce():
        try:
            for _ in range(n):
                item = sampler(batch, generator)
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # pragma: no cover - forwarded to the consumer
            q.put(exc)

    thread = threading.Thread(target=produce, name="lsa-task-sampler", daemon=True)
    thread.start()
    try:
        for _ in range(n):
            item = q.get()
            if isinstance(item, BaseException):  # pragma: no cover
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


# ----------------------------------------------------------------------------- training


def _train_step(model: LSA, opt, max_norm, E, y_q, C=None) -> None:
    """One step: 1/2-MSE, backward, optax-style global-norm clip, AdamW (no host sync)."""
    loss = 0.5 * ((model(E, C) - y_q) ** 2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    g = model.theta.grad
    g.mul_(max_norm / torch.maximum(g.norm(), max_norm))  # optax.clip_by_global_norm
    opt.step()
    model.last_loss = loss.detach()


def train_lsa(*, d: int = 10, N: int = 10, law="uniform(1/2)", layers: int = 1, recurrent: bool = True,
              steps: int | None = None, batch: int = 2048, lr: float | None = None, seed: int = 0,
              heads: int = 1, softmax: bool = False, key_size: int | None = None,
              init_scale: float | None = None, grad_clip: float | None = None,
              clip_tokens: float | None | str = "auto", dampening: float = 1.0,
              eval_tasks: int = 10000, eval_seed: int = 5, log_every: int = 100,
              gdpp_fit_tasks: int = 20000, device="cpu", dtype=torch.float32,
              prefetch: bool | None = None) -> LSAResult:
    """Train the LSA transformer of von Oswald et al. 2023 on linear regression; compare with GD.

    Task: w ~ N(0, I_d), x_i, x_q i.i.d. from ``law`` (the code's U(-1/2, 1/2)^d by default;
    the paper writes U(-1, 1): notes §0), y = w.x; tokens (x_i, y_i) and (x_q, 0); loss
    1/2 (y_hat - y_q)^2 with y_hat = minus the query's y-slot after K = ``layers`` layers.
    Fresh tasks every step; every ``log_every`` steps the model is evaluated (float64) on
    ``eval_tasks`` fixed tasks drawn by ``numerics.lsa.sample_tasks`` with ``eval_seed``.

    The one-layer target (§7.2 of the notes; Proposition 1 plus the optimality of one GD step):
    loss -> L* = one_step_loss(eta*), eta* = optimal_step_size (0.2062 and 6.06 at d = N = 10),
    model cos -> 1, effective step size -> eta*.

    Parameters
    ----------
    d, N : input dimension and context length (paper: 10, 10).
    law : input law or its spelling (``"uniform(1/2)"``).
    layers, recurrent : K layers; tied weights if ``recurrent`` (the code's ``deq``).
    steps : training steps; default 5000 for a recurrent (or one-layer) model, 50000 otherwise
        (the code).
    batch : tasks per step (2048).
    lr : AdamW learning rate; default 1e-3, 5e-4 for K > 3 (the code).
    seed : fixes the initialisation and the training stream (and the GD++ fit set).
    heads, softmax, key_size : H heads (1), softmax instead of linear attention, key size (D = d+1).
    init_scale : variance scale of the init; default 0.002 / K.
    grad_clip : global-norm clip; default the code's 10 if K > 2 else 0.001 (the paper says 10;
        0.001 makes every step a normalised-gradient step for shallow models).
    clip_tokens : token clip after every layer; "auto" = 10 if K > 3 else none (the code).
    dampening : lambda on every residual update (1 in training; roll-outs use 0.75).
    eval_tasks, eval_seed : size and seed of the fixed evaluation set (10^4, 5 as the code's key).
    log_every : evaluation period in steps (100).
    gdpp_fit_tasks : tasks used by ``numerics.lsa.fit_gdpp`` for the K > 1 baselines.
    device : "cpu" or "cuda".
    dtype : training precision.  Default float32: about twice as fast here, and the claims
        checked on trained models (loss within 3 %, cos >= 0.99, eta within 5 %) are six orders
        of magnitude above float32 round-off.  Evaluation, read-outs and alignment are always
        float64 (the float32 weights are cast).
    prefetch : draw the next batches in a second thread (default: on the CPU).

    Returns
    -------
    LSAResult

    Examples
    --------
    >>> r = train_lsa(steps=2, batch=8, eval_tasks=16, log_every=1)
    >>> r.losses.shape, round(r.eta_star, 4)
    ((3,), 6.0606)
    """
    d, N = _check_int(d, "d", 1), _check_int(N, "N", 1)
    layers = _check_int(layers, "layers", 1)
    heads = _check_int(heads, "heads", 1)
    steps = (5000 if recurrent or layers == 1 else 50000) if steps is None else _check_int(steps, "steps", 1)
    batch = _check_int(batch, "batch", 1)
    lr = (1e-3 if layers <= 3 else 5e-4) if lr is None else _check_pos(lr, "lr")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if key_size is not None:
        key_size = _check_int(key_size, "key_size", 1)
    init_scale = 0.002 / layers if init_scale is None else _check_pos(init_scale, "init_scale")
    grad_clip = default_grad_clip(layers) if grad_clip is None else _check_pos(grad_clip, "grad_clip")
    if clip_tokens == "auto":
        clip_tokens = 10.0 if layers > 3 else None
    elif clip_tokens is not None:
        clip_tokens = _check_pos(clip_tokens, "clip_tokens")
    dampening = _check_pos(dampening, "dampening")
    eval_tasks = _check_int(eval_tasks, "eval_tasks", 2)
    eval_seed = _check_int(eval_seed, "eval_seed", 0)
    log_every = _check_int(log_every, "log_every", 1)
    gdpp_fit_tasks = _check_int(gdpp_fit_tasks, "gdpp_fit_tasks", 2)
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    dev = _device(device)
    try:
        law = as_law(law)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"law must be a theory.laws.Law or a spelling such as 'uniform(1/2)': {exc}") from exc
    if prefetch is None:
        prefetch = dev.type == "cpu"
    started = time.perf_counter()
    config = dict(d=d, N=N, law=law.spelling, layers=layers, recurrent=bool(recurrent), steps=steps,
                  batch=batch, lr=lr, seed=int(seed), heads=heads, softmax=bool(softmax),
                  key_size=d + 1 if key_size is None else key_size, init_scale=init_scale,
                  grad_clip=grad_clip, clip_tokens=clip_tokens, dampening=dampening,
                  eval_tasks=eval_tasks, eval_seed=eval_seed, log_every=log_every,
                  device=str(dev), dtype=str(dtype).replace("torch.", ""),
                  optimizer="AdamW(b1=0.9, b2=0.98, eps=1e-8, weight_decay=0)")

    # ---- theory and baselines (float64) on the fixed evaluation tasks
    eta_star = float(optimal_step_size(d, N, law))
    theory_loss = float(one_step_loss(optimal_step_size(d, N, law), d, N, law))
    tasks = sample_tasks(eval_tasks, d, N, law=law, seed=eval_seed)
    ev = Evaluator(tasks, layers=layers, softmax=softmax, dampening=dampening, clip=clip_tokens, device=dev)
    f64 = dict(dtype=torch.float64, device=dev)
    fit_seed = int(np.random.SeedSequence(seed).generate_state(1)[0])
    if layers == 1:
        gd_etas = np.array([eta_star])
    else:
        gd_fit = fit_gdpp(layers, d=d, N=N, law=law, recurrent=recurrent, curvature=False,
                          n_fit=gdpp_fit_tasks, n_eval=2, seed=fit_seed)
        gd_etas = np.asarray(gd_fit.etas, dtype=float)
    gd_KQ, gd_PV = construction_weights(d, N, gd_etas / dampening, **f64)
    gd_pred, gd_grad = ev.pred_and_grad(gd_KQ, gd_PV, baseline=True)
    gd_loss = ev.loss(gd_KQ, gd_PV, baseline=True)[0]
    gdpp = None
    if layers > 1:
        fit = fit_gdpp(layers, d=d, N=N, law=law, recurrent=recurrent, curvature=True,
                       n_fit=gdpp_fit_tasks, n_eval=2, seed=fit_seed)
        pp_KQ, pp_PV = construction_weights(d, N, np.asarray(fit.etas) / dampening,
                                            np.asarray(fit.gammas) / dampening, **f64)
        gdpp = dict(etas=np.asarray(fit.etas, float), gammas=np.asarray(fit.gammas, float),
                    KQ=pp_KQ, PV=pp_PV, loss=ev.loss(pp_KQ, pp_PV, baseline=True)[0],
                    ref=ev.pred_and_grad(pp_KQ, pp_PV, baseline=True))
    # construction to interpolate with: one per distinct layer of the model
    C_KQ, C_PV = (gd_KQ, gd_PV) if gdpp is None else (gdpp["KQ"], gdpp["PV"])
    if recurrent and C_KQ.shape[0] > 1:
        C_KQ, C_PV = C_KQ[:1], C_PV[:1]  # tied fits: every layer holds the same (eta, gamma)
    interpolable = heads == 1 and not softmax

    # ---- model, optimiser, data stream
    init_seed, data_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(3, dtype=np.uint64)[1:])
    model = LSA(d=d, layers=layers, recurrent=recurrent, heads=heads, key_size=key_size, softmax=softmax,
                init_scale=init_scale, dampening=dampening, clip=clip_tokens,
                generator=torch.Generator().manual_seed(init_seed), dtype=dtype, device=dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.0,
                            foreach=False)
    max_norm = torch.tensor(grad_clip, dtype=dtype, device=dev)
    # tokens padded to a multiple of 4 channels (faster MKL products; the function is unchanged)
    # and, for linear attention, the context statistic C = sum_i e_i e_i^T drawn with the batch
    sampler = TaskSampler(d, N, law, dtype=dtype, device=dev, pad=(-(d + 1)) % 4, stats=not softmax)
    data_gen = torch.Generator(device=dev).manual_seed(data_seed)

    log = {"steps": [], "losses": [], "train": [], "se": []}
    hist = {k: [] for k in ("preds_diff", "model_cos", "model_diff")}
    hist_pp = {k: [] for k in hist} if gdpp is not None else None
    interp = [] if interpolable else None

    def evaluate(step: int, train_loss: float):
        KQ, PV = (w.detach().to(torch.float64) for w in model.merged())
        loss, se = ev.loss(KQ, PV)
        pred, grad = ev.pred_and_grad(KQ, PV)
        for k, v in alignment_metrics(pred, grad, gd_pred, gd_grad).items():
            hist[k].append(v)
        if gdpp is not None:
            for k, v in alignment_metrics(pred, grad, *gdpp["ref"]).items():
                hist_pp[k].append(v)
        if interp is not None:
            interp.append(ev.loss(*(t.to(dev) for t in interpolate_weights(KQ, PV, C_KQ, C_PV)))[0])
        log["steps"].append(step)
        log["losses"].append(loss)
        log["se"].append(se)
        log["train"].append(train_loss)

    evaluate(0, float("nan"))
    t_train, train_time = time.perf_counter(), 0.0
    cpu_start = time.process_time()  # CPU seconds of both threads (evaluation excluded below)
    eval_cpu = 0.0
    stream = contextlib.closing(_batches(sampler, steps, batch, data_gen, prefetch))
    with stream as batches:
        for step, item in enumerate(batches, start=1):
            _train_step(model, opt, max_norm, *item)
            if step % log_every == 0 or step == steps:
                train_time += time.perf_counter() - t_train
                c0 = time.process_time()
                evaluate(step, float(model.last_loss))
                eval_cpu += time.process_time() - c0
                t_train = time.perf_counter()
    train_time += time.perf_counter() - t_train
    train_cpu = time.process_time() - cpu_start - eval_cpu

    KQ, PV = (w.detach().to(torch.float64) for w in model.merged())
    final = {k: v[-1] for k, v in hist.items()}
    W_KQ, W_PV = KQ.cpu().numpy(), PV.cpu().numpy()
    return LSAResult(
        config=config,
        steps=np.array(log["steps"]), losses=np.array(log["losses"]), train_losses=np.array(log["train"]),
        final_loss=log["losses"][-1], final_loss_se=log["se"][-1],
        step_size=float(dampening * effective_step_size(W_KQ, W_PV, N)[0]),
        step_sizes=dampening * effective_step_size(W_KQ, W_PV, N),
        gammas=dampening * curvature_readout(W_KQ, W_PV),
        eta_star=eta_star, theory_loss=theory_loss, gd_etas=gd_etas, gd_loss=gd_loss,
        alignment=final, alignment_history={k: np.array(v) for k, v in hist.items()},
        W_KQ=W_KQ, W_PV=W_PV,
        interpolation_loss=interp[-1] if interp else None,
        interpolation_losses=np.array(interp) if interp else None,
        gdpp_etas=None if gdpp is None else gdpp["etas"],
        gdpp_gammas=None if gdpp is None else gdpp["gammas"],
        gdpp_loss=None if gdpp is None else gdpp["loss"],
        alignment_gdpp=None if gdpp is None else {k: v[-1] for k, v in hist_pp.items()},
        alignment_gdpp_history=None if gdpp is None else {k: np.array(v) for k, v in hist_pp.items()},
        wall_time=time.perf_counter() - started,
        steps_per_second=steps / train_time if train_time > 0 else float("inf"),
        extras=dict(train_wall_s=train_time, train_cpu_s=train_cpu, threads=torch.get_num_threads(),
                    prefetch=bool(prefetch)),
    )
