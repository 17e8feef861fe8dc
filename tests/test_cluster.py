"""Runs on a Dask cluster: the same numbers as in-process, stored where the command runs, failures
named, and bad cluster specs refused. One LocalCluster of two worker processes serves the module."""
import numpy as np
import pytest

from validation.causal import train_disentangled
from validation.cluster import parse_cluster, use_cluster
from validation.store import RunConfig, RunFailed, RunStore, run, run_many, use_store


def _configs():
    return [RunConfig.of(train_disentangled, parents=(-1, 0, 1, 2), S=3, steps=30, batch=32, test_size=128,
                         n_log=2, seed=s) for s in (0, 1, 2)]


@pytest.fixture(scope="module")
def cluster():
    with use_cluster("local:2") as client:
        yield client


def test_runs_on_two_workers_equal_in_process_runs_and_land_in_the_store(cluster, tmp_path):
    assert cluster is not None and len(cluster.scheduler_info()["workers"]) == 2
    with use_store(None) as store:
        remote = run_many(_configs())
        assert store.trained == 3
    local = [c.execute() for c in _configs()]  # trains here, bypassing store and cluster
    for a, b in zip(remote, local):
        np.testing.assert_array_equal(a.losses, b.losses)
        np.testing.assert_array_equal(a.A1, b.A1)
        np.testing.assert_array_equal(a.W, b.W)
    # results computed on workers are written to this machine's store folder
    with use_store(tmp_path) as store:
        run_many(_configs()[:2])
        assert (store.trained, store.reused) == (2, 0)
    with use_store(RunStore(tmp_path)) as again:
        run(_configs()[0])
    assert (again.trained, again.reused) == (0, 1)


def test_a_failed_run_is_reported_by_name_and_the_others_are_kept(cluster, tmp_path):
    good = _configs()[0]
    bad = RunConfig.of(train_disentangled, parents=(-1, 0, 1, 2), S=3, steps=30, batch=32, test_size=128, n_log=2,
                       seed=0, optimizer="lbfgs")
    with use_store(tmp_path) as store:
        with pytest.raises(RunFailed, match=r"1 of 2 run\(s\) failed(.|\n)*optimizer=lbfgs(.|\n)*ArgumentError: optimizer must be"):
            run_many([good, bad])
        assert store.trained == 1
    with use_store(RunStore(tmp_path)) as again:
        run(good)
        assert again.reused == 1


@pytest.mark.parametrize("spec", ["local:0", "local:x", "local", "cluster", "", "tcp://", 3])
def test_bad_cluster_specs_are_refused_naming_the_argument(spec):
    with pytest.raises(ValueError, match="cluster"):
        parse_cluster(spec)


def test_cluster_specs():
    assert parse_cluster("none") == ("none", None)
    assert parse_cluster("local:4") == ("local", 4)
    assert parse_cluster("tcp://10.1.2.3:8786") == ("address", "tcp://10.1.2.3:8786")
    assert parse_cluster("scheduler.example.org:8786") == ("address", "tcp://scheduler.example.org:8786")


