"""Checkpoints through the run store: a run killed mid-way resumes from its last checkpoint and ends
with exactly the numbers of an uninterrupted run; the file goes once the result is stored."""
import numpy as np
import pytest
import torch

from validation.checkpoint import Checkpoint, checkpoint, checkpointing
from validation.store import RunConfig, use_store

KILL_AT = []  # the step at which the toy trainer below is "killed" (once), if any
STARTS = []  # the step each call of the toy trainer started from


def toy_trainer(*, steps: int, seed: int = 0) -> dict:
    """SGD on a least-squares problem with fresh noisy batches: a trainer with a model, an
    optimiser with momentum and a generator, checkpointed the way the real trainers are."""
    gen = torch.Generator().manual_seed(seed)
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.05, momentum=0.9)
    target = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    losses, start = [], 0
    ckpt = checkpoint()
    state = ckpt.load()
    if state is not None:
        with torch.no_grad():
            w.copy_(state["w"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["gen"])
        losses, start = list(state["losses"]), state["step"]
    STARTS.append(start)
    for t in range(start, steps):
        if ckpt.due():
            ckpt.save({"step": t, "w": w.detach().clone(), "opt": opt.state_dict(), "gen": gen.get_state(),
                       "losses": losses})
        if KILL_AT and t == KILL_AT[0]:
            KILL_AT.clear()
            raise KeyboardInterrupt  # as if the process were killed here
        x = torch.randn(16, 3, generator=gen, dtype=torch.float64)
        y = x @ target + 0.1 * torch.randn(16, generator=gen, dtype=torch.float64)
        loss = ((x @ w - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return {"w": w.detach().numpy().copy(), "losses": np.array(losses)}


@pytest.fixture
def every_step(monkeypatch):
    monkeypatch.setenv("ICL_THEORY_CHECKPOINT_SECONDS", "0")
    KILL_AT.clear()
    STARTS.clear()


def test_a_killed_run_resumes_and_ends_with_the_uninterrupted_numbers(every_step, tmp_path):
    config = RunConfig.of(toy_trainer, steps=40, seed=3)
    whole = config.execute()
    KILL_AT.append(25)
    with use_store(tmp_path / "store") as store:
        with pytest.raises(KeyboardInterrupt):
            store.run(config)
        path = store.checkpoint_path(config)
        assert path.is_file() and not list(path.parent.glob(".*"))  # saved atomically, no temporary left
        resumed = store.run(config)
    assert STARTS == [0, 0, 25]  # the uninterrupted run, the killed run, the resumed run
    np.testing.assert_array_equal(resumed["w"], whole["w"])
    np.testing.assert_array_equal(resumed["losses"], whole["losses"])
    assert not path.exists()  # removed once the result is stored


def test_a_resumed_run_is_logged_with_the_time_its_earlier_attempt_trained(every_step, tmp_path, caplog):
    """Each checkpoint carries the run's training seconds so far, so a run resumed in a later command is
    logged with its whole training time, not only the last attempt's (benchmarks.paper_profile_times sums
    these lines)."""
    import re

    config = RunConfig.of(toy_trainer, steps=40, seed=3)
    KILL_AT.append(25)
    caplog.set_level("INFO", logger="icl_theory.runs")
    with use_store(tmp_path / "store") as store:
        with pytest.raises(KeyboardInterrupt):
            store.run(config)
        saved = torch.load(store.checkpoint_path(config), weights_only=False)["seconds"]
        store.run(config)
    line = re.search(r"trained toy_trainer\(seed=3, steps=40\) in ([0-9.]+) s \(([0-9.]+) s of it before a resume\)",
                     caplog.text)
    assert line is not None, caplog.text
    total, earlier = float(line.group(1)), float(line.group(2))
    assert earlier == pytest.approx(saved, abs=0.05) and saved > 0 and total >= earlier


def test_the_checkpointed_seconds_add_up_over_attempts(tmp_path):
    """An attempt that resumed saves the earlier attempts' seconds plus its own."""
    import time

    path = tmp_path / "c.pt"
    first = Checkpoint(path)
    time.sleep(0.05)
    first.save({"step": 1})
    s1 = torch.load(path, weights_only=False)["seconds"]
    second = Checkpoint(path)
    assert second.load()["step"] == 1 and second.earlier_seconds == s1 >= 0.05
    time.sleep(0.05)
    second.save({"step": 2})
    assert torch.load(path, weights_only=False)["seconds"] >= s1 + 0.05


def test_no_store_folder_means_no_checkpoint(every_step):
    ckpt = checkpoint()
    assert ckpt.path is None and not ckpt.due() and ckpt.load() is None
    ckpt.save({"step": 1})  # a no-op


def test_the_interval_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ICL_THEORY_CHECKPOINT_SECONDS", "3600")
    assert not Checkpoint(tmp_path / "c.pt").due()
    monkeypatch.setenv("ICL_THEORY_CHECKPOINT_SECONDS", "soon")
    with pytest.raises(ValueError, match="ICL_THEORY_CHECKPOINT_SECONDS"):
        Checkpoint(tmp_path / "c.pt")


def test_a_failed_run_keeps_its_checkpoint(every_step, tmp_path):
    with pytest.raises(RuntimeError):
        with checkpointing(tmp_path / "c.pt") as ckpt:
            ckpt.save({"step": 3})
            raise RuntimeError("boom")
    assert (tmp_path / "c.pt").is_file()


@pytest.mark.parametrize("prefetch", [False, True])
def test_train_lsa_killed_mid_way_resumes_to_the_uninterrupted_numbers(kill_and_resume, prefetch):
    from validation.lsa import loop, train_lsa

    config = RunConfig.of(train_lsa, d=3, N=5, steps=40, batch=64, log_every=10, eval_tasks=256, seed=2,
                          prefetch=prefetch, max_threads=1)
    # killed in step 26, after the checkpoint at step 20
    whole, resumed = kill_and_resume(config, loop, "_train_step", 26)
    for key in ("losses", "train_losses", "W_KQ", "W_PV"):
        np.testing.assert_array_equal(getattr(resumed, key), getattr(whole, key))


def test_train_mesa_killed_mid_way_resumes_to_the_uninterrupted_numbers(kill_and_resume):
    from validation.mesa import train_mesa, training

    config = RunConfig.of(train_mesa, d=2, T=6, law="gaussian(1)", m=64, lr=0.01, epochs=12, m_test=32, seed=1)
    whole, resumed = kill_and_resume(config, training, "ar_loss_and_grad", 8)
    for key in ("ab", "loss", "test_mse", "ratio", "W_KQ"):
        np.testing.assert_array_equal(getattr(resumed, key), getattr(whole, key))


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_joint_causal_training_killed_mid_way_resumes_to_the_uninterrupted_numbers(kill_and_resume, optimizer):
    from validation.causal import joint, train_disentangled

    config = RunConfig.of(train_disentangled, parents=(-1, 0, 1, 2), S=3, steps=30, batch=32, test_size=128, n_log=4,
                          seed=4, optimizer=optimizer)
    whole, resumed = kill_and_resume(config, joint, "draw_batch", 17)
    for key in ("losses", "A1", "W"):
        np.testing.assert_array_equal(getattr(resumed, key), getattr(whole, key))


def test_the_watcher_logs_each_new_checkpointed_step_once(tmp_path, caplog):
    from validation.checkpoint import CheckpointWatcher

    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    watcher = CheckpointWatcher({a: ("run-a", 100), b: ("run-b", None)}, interval=3600)
    caplog.set_level("INFO", logger="icl_theory.runs")
    assert watcher.poll() == 0  # no checkpoint yet
    Checkpoint(a).save({"step": 7})
    assert watcher.poll() == 1 and "in progress: run-a at step 7 of 100 (its checkpoint)" in caplog.text
    assert watcher.poll() == 0  # the same step is not logged twice
    Checkpoint(a).save({"step": 9})
    Checkpoint(b).save({"step": 3})
    assert watcher.poll() == 2 and "in progress: run-b at step 3 (its checkpoint)" in caplog.text
    watcher.done(a)  # finished: no longer read
    Checkpoint(a).save({"step": 11})
    assert watcher.poll() == 0
    with watcher:  # the thread starts and stops cleanly
        pass
