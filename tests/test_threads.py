"""Torch thread counts: trainers that lower them restore them, and the causal trainers are
bit-reproducible whatever the process-wide count (they train on one thread)."""
import numpy as np
import pytest
import torch

from validation.causal import train_disentangled
from validation.store import RunConfig, run_many, use_store
from validation.threads import limit_threads


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_limit_threads_lowers_and_restores(two_threads):
    with limit_threads(1):
        assert torch.get_num_threads() == 1
        with limit_threads(4):  # never raises the count
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with limit_threads(None):
        assert torch.get_num_threads() == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two"])
def test_limit_threads_refuses_bad_counts(bad):
    with pytest.raises(ValueError, match="max_threads"):
        with limit_threads(bad):
            pass


def test_joint_training_is_bit_reproducible_and_restores_threads(two_threads):
    kwargs = dict(parents=(-1, 0, 1, 2, 3), S=3, steps=60, batch=64, test_size=256, n_log=4, seed=3)
    first, second = train_disentangled(**kwargs), train_disentangled(**kwargs)
    assert torch.get_num_threads() == 2
    np.testing.assert_array_equal(first.losses, second.losses)
    np.testing.assert_array_equal(first.A1, second.A1)


def test_run_many_on_two_workers_equals_one_worker(two_threads):
    configs = [RunConfig.of(train_disentangled, parents=(-1, 0, 1, 2), S=3, steps=40, batch=32, test_size=128,
                            n_log=2, seed=s) for s in (0, 1, 2)]
    with use_store(None):
        parallel = run_many(configs, workers=2)
    assert torch.get_num_threads() == 2
    with use_store(None):
        serial = run_many(configs, workers=1)
    for a, b in zip(parallel, serial):
        np.testing.assert_array_equal(a.losses, b.losses)
        np.testing.assert_array_equal(a.A2, b.A2)


def test_use_device_reaches_the_configs_of_trainers_that_take_a_device():
    from validation.store import current_device, use_device

    def no_device(*, x):
        return x

    plain = RunConfig.of(train_disentangled, parents=(-1, 0), S=3)
    with use_device("cpu"):
        assert RunConfig.of(train_disentangled, parents=(-1, 0), S=3) == plain  # the CPU default changes nothing
    with use_device("meta"):  # any device torch accepts; "meta" exists on every machine
        assert current_device() == "meta"
        moved = RunConfig.of(train_disentangled, parents=(-1, 0), S=3)
        assert dict(moved.kwargs)["device"] == "meta" and moved.key != plain.key
        assert "device" not in dict(RunConfig.of(no_device, x=1).kwargs)
        explicit = RunConfig.of(train_disentangled, parents=(-1, 0), S=3, device="cpu")
        assert dict(explicit.kwargs)["device"] == "cpu"  # an explicit device wins
    assert current_device() == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: --device cuda is valid here")
def test_device_cuda_without_a_gpu_is_one_error_line(capsys, tmp_path):
    from paper_figs.cli import main

    assert main(["check", "--paper", "zheng2024", "--device", "cuda", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: device") and "CUDA is not available" in err and len(err.strip().splitlines()) == 1


def test_joint_training_is_the_same_with_its_batches_drawn_ahead_or_in_place(monkeypatch):
    """The causal trainers draw their batches in a producer thread on the CPU (validation.prefetch): the
    same stream, so the same numbers bit for bit as drawing each batch in the step."""
    from validation.causal import joint

    kw = dict(parents=(-1, 0, 1, 2, 0, 4), S=3, steps=60, batch=64, test_size=256, n_log=4, seed=5)
    ahead = train_disentangled(**kw)
    real = joint.prefetched
    monkeypatch.setattr(joint, "prefetched", lambda draw, n, gen, enabled, **k: real(draw, n, gen, False, **k))
    in_place = train_disentangled(**kw)
    for key in ("losses", "A1", "W"):
        np.testing.assert_array_equal(getattr(ahead, key), getattr(in_place, key))