@pytest.fixture
def tiny_paper(monkeypatch):
    """A stand-in paper whose figure trains three tiny causal runs through the store, and whose runs
    module lists them as its standard runs (what --cluster submits first)."""
    import sys
    import types

    from validation import papers

    runs = types.ModuleType("validation.runs.tiny")
    runs.all_configs = lambda profile, seed=0: _configs()
    checks = types.ModuleType("validation.checks.tiny")
    checks.CHECKS = []
    figures = types.ModuleType("paper_figs.tiny")

    def fig_tiny(*, profile="quick", out="results", seed=0):
        from paper_figs.artifacts import save_figure
        from paper_figs.style import figure_style

        results = run_many(_configs())
        with figure_style() as plt:
            fig, ax = plt.subplots(figsize=(2, 2))
            for r in results:
                ax.plot(r.steps, r.losses)
            return save_figure(fig, out, "tiny", "losses", arrays={"losses": np.array([r.losses for r in results]),
                                                                   "W": np.array([r.W for r in results])},
                               config={"profile": profile})

    figures.FIGURES = {"losses": fig_tiny}
    for name, module in (("validation.runs.tiny", runs), ("validation.checks.tiny", checks),
                         ("paper_figs.tiny", figures)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(papers, "PAPERS", (papers.Paper("tiny", "A stand-in paper", "causal"),))


def test_a_figure_drawn_on_local_2_has_the_arrays_of_the_in_process_run(tiny_paper, tmp_path, capsys):
    from paper_figs.cli import main

    assert main(["figures", "--out", str(tmp_path / "here"), "--quiet"]) == 0
    assert main(["figures", "--out", str(tmp_path / "there"), "--cluster", "local:2"]) == 0
    err = capsys.readouterr().err
    assert "submitting 3 standard run(s) of all to the cluster" in err and "on a cluster worker" in err
    with np.load(tmp_path / "here" / "tiny" / "losses.npz") as a, np.load(tmp_path / "there" / "tiny" / "losses.npz") as b:
        for key in ("losses", "W"):
            np.testing.assert_array_equal(a[key], b[key])


def test_cli_refuses_a_bad_cluster_with_one_error_line(capsys, tmp_path):
    from paper_figs.cli import main

    assert main(["check", "--cluster", "local:0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "--cluster" in err and len(err.strip().splitlines()) == 1


def test_cost_hint_ranks_longer_larger_deeper_runs_first():
    """The cluster gets the costliest runs first (only the order changes): steps x batch x layers, or
    epochs x samples for a full-batch trainer."""
    from validation.lsa import train_lsa
    from validation.mesa import train_mesa

    lsa = dict(d=2, N=3, batch=64, steps=100, layers=1)
    base = RunConfig.of(train_lsa, **lsa).cost_hint
    assert base == 100 * 64
    assert RunConfig.of(train_lsa, **dict(lsa, steps=1000)).cost_hint == 10 * base
    assert RunConfig.of(train_lsa, **dict(lsa, layers=5)).cost_hint == 5 * base
    assert RunConfig.of(train_mesa, d=2, T=6, m=500, epochs=40).cost_hint == 40 * 500
    assert _configs()[0].cost_hint == 30 * 32


def test_local_workers_run_without_the_dask_profiler_and_malloc_trimming(cluster):
    """The statistical profiler (a stack sample of every thread each 10 ms, under the GIL) is off on the
    local cluster's workers, and glibc's malloc keeps its adaptive thresholds (no MALLOC_TRIM_THRESHOLD_):
    each of Dask's two defaults slowed the trainers down (validation.cluster)."""
    import os

    import dask

    enabled = cluster.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
    assert list(enabled.values()) == [False, False]
    trim = cluster.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert list(trim.values()) == [None, None]


def test_runs_in_flight_on_workers_show_their_checkpointed_steps_in_the_command_log(cluster, tmp_path, monkeypatch,
                                                                                   caplog):
    """A worker's own log never reaches icl-theory.log: the command reads the checkpoints the workers write
    into the store folder and logs the runs' steps (validation.checkpoint.CheckpointWatcher)."""
    import os

    config = RunConfig.of(train_disentangled, parents=(-1, 0, 1, 2), S=3, steps=600, batch=32, test_size=128,
                          n_log=2, seed=9)
    monkeypatch.setenv("ICL_THEORY_CHECKPOINT_SECONDS", "0")  # the watcher polls every 0.1 s
    cluster.run(lambda: os.environ.__setitem__("ICL_THEORY_CHECKPOINT_SECONDS", "0"))  # a checkpoint every step
    caplog.set_level("INFO", logger="icl_theory.runs")
    try:
        with use_store(tmp_path):
            run_many([config])
    finally:
        cluster.run(lambda: os.environ.pop("ICL_THEORY_CHECKPOINT_SECONDS", None))
    assert "in progress: train_disentangled(" in caplog.text and " of 600 (its checkpoint)" in caplog.text
    assert "on a cluster worker (1 of 1)" in caplog.text
