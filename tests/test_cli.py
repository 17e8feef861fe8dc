"""The icl-theory command line: derive, check, figures, reproduce; user errors exit 2 with one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from paper_figs.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_derive_prints_the_exact_optimal_step_size(capsys):
    """eta* = N/(s^2 (N + d - 2 + k)) = 10/((1/12)(18 + 9/5)) = 200/33 for U(-1/2, 1/2), d = N = 10."""
    code, out, _ = run(capsys, "derive", "optimal_step_size", "d=10", "N=10", "law=uniform(1/2)")
    assert code == 0
    assert out.splitlines()[0] == "200/33"


def test_derive_json_and_latex(capsys):
    code, out, _ = run(capsys, "derive", "lsa.optimal_step_size", "10", "10", "gaussian(1)", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["result"] == "10/21" and data["value"] == pytest.approx(10 / 21)
    code, out, _ = run(capsys, "derive", "optimal_step_size", "d", "N", "law=gaussian(1)", "--latex")
    assert code == 0 and "\\frac{N}{N + d + 1}" in out


def test_derive_accepts_symbols_that_clash_with_sympy_names(capsys):
    """N, S, E, gamma are user symbols on the command line, not sympy functions."""
    code, out, _ = run(capsys, "derive", "one_step_loss", "eta", "d", "N", "law=gaussian(sigma)")
    assert code == 0 and "eta" in out and "sigma" in out


def test_derive_list_names_the_public_theory_functions(capsys):
    code, out, _ = run(capsys, "derive", "--list")
    assert code == 0 and "lsa.optimal_step_size" in out and "laws.dirichlet_moment" in out


@pytest.mark.parametrize("argv,needle", [
    (["derive", "no_such_result"], "name"),
    (["derive", "optimal_step_size", "d=0", "N=10", "law=gaussian(1)"], "d must be"),
    (["derive", "optimal_step_size", "d=3", "N=10", "law=cauchy(1)"], "law must be"),
    (["derive", "optimal_step_size", "d=3", "N=10", "law=gaussian(-1)"], "sigma"),
    (["derive", "optimal_step_size", "q=3"], "q"),
    (["derive", "zfb_preconditioner", "Lambda=[[1,2],[0,1]]", "N=3"], "Lambda"),
    (["figures", "--figure", "no_such_figure", "--out", "{tmp}"], "figure"),
    (["figures", "--profile", "huge"], "profile"),
    (["figures", "--paper", "smith1999"], "paper"),
    (["check", "--paper", "smith1999"], "paper"),
    (["bogus"], "invalid choice"),
])
def test_user_errors_print_one_error_line_and_exit_2(capsys, tmp_path, argv, needle):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], err


def test_unwritable_output_folder_is_a_user_error(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = run(capsys, "figures", "--paper", "vonoswald2023", "--out", str(blocker / "sub"))
    assert code == 2 and err.startswith("error:") and "out" in err
    assert not (blocker.parent / "sub").exists()


def test_console_script_runs_as_a_process(tmp_path):
    """The installed entry point and `python -m paper_figs` both reach the same parser."""
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "paper_figs", "--figure", "nope", "--out", str(tmp_path)],
                          capture_output=True, text=True, env=env, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.returncode == 2 and proc.stderr.startswith("error:")
    assert proc.stdout == ""


TRAINED = []  # the configs the fake trainer below really trained


def fake_trainer(*, x: int, seed: int = 0) -> dict:
    """A stand-in training run for the store tests: records that it ran."""
    TRAINED.append((x, seed))
    return {"x": x, "seed": seed, "value": x * x + seed}


@pytest.fixture
def fake_paper(monkeypatch):
    """A stand-in paper with one passing check, one failing check and one figure that trains a run."""
    import types

    from validation import papers
    from validation.checks import compare
    from validation.store import RunConfig, run as run_config

    checks = types.ModuleType("validation.checks.fake")
    figures = types.ModuleType("paper_figs.fake")

    def good(profile):
        return compare("fake", "one plus one is two", 2, 1 + 1, 0.0, detail="exact")

    def bad(profile):
        return compare("fake", "a claim that fails", 1.0, 1.5, 0.1, detail="|diff| > tol")

    def fig_demo(*, profile="quick", out="results", seed=0):
        from paper_figs.artifacts import save_figure
        from paper_figs.style import THEORY, figure_style

        result = run_config(RunConfig.of(fake_trainer, x=3, seed=seed))
        with figure_style() as plt:
            fig, ax = plt.subplots(figsize=(2, 2))
            ax.plot([0, 1], [0, result["value"]], **THEORY)
            return save_figure(fig, out, "fake", "demo", arrays={"x": [0, 1]}, config={"profile": profile})

    def seeded(profile, seed=0):
        return compare("fake", f"a seeded draw (seed {seed})", 0.0, 0.0, 0.0, source="derived")

    def demo_claim(arrays, config):
        return compare("fake", "the demo line ends at 1", 1.0, float(arrays["x"][-1]), 0.0, source="derived")

    checks.CHECKS = [good, seeded]
    figures.FIGURES = {"demo": fig_demo}
    figures.FIGURE_CHECKS = {"demo": demo_claim}
    monkeypatch.setitem(sys.modules, "validation.checks.fake", checks)
    monkeypatch.setitem(sys.modules, "paper_figs.fake", figures)
    monkeypatch.setattr(papers, "PAPERS", (papers.Paper("fake", "A stand-in paper", "lsa"),))
    TRAINED.clear()
    return checks, bad


def test_check_prints_the_table_and_exits_1_on_failure(capsys, fake_paper, tmp_path):
    module, bad = fake_paper
    code, out, _ = run(capsys, "check", "--paper", "fake", "--out", str(tmp_path))
    assert code == 0 and "one plus one is two" in out and "2 passed, 0 failed" in out
    module.CHECKS.append(bad)
    code, out, _ = run(capsys, "check", "--paper", "all", "--json", "--out", str(tmp_path))
    assert code == 1
    rows = json.loads(out)
    assert [r["passed"] for r in rows] == [True, True, False]
    assert {"paper", "claim", "source", "theory", "measured", "tolerance", "passed"} <= set(rows[0])


def test_check_claim_filter_and_seed(capsys, fake_paper, tmp_path):
    """--claim keeps the rows whose claim contains the text (no match: a user error); --seed reaches
    the check groups that take a seed."""
    code, out, _ = run(capsys, "check", "--paper", "fake", "--claim", "PLUS ONE", "--json", "--out", str(tmp_path))
    assert code == 0 and [r["claim"] for r in json.loads(out)] == ["one plus one is two"]
    code, out, _ = run(capsys, "check", "--paper", "fake", "--seed", "7", "--json", "--out", str(tmp_path))
    assert code == 0 and "a seeded draw (seed 7)" in [r["claim"] for r in json.loads(out)]
    code, _, err = run(capsys, "check", "--paper", "fake", "--claim", "no such claim", "--out", str(tmp_path),
                       "--quiet")
    assert code == 2 and err.startswith("error: claim") and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "check", "--paper", "fake", "--seed", "-1", "--out", str(tmp_path))
    assert code == 2 and "seed" in err


def test_reproduce_writes_figures_and_a_report(capsys, fake_paper, tmp_path):
    code, out, _ = run(capsys, "reproduce", "--out", str(tmp_path), "--quiet")
    assert code == 0
    for ext in ("png", "pdf", "npz", "json"):
        assert (tmp_path / "fake" / f"demo.{ext}").stat().st_size > 0
    report = (tmp_path / "REPORT.md").read_text()
    assert "one plus one is two" in report and "![fake demo](fake/demo.png)" in report
    # the figure's claim, asserted from its own arrays, stands under the figure
    assert report.index("the demo line ends at 1") > report.index("![fake demo](fake/demo.png)")
    assert json.loads((tmp_path / "figure_checks.json").read_text())[0]["figure"] == "demo"
    assert "## Errata" in report
    assert json.loads((tmp_path / "checks.json").read_text())[0]["passed"] is True
    # no temporary files are left behind by the atomic writes (the run store keeps its own files)
    assert not [p for p in tmp_path.rglob(".*") if p.is_file() and ".runs" not in p.parts]


def test_reproduce_writes_an_html_report_with_every_row_and_existing_images(capsys, fake_paper, tmp_path):
    from html.parser import HTMLParser

    module, bad = fake_paper
    module.CHECKS.append(bad)
    code, _, _ = run(capsys, "reproduce", "--out", str(tmp_path), "--quiet")
    assert code == 1  # the failing row

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.images, self.scripts_from, self.selects = [], [], [], []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "tr" and "data-paper" in attrs:
                self.rows.append(attrs)
            if tag == "img":
                self.images.append(attrs["src"])
            if tag in ("script", "link") and (attrs.get("src") or attrs.get("href")):
                self.scripts_from.append(attrs)
            if tag == "select":
                self.selects.append(attrs["id"])

    page = Page()
    text = (tmp_path / "REPORT.html").read_text()
    page.feed(text)
    checks = [r for r in page.rows if "data-figure" not in r]
    figure_claims = [r for r in page.rows if "data-figure" in r]
    assert [r["data-outcome"] for r in checks] == ["pass", "pass", "fail"]
    assert [r["data-source"] for r in checks] == ["unlabelled", "derived", "unlabelled"]
    assert [r["data-figure"] for r in figure_claims] == ["demo"]
    assert page.images and all((tmp_path / src).is_file() for src in page.images)
    assert page.scripts_from == []  # self-contained: nothing loaded from elsewhere
    assert page.selects == ["f-paper", "f-source", "f-outcome"]
    assert "one plus one is two" in text and "a claim that fails" in text and "Errata" in text


def test_compare_reports_differences_beyond_the_claims_tolerances(capsys, fake_paper, tmp_path):
    import shutil

    a, b = tmp_path / "a", tmp_path / "b"
    assert run(capsys, "reproduce", "--out", str(a), "--quiet")[0] == 0
    shutil.copytree(a, b)
    code, out, _ = run(capsys, "compare", str(a), str(b))
    assert code == 0 and out.strip().endswith(f"0 difference(s) beyond the claims' tolerances between {a} and {b}")
    rows = json.loads((b / "checks.json").read_text())
    rows[0]["measured"] += 0.5  # tolerance 0: beyond it
    rows.append(dict(rows[1], claim="a claim only B has"))
    (b / "checks.json").write_text(json.dumps(rows))
    figure_rows = json.loads((b / "figure_checks.json").read_text())
    figure_rows[0]["passed"] = False
    (b / "figure_checks.json").write_text(json.dumps(figure_rows))
    with np.load(b / "fake" / "demo.npz") as f:
        arrays = {k: f[k] for k in f.files}
    arrays["x"] = arrays["x"] * 2.0
    np.savez(b / "fake" / "demo.npz", **arrays)
    code, out, _ = run(capsys, "compare", str(a), str(b), "--json")
    assert code == 1
    kinds = {(d["kind"], d["where"], d["claim"]) for d in json.loads(out)}
    assert kinds == {("beyond tolerance", "check", "one plus one is two"),
                     ("only in B", "check", "a claim only B has"),
                     ("outcome", "demo", "the demo line ends at 1"),
                     ("arrays", "demo", "largest relative difference (x)")}
    code, _, err = run(capsys, "compare", str(a), str(tmp_path / "missing"))
    assert code == 2 and err.startswith("error:") and "missing" in err


def test_export_keeps_reports_tables_and_pngs_and_compare_works_on_it(capsys, fake_paper, tmp_path):
    """export copies the reports, check tables, log and each figure's PNG and JSON (no arrays, PDFs or
    store); the images the HTML report names exist in the export, and compare against it finds nothing."""
    a, ref = tmp_path / "a", tmp_path / "ref"
    assert run(capsys, "reproduce", "--out", str(a), "--quiet")[0] == 0
    code, out, _ = run(capsys, "export", str(a), str(ref))
    assert code == 0 and out.startswith("exported ")
    names = sorted(str(p.relative_to(ref)) for p in ref.rglob("*") if p.is_file())
    assert names == sorted(["REPORT.html", "REPORT.md", "checks.json", "figure_checks.json", "fake/demo.json",
                            "fake/demo.png", "icl-theory.log"])
    assert "fake/demo.png" in (ref / "REPORT.html").read_text()
    code, out, _ = run(capsys, "compare", str(ref), str(a))
    assert code == 0, out
    for bad in ([str(tmp_path / "nothing"), str(ref / "x")], [str(a), str(a)]):
        code, _, err = run(capsys, "export", *bad)
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err


def test_progress_lines_reach_a_pipe_and_the_log_file(capsys, fake_paper, tmp_path):
    """With stderr not a terminal (a pipe, a file), each finished check group, training run and
    figure still prints one line, and the same lines land in OUT/icl-theory.log."""
    code, _, err = run(capsys, "reproduce", "--paper", "fake", "--out", str(tmp_path))
    assert code == 0
    for needle in ("check fake:good: 1 rows, pass", "trained fake_trainer(seed=0, x=3)",
                   "figure fake:demo: 4 files", "claim pass (1 of 1 rows)", "runs: 1 trained, 0 reused"):
        assert needle in err, err
        assert needle in (tmp_path / "icl-theory.log").read_text()
    code, _, err = run(capsys, "check", "--paper", "fake", "--out", str(tmp_path), "--quiet")
    assert code == 0 and err == ""


def test_figures_list_names_each_figure_with_its_claim_and_draws_nothing(capsys, fake_paper, tmp_path):
    code, out, _ = run(capsys, "figures", "--list", "--out", str(tmp_path / "out"))
    assert code == 0 and out.splitlines()[0] == "fake:" and "demo" in out
    assert not (tmp_path / "out").exists() and TRAINED == []


def test_figures_list_of_the_real_papers_names_every_registered_figure(capsys):
    from paper_figs.registry import figures_of
    from validation import papers

    code, out, _ = run(capsys, "figures", "--list")
    assert code == 0
    for p in papers.PAPERS:
        assert f"{p.key}:" in out
        for name in figures_of(p.key):
            assert f"  {name} " in out


def test_a_second_figures_run_trains_nothing_and_fresh_retrains(capsys, fake_paper, tmp_path):
    """The run store persists across commands: the same figure, profile and seed reuses the stored
    run (the trainer is not called again); another seed is another config; --fresh retrains."""
    argv = ["figures", "--paper", "fake", "--out", str(tmp_path), "--quiet"]
    assert run(capsys, *argv)[0] == 0 and TRAINED == [(3, 0)]
    assert run(capsys, *argv)[0] == 0 and TRAINED == [(3, 0)]
    assert run(capsys, *argv, "--seed", "1")[0] == 0 and TRAINED == [(3, 0), (3, 1)]
    assert run(capsys, *argv, "--fresh")[0] == 0 and TRAINED == [(3, 0), (3, 1), (3, 0)]
    store = tmp_path / "elsewhere"
    assert run(capsys, *argv, "--store", str(store))[0] == 0 and TRAINED[-1] == (3, 0) and len(TRAINED) == 4
    assert store.is_dir() and any(store.rglob("output.pkl"))


def test_a_library_bug_is_not_reported_as_a_user_mistake(capsys, fake_paper, tmp_path):
    """A ValueError raised inside the library (not an ArgumentError) propagates with its traceback
    (exit status 1 from the interpreter), instead of the user's `error:` line and status 2."""
    module, _ = fake_paper

    def buggy(profile):
        raise ValueError("an internal inconsistency")

    module.CHECKS.append(buggy)
    with pytest.raises(ValueError, match="internal inconsistency"):
        main(["check", "--paper", "fake", "--out", str(tmp_path), "--quiet"])


