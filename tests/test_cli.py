"""The icl-theory command line: derive, check, figures, reproduce; user errors exit 2 with one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys

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
