"""The run store on disk: a folder that can be moved (a snapshot of a reference run committed in one place
and resumed in another), and a cached function whose text must not change (joblib wipes a function's
whole cache when its source changes)."""
import ast
import hashlib
import inspect
import shutil
from pathlib import Path

from validation import store as store_module
from validation.store import RunConfig, use_store

#: sha256 of ``inspect.getsource(validation.store._execute)``. joblib compares the source text of the
#: function it caches with the copy it wrote into the store, and on any difference (a comment included)
#: deletes every result the store holds: a paper-profile store is hours of training. Change ``_execute``
#: only together with a version bump (which retrains anyway), then update this digest.
EXECUTE_SOURCE_SHA256 = "e34f88979431f3e1812a1274ebc15c98a9bd68d54fe0c9c4412f5a81a65f2d0a"


def test_the_cached_function_keeps_its_text_so_existing_stores_stay_valid():
    source = inspect.getsource(store_module._execute)
    assert hashlib.sha256(source.encode()).hexdigest() == EXECUTE_SOURCE_SHA256, (
        "validation.store._execute changed: every run store on disk would be wiped on its next lookup")


def test_a_store_folder_moved_elsewhere_is_reused_without_training(tmp_path):
    config = RunConfig.of(dict, x=21)
    with use_store(tmp_path / "a") as first:
        assert first.run(config) == {"x": 21}
    assert first.trained == 1
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    shutil.rmtree(tmp_path / "a")
    with use_store(tmp_path / "b") as moved:
        assert moved.run(config) == {"x": 21}
    assert (moved.trained, moved.reused) == (0, 1)


def _is_slow(node) -> bool:
    return any("slow" in ast.unparse(d) for d in node.decorator_list)


def test_every_slow_test_that_opens_a_store_opens_the_paper_store():
    """``ICL_THEORY_TEST_STORE=DIR pytest -m slow`` must run the paper-scale tests on the runs stored in DIR
    (README): a slow test that opened a store of its own (``use_store(None)``, a temporary folder) would
    train hours afresh beside it. Each ``use_store(...)`` inside a slow test takes the ``paper_store``
    fixture (conftest), which is that store when the variable is set."""
    offenders = []
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.FunctionDef) and _is_slow(node)):
                continue
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and ast.unparse(call.func).endswith("use_store")
                        and [ast.unparse(a) for a in call.args] != ["paper_store"]):
                    offenders.append(f"{path.name}::{node.name}: {ast.unparse(call)}")
    assert not offenders, offenders