def test_version_and_non_finite_numbers(capsys):
    from validation.store import package_version

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    out, _ = capsys.readouterr()
    assert exit_info.value.code == 0 and out.strip() == f"icl-theory {package_version()}"
    for bad in ("eta=nan", "eta=zoo", "eta=-oo"):
        code, out, err = run(capsys, "derive", "one_step_loss", bad, "d=3", "N=5", "law=gaussian(1)")
        assert code == 2 and err.startswith("error: eta must be finite") and out == "", err


def test_an_interrupted_write_leaves_neither_a_partial_file_nor_a_temporary(tmp_path):
    """atomic_path moves the file into place only when the block finishes."""
    from paper_figs.artifacts import atomic_path

    target = tmp_path / "fig.png"
    target.write_bytes(b"old complete file")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old complete file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]


def test_written_files_get_the_permissions_of_a_plain_open(tmp_path):
    """Results written atomically (figures, reports, benchmark JSON) are readable by others as a plain
    ``open`` would make them under the umask, not owner-only as ``mkstemp`` creates them."""
    import os

    from benchmarks import write_result
    from paper_figs.artifacts import write_text

    old = os.umask(0o022)
    try:
        a = write_text(tmp_path / "REPORT.md", "x")
        b = write_result(tmp_path / "bench.json", {"x": 1})
    finally:
        os.umask(old)
    assert (a.stat().st_mode & 0o777) == 0o644 and (b.stat().st_mode & 0o777) == 0o644


