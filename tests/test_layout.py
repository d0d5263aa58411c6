"""The library's layout rules (issue 11): light imports, no private imports, small files."""

import ast
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
import torch
from torch import nn

from mini_lib.nets import mlp

LIBRARY = Path(__file__).resolve().parents[1] / "mini_lib"
MODULES = sorted(LIBRARY.rglob("*.py"))
#: Files allowed past the ~300-line guideline, and why.
LONG_FILES = {
    "exercises/ch02_dqn.py": "two checkers with a long list of typical-mistake hints",
    "exercises/ch03_policy_gradient.py": "two checkers with a long list of typical-mistake hints",
}


def test_importing_mini_lib_loads_no_notebook_ui():
    """Worker processes (process pools, A3C, Ray) import mini_lib: it must stay light."""
    code = ("import sys, mini_lib; "
            "ui = sorted({m.split('.')[0] for m in sys.modules} & "
            "{'ipywidgets', 'IPython', 'matplotlib'}); print(','.join(ui))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.strip() == "", f"import mini_lib imported {done.stdout.strip()}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIBRARY)))
def test_no_module_imports_another_modules_private_name(path):
    tree = ast.parse(path.read_text())
    private = [f"{node.module}.{alias.name}" for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mini_lib")
               for alias in node.names if alias.name.startswith("_")]
    assert not private, f"imports private names {private}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIBRARY)))
def test_files_stay_small_and_use_no_backslash_continuations(path):
    relative = str(path.relative_to(LIBRARY))
    n_lines = len(path.read_text().splitlines())
    assert n_lines <= 300 or relative in LONG_FILES, f"{relative} has {n_lines} lines"
    with path.open("rb") as handle:
        tokens = list(tokenize.tokenize(handle.readline))
    lines_with_code = {token.start[0] for token in tokens
                       if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)}
    continued = [number for number, line in enumerate(path.read_text().splitlines(), 1)
                 if line.endswith("\\") and number in lines_with_code
                 and not _inside_string(tokens, number)]
    assert not continued, f"backslash continuations at lines {continued}"


def _inside_string(tokens, line_number: int) -> bool:
    return any(token.type == tokenize.STRING and token.start[0] <= line_number < token.end[0]
               for token in tokens)


def test_mlp_builds_layers_in_order_with_the_usual_initialisation():
    """Same seed, same weights as building the layers by hand: stored runs stay reproducible."""
    torch.manual_seed(3)
    net = mlp((4, 8, 6, 2), nn.ReLU)
    torch.manual_seed(3)
    by_hand = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 6), nn.ReLU(),
                            nn.Linear(6, 2))
    assert [type(m) for m in net] == [type(m) for m in by_hand]
    for (name, p), (name_by_hand, q) in zip(net.named_parameters(), by_hand.named_parameters(),
                                            strict=True):
        assert name == name_by_hand and torch.equal(p, q)
    assert [name for name, _ in net.named_parameters()][:2] == ["0.weight", "0.bias"]


@pytest.mark.parametrize("sizes", [(4,), (4, 0, 2), (4, 2.5)])
def test_mlp_refuses_bad_sizes(sizes):
    with pytest.raises(ValueError, match="sizes"):
        mlp(sizes)
