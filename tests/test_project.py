"""Project hygiene: pins agree, stored notebooks are fully executed, nbval markers explained.

nbval silently *skips comparing* a cell whose ``execution_count`` is null, so a notebook saved
without outputs would pass strict mode while checking nothing. These tests close that hole.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
MARKER_TAGS = {"nbval-ignore-output", "nbval-skip", "nbval-raises-exception", "raises-exception"}
MARKER_COMMENT = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+\s*$", re.MULTILINE)
KERNEL_NAME = "mapping-course"


def read_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip().lstrip("- ").strip()
        if "==" in line and not line.startswith("-"):
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_environment_yml_pins_equal_the_constraints_file():
    constraints = read_pins(ROOT / "constraints.txt")
    conda = read_pins(ROOT / "environment.yml")
    assert conda, "environment.yml lists no pip pins"
    disagree = {name: (version, constraints.get(name)) for name, version in conda.items()
                if constraints.get(name) != version}
    assert not disagree, f"environment.yml vs constraints.txt (yml, txt): {disagree}"
    assert "-c constraints.txt" in (ROOT / "environment.yml").read_text()


def test_every_direct_dependency_is_pinned_everywhere():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    names = {re.split(r"[<>=!~ \[;]", r, maxsplit=1)[0].lower() for r in requirements}
    constraints = read_pins(ROOT / "constraints.txt")
    conda = read_pins(ROOT / "environment.yml")
    assert names - set(constraints) == set(), "direct dependencies missing in constraints.txt"
    assert names - set(conda) == set(), "direct dependencies missing in environment.yml"
    assert constraints["torch"] == "2.13.0"
    assert constraints["nbval"] == "0.11.0"


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_fully_executed_in_order(path):
    nb = nbformat.read(path, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code_cells]
    unexecuted = [i for i, n in enumerate(counts) if n is None]
    assert not unexecuted, f"{path.name}: code cells {unexecuted} were never executed " \
                           f"(nbval would silently skip them); run `make execute`"
    assert counts == list(range(1, len(counts) + 1)), \
        f"{path.name}: execution counts {counts} are not 1, 2, 3, ...: run top to bottom"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_errors_widget_state_or_foreign_kernel(path):
    nb = nbformat.read(path, as_version=4)
    errors = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: cells {errors} stored an error"
    assert "widgets" not in nb.metadata, f"{path.name}: widget state stored; run `make execute`"
    assert nb.metadata.kernelspec.name == KERNEL_NAME
    streams = [o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if o.output_type == "stream" and o.name == "stderr"]
    assert not streams, f"{path.name}: warnings on stderr: {streams}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_nbval_marker_carries_a_reason(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert not MARKER_COMMENT.search(cell.source), \
            f"{path.name} cell {index}: use a tag, not an NBVAL_ comment, plus a reason line"
        tags = set(cell.metadata.get("tags", []))
        for tag in MARKER_TAGS & tags:
            reason = re.search(rf"^# {tag}: (\S.{{9,}})$", cell.source, re.MULTILINE)
            assert reason, f"{path.name} cell {index}: tag {tag!r} needs a line " \
                           f"'# {tag}: <why this output cannot be compared>'"
        for tag in MARKER_TAGS - tags:
            assert not re.search(rf"^# {tag}:", cell.source, re.MULTILINE), \
                f"{path.name} cell {index}: the line '# {tag}: ...' does nothing without " \
                f"the cell tag {tag!r} (nbval reads tags, not this comment)"


def test_sanitize_file_is_well_formed():
    text = (ROOT / "tests" / "nbval_sanitize.cfg").read_text()
    assert "\r" not in text, "CRLF line endings corrupt nbval's sanitize patterns"
    regexes = re.findall(r"^regex: (.*)$", text, re.MULTILINE)
    pairs = re.findall(r"^regex: (.*)$\n^replace: (.*)$", text, re.MULTILINE)
    assert regexes and len(pairs) == len(regexes), "every regex: needs a replace: right after"
    for pattern, _ in pairs:
        re.compile(pattern)