def test_check_results_two_sided_one_sided_and_nan():
    """compare is |m - t| <= tol (relative: tol |t|); exceeds is m > t + margin; NaN never passes."""
    from validation.checks import compare, exceeds

    assert compare("p", "c", 1.0, 1.04, 0.05).passed and not compare("p", "c", 1.0, 1.06, 0.05).passed
    assert compare("p", "c", 2.0, 2.09, 0.05, relative=True).passed
    assert not compare("p", "c", 2.0, 2.11, 0.05, relative=True).passed
    assert not compare("p", "c", 0.0, float("nan"), 1.0).passed
    assert exceeds("p", "c", 0.0, 0.2, 0.1).passed and not exceeds("p", "c", 0.0, 0.1, 0.1).passed
    assert not exceeds("p", "c", 0.0, float("nan"), 0.1).passed
    assert exceeds("p", "c", 0.0, 0.2, 0.1).row()[5] == "> theory + 0.1"


def test_readme_lists_every_erratum_and_the_quickstart_ci_runs():
    """The README's errata table is the list in paper_figs/errata.py, row for row; every erratum says
    where the paper's side was read and names its evidence; .ci/run reads the README's quickstart."""
    from pathlib import Path

    from paper_figs.errata import ERRATA, SAID_IN, errata_row

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    for e in ERRATA:
        assert errata_row(e) in readme.splitlines(), e["item"]
        assert e["said_in"] in SAID_IN and e["shown_by"].strip() and e["holds"].strip(), e["item"]
    assert "<!-- quickstart:install -->" in readme and "<!-- quickstart:test -->" in readme
    assert "quickstart:install" in (root / ".ci" / "run").read_text()


