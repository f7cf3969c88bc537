"""The modules setup.py compiles with mypyc type-check (mypyc compiles only code that does, and
checks the annotations at run time), and a build that compiled them runs them compiled: CI sets
MEDBUNDLE_EXPECT_COMPILED=1 and runs the tests against the installed package (`python -P`)."""
from __future__ import annotations

import ast
import importlib
import os

import pytest

from conftest import ROOT


def _setup_list(name: str) -> list[str]:
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"setup.py has no {name}")


COMPILED = _setup_list("COMPILED")


def test_compiled_modules_type_check(tmp_path):
    api = pytest.importorskip("mypy.api")
    out, err, status = api.run(_setup_list("MYPY_OPTIONS") + ["--cache-dir", str(tmp_path)]
                               + [str(ROOT / path) for path in COMPILED])
    assert status == 0, out + err


@pytest.mark.skipif(os.environ.get("MEDBUNDLE_EXPECT_COMPILED") != "1",
                    reason="only where the build is expected to have compiled them")
def test_installed_modules_are_compiled():
    for path in COMPILED:
        module = importlib.import_module(path[:-3].replace("/", "."))
        assert not module.__file__.endswith(".py"), module.__file__
