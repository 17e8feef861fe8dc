"""The benchmark helpers that read what other commands wrote: a reproduce's log, pytest's JUnit file."""
from __future__ import annotations

from benchmarks import spread_stats
from benchmarks.paper_profile_times import parse_log, run_seconds
from benchmarks.slow_tests import merge, parse_junit

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="3">
<testcase classname="tests.test_a" name="test_ok[paper]" time="12.34"/>
<testcase classname="tests.test_b" name="test_bad" time="1.5"><failure message="AssertionError: 3 of 40 rows failed&#10;more">trace</failure></testcase>
<testcase classname="tests.test_b" name="test_skip" time="0.01"><skipped message="no CUDA"/></testcase>
</testsuite></testsuites>"""


def test_junit_cases_become_ledger_entries_and_a_rerun_replaces_the_old_one(tmp_path):
    path = tmp_path / "j.xml"
    path.write_text(JUNIT)
    cases = parse_junit(path)
    assert [(c["id"], c["outcome"], c["seconds"]) for c in cases] == [
        ("tests/test_a.py::test_ok[paper]", "passed", 12.3), ("tests/test_b.py::test_bad", "failed", 1.5),
        ("tests/test_b.py::test_skip", "skipped", 0.0)]
    assert cases[1]["message"] == "AssertionError: 3 of 40 rows failed"
    ledger = merge({}, cases, commit="abc", store=None, when="then")
    rerun = [dict(cases[1], outcome="passed", message="")]
    ledger = merge(ledger, rerun, commit="def", store="/runs", when="now")
    assert ledger["tests/test_b.py::test_bad"]["outcome"] == "passed"
    assert ledger["tests/test_b.py::test_bad"]["commit"] == "def"
    assert ledger["tests/test_a.py::test_ok[paper]"]["commit"] == "abc"


def test_reproduce_log_times_are_summed_per_trainer_check_and_figure():
    log = "\n".join([
        "2026-12-02 04:00:00 icl-theory reproduce --profile paper --out X (store X/.runs)",
        "2026-12-02 04:00:10 trained train_lsa(d=10, steps=5) in 4.5 s (2.0 s of it before a resume) on a cluster "
        "worker (1 of 2)",
        "2026-12-02 04:00:20 trained train_lsa(d=10, steps=6) in 5.5 s",
        "2026-12-02 04:01:00 check vonoswald2023:check_gram_spectrum: 3 rows pass (2.0 s)",
        "2026-12-02 04:02:00 figure vonoswald2023:fig2: 4 files (7.5 s)",
        "2026-12-02 05:00:00 icl-theory reproduce --profile paper --out X (store X/.runs)",
        "2026-12-02 05:00:30 trained train_mesa(T=6) in 30.0 s",
    ])
    out = parse_log(log)
    assert [c["wall_seconds"] for c in out["commands"]] == [120.0, 30.0]
    assert out["trainers"] == {"train_lsa": {"runs": 2, "seconds": 10.0}, "train_mesa": {"runs": 1, "seconds": 30.0}}
    assert out["checks"] == {"vonoswald2023:check_gram_spectrum": 2.0}
    assert out["figures"] == {"vonoswald2023:fig2": 7.5}
    assert run_seconds(log) == {"train_lsa(d=10, steps=5)": 4.5, "train_lsa(d=10, steps=6)": 5.5, "train_mesa(T=6)": 30.0}


def test_spread_stats_are_the_sample_mean_sd_min_max_per_key():
    rows = [dict(seed=1, a=1.0, b=0.0), dict(seed=2, a=2.0, b=0.0), dict(seed=3, a=6.0, b=0.0)]
    assert spread_stats(rows) == {"a": dict(mean=3.0, sd=2.6457513110645907, min=1.0, max=6.0),
                                  "b": dict(mean=0.0, sd=0.0, min=0.0, max=0.0)}


def test_the_runs_left_are_the_unstored_ones_estimated_at_their_trainers_logged_rate(tmp_path, monkeypatch):
    """Two standard runs, one stored and logged at 10 s for a cost hint of 1: the other, cost hint 3, is the one
    left, estimated at 30 s."""
    from benchmarks.paper_profile_times import remaining, run_seconds
    from validation.runs import nichani2024, vonoswald2023, zheng2024
    from validation.store import RunConfig, run, use_store

    done, left = RunConfig.of(dict, x=1), RunConfig.of(dict, x=2, steps=3)
    monkeypatch.setattr(zheng2024, "all_configs", lambda profile: [done, left])
    for module in (vonoswald2023, nichani2024):
        monkeypatch.setattr(module, "all_configs", lambda profile: [])
    with use_store(tmp_path / ".runs"):
        run(done)
    log = f"2026-12-02 10:00:00 trained {done.name} in 10.0 s on a cluster worker (1 of 2)\n"
    assert run_seconds(log) == {done.name: 10.0}
    out = remaining(tmp_path, "paper", run_seconds(log))
    assert (out["runs"], out["stored"], out["left_without_estimate"]) == (2, 1, 0)
    assert out["left"] == {"dict": {"runs": 1, "estimated_cpu_seconds": 30}}
    assert out["estimated_cpu_seconds"] == out["longest_estimated_seconds"] == 30
    # a checkpoint at step 1 of 3: two thirds left
    from validation.checkpoint import Checkpoint
    from validation.store import RunStore

    Checkpoint(RunStore(tmp_path / ".runs").checkpoint_path(left)).save({"step": 1})
    assert remaining(tmp_path, "paper", run_seconds(log))["estimated_cpu_seconds"] == 20