def test_every_derive_command_in_the_readme_runs(capsys):
    """The README's `icl-theory derive ...` examples are commands a reader will paste: each must succeed."""
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    commands = sorted(set(re.findall(r"`icl-theory (derive [^`]*)`", readme)))
    assert len(commands) >= 10
    for command in commands:
        code, out, err = run(capsys, *shlex.split(command))
        assert code == 0 and out.strip(), (command, err)


# Bad input through the public API: each call raises ValueError (TypeError for a wrong kind) whose message
# names the argument and the accepted range. With the command-line cases above, more than 40 bad inputs.
API_BAD_INPUTS = [
    ("theory.lsa.one_step_loss(eta=1, d=0, N=5, law='gaussian(1)')", "d must be an integer >= 1, got 0"),
    ("theory.lsa.one_step_loss(eta=float('nan'), d=3, N=5, law='gaussian(1)')", "eta must be a real number"),
    ("theory.lsa.optimal_step_size(d=3, N=-1, law='gaussian(1)')", "N must be an integer >= 1, got -1"),
    ("theory.lsa.optimal_step_size(d=3, N=5, law='cauchy(1)')", "law must be one of gaussian"),
    ("theory.lsa.optimal_step_size(d=3, N=5, law='gaussian(1)', noise_var=-1)", "noise_var must be >= 0, got -1"),
    ("theory.lsa.zfb_preconditioner(sp.Matrix([[1, 2], [0, 1]]), 3)", "Lambda must be symmetric"),
    ("theory.mesa.fixed_point(5, 2, 'gaussian(1)')", "T must be an integer >= 3"),
    ("theory.mesa.fixed_point(0, 10, 'gaussian(1)')", "d must be an integer >= 1, got 0"),
    ("theory.mesa.fixed_point(5, 10, 'full_one(1)')", "law must satisfy Assumption 4.1"),
    ("theory.mesa.recovers_distribution('full_one(1)', 5)", "law must satisfy Assumption 4.1"),
    ("theory.mesa.position_error(1, 0.1, 5, 'gaussian(1)')", "t must be an integer >= 2"),
    ("theory.mesa.balanced_flow(1, -1, 5, 10, 'gaussian(1)')", "c0 must be >= 0"),
    ("theory.laws.Gaussian(-1)", "sigma must be > 0, got -1"),
    ("theory.laws.Uniform(True)", "half_width must be a number"),
    ("theory.laws.dirichlet_moment(0, (1, 1))", "alpha must be > 0, got 0"),
    ("theory.laws.parse_law('gaussian(x')", "law must be one of gaussian"),
    ("numerics.lsa.sample_tasks(0, 10, 10, rng=np.random.default_rng(0))", "n_tasks must be an integer >= 1, got 0"),
    ("numerics.lsa.fit_gdpp(0)", "K must be an integer >= 1, got 0"),
    ("numerics.mesa.c_star(5, 1, 'gaussian(1)')", "T must be an integer >= 3"),
    ("numerics.seeds.child_rng(-1)", "seed must be an integer >= 0, got -1"),
    ("numerics.seeds.child_rng(0, 1.5)", "key must be an integer >= 0"),
    ("numerics.seeds.make_rng()", "seed must be an int"),
    ("validation.lsa.train_lsa(d=10, N=10, law='uniform(1/2)', steps=0, batch=8, lr=1e-3, seed=0)",
     "steps must be an integer >= 1, got 0"),
    ("validation.lsa.train_lsa(d=10, N=10, law='uniform(1/2)', steps=2, batch=8, lr=float('nan'), seed=0)",
     "lr must be a finite number > 0, got nan"),
    ("validation.lsa.train_lsa(d=10, N=10, law='uniform(1/2)', steps=2, batch=8, lr=1e-3, seed=0, device='gpu')",
     "device must be a torch device"),
    ("validation.mesa.train_mesa(d=2, T=5, law='gaussian(1)', m=0, lr=1e-3, epochs=1, seed=0)",
     "m must be an integer >= 1, got 0"),
    ("validation.mesa.train_mesa(d=2, T=5, law='gaussian(1)', m=10, lr=1e-3, epochs=1, seed=-3)",
     "seed must be an integer >= 0, got -3"),
    ("validation.mesa.train_mesa(d=2, T=5, law='gaussian(1)', m=10, lr=-1, epochs=1, seed=0)",
     "lr must be a finite number > 0"),
    ("validation.mesa.train_mesa(d=2, T=2, law='gaussian(1)', m=10, lr=1e-3, epochs=1, seed=0)",
     "T must be an integer >= 3, got 2"),
    ("theory.causal.chi2_mutual_information(sp.Matrix([[1, 1], [0, 0]]))", "joint must sum to 1"),
    ("theory.causal.expected_row_entropy(2, -1)", "alpha must be > 0"),
    ("numerics.causal.information_matrix([1, 0], 2, 0.1)", "parents[0] must be -1"),
    ("numerics.causal.information_matrix([-1, 0, 1], 1, 0.1)", "S must be"),
    ("numerics.causal.stationary_distribution(np.array([[0.5, 0.6], [0.5, 0.5]]))", "P must be"),
    ("validation.causal.train_disentangled(parents=[-1, 0, 1], S=3, alpha=0.1, heads=(0,), steps=2, batch=4, "
     "lr=1.0, seed=0)", "heads"),
    ("validation.args.device('gpu')", "device must be a torch device"),
    ("validation.args.dtype('float16')", "dtype must be torch.float32 or torch.float64"),
    ("validation.store.RunConfig('nodots', ())", "trainer must be a dotted path"),
    ("validation.papers.paper('smith1999')", "paper must be one of 'vonoswald2023'"),
    ("validation.checks.run_checks('vonoswald2023', 'huge')", "profile must be one of 'quick', 'paper'"),
]


@pytest.mark.parametrize("call,message", API_BAD_INPUTS, ids=[c for c, _ in API_BAD_INPUTS])
def test_bad_api_input_raises_value_error_naming_the_argument(call, message):
    import numpy as np  # noqa: F401 (used by the calls)
    import sympy as sp  # noqa: F401

    import numerics.causal  # noqa: F401
    import numerics.lsa  # noqa: F401
    import numerics.mesa  # noqa: F401
    import numerics.seeds  # noqa: F401
    import theory.causal  # noqa: F401
    import theory.laws  # noqa: F401
    import theory.lsa  # noqa: F401
    import theory.mesa  # noqa: F401
    import validation.args  # noqa: F401
    import validation.causal  # noqa: F401
    import validation.checks  # noqa: F401
    import validation.lsa  # noqa: F401
    import validation.mesa  # noqa: F401
    import validation.papers  # noqa: F401
    import validation.store  # noqa: F401

    with pytest.raises((ValueError, TypeError)) as info:
        eval(call)
    assert message in str(info.value), str(info.value)


def test_there_are_at_least_forty_bad_input_cases():
    parser_cases = test_user_errors_print_one_error_line_and_exit_2.pytestmark[0].args[1]
    assert len(API_BAD_INPUTS) + len(parser_cases) >= 40


def test_every_test_the_readme_cites_exists():
    """The README's result tables cite tests as `layer::test_name` (a `*` allowed): each must exist in
    tests/test_<paper>_<layer>.py, so a renamed test cannot leave the table pointing nowhere."""
    import fnmatch
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    section = readme[readme.index("### von Oswald"):readme.index("## Speed")]
    paper, cited = None, 0
    for line in section.splitlines():
        heading = re.match(r"### .*\(`(\w+)`\)", line)
        if heading:
            paper = heading.group(1)
            continue
        for layer, test in re.findall(r"`(\w+)::(test_[\w*]+)`", line):
            source = (root / "tests" / f"test_{paper}_{layer}.py").read_text()
            defined = re.findall(r"^def (test_\w+)", source, flags=re.M)
            assert any(fnmatch.fnmatch(name, test) for name in defined), f"{paper} {layer}::{test}"
            cited += 1
    assert cited >= 30


def test_sigterm_stops_a_command_as_ctrl_c_does_with_one_error_line(monkeypatch, capsys):
    """``kill``, ``timeout`` and batch systems send SIGTERM: the command unwinds as on Ctrl-C (cluster work
    cancelled, nothing partial written), prints one line and exits 143; its handler is then restored."""
    import signal
    import time

    from paper_figs import cli

    def killed(ns):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)  # the handler interrupts this
        return 0

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(cli, "_cmd_export", killed)
    assert cli.main(["export", "src", "dst"]) == 143
    assert capsys.readouterr().err == "error: terminated\n"
    assert signal.getsignal(signal.SIGTERM) is before
