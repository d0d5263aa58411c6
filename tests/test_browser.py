"""Real-client test: the value-iteration slider panel of chapter 00 reacts in a real browser.

nbval checks that the stored outputs of a notebook can be reproduced, but it never renders
anything: it cannot tell whether an ipywidgets panel shows up in JupyterLab, or whether moving
a slider makes the kernel recompute and redraw.  This test does what a student does:

1. start JupyterLab (no token, isolated settings/workspaces/runtime dirs, news fetching and
   autosave off) on a temporary *copy* of ``chapters/``, so the stored notebook is never touched;
2. open chapter 00 in headless Debian Chromium through Playwright (never a downloaded browser);
3. run all cells and wait for the kernel to finish;
4. move the first slider of the value-iteration panel with the keyboard and check that the
   slider value, the text readout and the plot image all change;
5. save screenshots (``tmp_path``, plus ``$BROWSER_TEST_SCREENSHOT_DIR`` if set).

Without ``/usr/bin/chromium`` or the ``playwright`` package the test is skipped, unless
``REQUIRE_BROWSER_TEST=1`` (set in CI), in which case it fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

# --- What is tested ---------------------------------------------------------------------------
REPO_ROOT = Path(__file__).resolve().parents[1]
CHAPTERS_DIR = REPO_ROOT / "chapters"
NOTEBOOK = "00_everything_is_a_mapping.ipynb"  # relative to CHAPTERS_DIR

# Contract between mini_lib's panels and this test (CSS classes set with ``add_class``).
PANEL_SELECTOR = ".mini-lib-panel.mini-lib-panel-value-iteration"
READOUT_SELECTOR = ".mini-lib-readout"  # HTML widget summarising the current result
PLOT_IMG_SELECTOR = ".mini-lib-plot img"  # Output widget holding the matplotlib figure
# ipywidgets 8 renders sliders with noUiSlider: the slider widget is a ``.widget-slider`` box
# holding a focusable ``.noUi-handle`` and a ``.widget-readout`` showing the value.
SLIDER_SELECTOR = ".widget-slider"
SLIDER_HANDLE_SELECTOR = ".noUi-handle"
SLIDER_VALUE_SELECTOR = ".widget-readout"

# --- Browser and server -----------------------------------------------------------------------
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-sync",
    "--disable-quic",
]
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}
STATUSBAR_IDLE_SELECTOR = "#jp-main-statusbar >> text=/Idle/"

# --- Time limits (seconds) --------------------------------------------------------------------
TEST_BUDGET_S = 180.0  # everything from server start to the last assertion
SERVER_START_S = 60.0
LAB_LOAD_S = 60.0  # page load until the kernel is idle
RUN_ALL_S = 120.0  # the notebook takes ~15-30 s
WIDGET_UPDATE_S = 30.0  # slider change -> kernel recomputes -> readout and plot redrawn
KEY_PRESS_SETTLE_S = 3.0  # how long one arrow key press may take to move the slider
TEARDOWN_S = 15.0


class Deadline:
    """Overall time budget; each wait gets ``min(its own cap, what is left)``."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def seconds(self, cap: float) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            pytest.fail(f"browser test exceeded its overall budget of {TEST_BUDGET_S:.0f} s")
        return min(cap, left)

    def ms(self, cap: float) -> float:
        return self.seconds(cap) * 1000


# --- Prerequisites ----------------------------------------------------------------------------
def _missing_prerequisites() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"Chromium must be installed at {CHROMIUM}: apt-get install -y chromium")
    if importlib.util.find_spec("playwright") is None:
        missing.append(
            "the Python package 'playwright' is not importable (it is in the [dev] extra)"
        )
    return missing


def _require_browser() -> None:
    missing = _missing_prerequisites()
    if not missing:
        return
    reason = "; ".join(missing)
    if os.environ.get("REQUIRE_BROWSER_TEST") == "1":
        pytest.fail(
            f"REQUIRE_BROWSER_TEST=1 but the browser test cannot run: {reason}",
            pytrace=False,
        )
    pytest.skip(f"browser test needs Chromium and playwright: {reason}")


# --- JupyterLab server ------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_lab_settings(settings_dir: Path) -> None:
    for relative, content in LAB_SETTINGS.items():
        path = settings_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content), encoding="utf-8")


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "<no log>"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _wait_for_server(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(
                f"JupyterLab exited with code {proc.returncode} before answering.\n"
                f"Last lines of {log}:\n{_tail(log)}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(
        f"JupyterLab did not answer {url}/api/status within {timeout_s:.0f} s.\n"
        f"Last lines of {log}:\n{_tail(log)}",
        pytrace=False,
    )


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()  # SIGTERM: jupyter_server shuts its kernels down on the way out
    try:
        proc.wait(timeout=TEARDOWN_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=TEARDOWN_S)


@pytest.fixture
def deadline() -> Deadline:
    return Deadline(TEST_BUDGET_S)


@pytest.fixture
def lab_url(tmp_path: Path, deadline: Deadline) -> Iterator[str]:
    """Base URL of a fresh JupyterLab serving a temporary copy of ``chapters/``."""
    _require_browser()
    if not (CHAPTERS_DIR / NOTEBOOK).exists():
        pytest.fail(f"notebook under test not found: {CHAPTERS_DIR / NOTEBOOK}", pytrace=False)

    root = tmp_path / "chapters"
    shutil.copytree(CHAPTERS_DIR, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings_dir = tmp_path / "lab-settings"
    _write_lab_settings(settings_dir)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        # Keep the user's ~/.jupyter and ~/.local/share/jupyter out of the test.
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
    }
    command = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings_dir}",
        f"--LabApp.workspaces_dir={tmp_path / 'lab-workspaces'}",
        "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    log = tmp_path / "jupyterlab.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            command, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_server(url, proc, log, deadline.seconds(SERVER_START_S))
        yield url
    finally:
        _stop_process(proc)


# --- Browser ----------------------------------------------------------------------------------
@pytest.fixture
def page(lab_url: str) -> Iterator[Page]:
    """A Chromium page; on teardown the kernels are shut down before the server stops."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.on("pageerror", lambda error: print(f"[page error] {error}"))
            yield page
            # A REST DELETE of the sessions would get 403 (XSRF); the app itself may do it.
            try:
                page.evaluate(
                    """ms => window.jupyterapp && Promise.race([
                        window.jupyterapp.serviceManager.sessions.shutdownAll(),
                        new Promise(resolve => setTimeout(resolve, ms)),
                    ])""",
                    TEARDOWN_S * 1000,
                )
            except PlaywrightError as error:
                print(f"[teardown] could not shut kernels down from the page: {error}")
        finally:
            browser.close()


@contextmanager
def _step(description: str) -> Iterator[None]:
    """Turn a Playwright timeout into a test failure that says what we were waiting for."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        yield
    except PlaywrightTimeoutError as error:
        first_line = str(error).splitlines()[0]
        # `from None`: the report need not repeat the Playwright traceback.
        message = f"timed out {description} ({first_line})"
        raise pytest.fail.Exception(message, pytrace=False) from None


def _short(value: str | None, limit: int = 80) -> str:
    """Readable form of possibly huge strings such as ``data:image/png;base64,...`` URIs."""
    if value is None:
        return "None"
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} chars)"


def _query(scope: Locator, selector: str, attribute: str | None = None) -> str | None:
    """Text (or attribute) of the first match of ``selector`` in ``scope`` without waiting.

    Returns None while the element is absent, e.g. while an Output widget is being redrawn.
    """
    return scope.evaluate(
        """(el, [selector, attribute]) => {
            const found = el.querySelector(selector);
            if (!found) return null;
            return attribute ? found.getAttribute(attribute) : found.textContent.trim();
        }""",
        [selector, attribute],
    )


def _wait_for_change(
    page: Page, read: Callable[[], str | None], before: str | None, timeout_s: float
) -> str | None:
    """Poll ``read()`` until it returns a value that is not None and differs from ``before``."""
    end = time.monotonic() + timeout_s
    current = read()
    while time.monotonic() < end:
        if current is not None and current != before:
            return current
        page.wait_for_timeout(200)
        current = read()
    return current


def _open_notebook_and_wait_for_kernel(page: Page, lab_url: str, deadline: Deadline) -> None:
    with _step("loading JupyterLab"):
        page.goto(f"{lab_url}/lab/tree/{NOTEBOOK}", timeout=deadline.ms(LAB_LOAD_S))
        page.wait_for_function(
            "() => window.jupyterapp !== undefined", timeout=deadline.ms(LAB_LOAD_S)
        )
    # The user's Jupyter data dir is hidden from the server (see lab_url), so the notebook's
    # kernel must be registered inside this Python's prefix, as `make setup` does.
    with _step(
        f"for {NOTEBOOK} to open with an idle kernel (is its kernelspec installed with "
        f"`ipykernel install --sys-prefix` for {sys.executable}?)"
    ):
        page.wait_for_function(
            "() => window.jupyterapp.commands.isEnabled('notebook:run-all-cells')",
            timeout=deadline.ms(LAB_LOAD_S),
        )
        page.locator(STATUSBAR_IDLE_SELECTOR).wait_for(timeout=deadline.ms(LAB_LOAD_S))


def _run_all_cells(page: Page, deadline: Deadline) -> None:
    # Fire and forget: page.evaluate itself has no timeout, so poll for the promise instead.
    page.evaluate(
        """() => {
            window.__runAll = {done: false, ok: null, error: null};
            window.jupyterapp.commands.execute('notebook:run-all-cells').then(
                ok => { window.__runAll = {done: true, ok, error: null}; },
                error => { window.__runAll = {done: true, ok: false, error: String(error)}; },
            );
        }"""
    )
    with _step(f"running all cells of {NOTEBOOK}"):
        page.wait_for_function("() => window.__runAll.done", timeout=deadline.ms(RUN_ALL_S))
    result = page.evaluate("() => window.__runAll")
    if not result["ok"]:
        errors = page.evaluate(
            """() => {
                const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
                const errors = [];
                for (let i = 0; i < cells.length; i++) {
                    const cell = cells.get(i);
                    if (cell.type !== 'code') continue;
                    for (const output of cell.outputs.toJSON()) {
                        if (output.output_type === 'error') {
                            errors.push(`cell ${i}: ${output.ename}: ${output.evalue}`);
                        }
                    }
                }
                return errors;
            }"""
        )
        pytest.fail(
            f"'Run all cells' did not succeed in {NOTEBOOK} "
            f"(command error: {result['error']}; cell errors: {errors or 'none'})",
            pytrace=False,
        )
    with _step("for the kernel to become idle after running all cells"):
        page.wait_for_function(
            """() => window.jupyterapp.shell.currentWidget
                       .sessionContext.session?.kernel?.status === 'idle'""",
            timeout=deadline.ms(RUN_ALL_S),
        )


def _save_screenshot(target: Page | Locator, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    target.screenshot(path=path)
    extra_dir = os.environ.get("BROWSER_TEST_SCREENSHOT_DIR")
    if extra_dir:
        Path(extra_dir).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(extra_dir) / name)
    return path


def _move_slider(page: Page, slider: Locator, deadline: Deadline) -> tuple[str | None, str | None]:
    """Press arrow keys on the slider handle until its value readout changes.

    Tries ArrowRight first; if the slider sits at its maximum, ArrowLeft moves it instead.
    Returns the readout (before, after).
    """
    handle = slider.locator(SLIDER_HANDLE_SELECTOR).first
    before = _query(slider, SLIDER_VALUE_SELECTOR)
    after = before
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowLeft", "ArrowLeft"):
        with _step(f"focusing the slider handle {SLIDER_HANDLE_SELECTOR!r}"):
            handle.focus(timeout=deadline.ms(WIDGET_UPDATE_S))
        handle.press(key)
        after = _wait_for_change(
            page,
            lambda: _query(slider, SLIDER_VALUE_SELECTOR),
            before,
            deadline.seconds(KEY_PRESS_SETTLE_S),
        )
        if after != before:
            break
    return before, after


@pytest.mark.browser
def test_value_iteration_panel_reacts_to_slider(
    page: Page, lab_url: str, tmp_path: Path, deadline: Deadline
) -> None:
    try:
        _open_notebook_and_wait_for_kernel(page, lab_url, deadline)
        _run_all_cells(page, deadline)

        panel = page.locator(PANEL_SELECTOR).first
        with _step(f"for the value-iteration panel {PANEL_SELECTOR!r} to render"):
            panel.scroll_into_view_if_needed(timeout=deadline.ms(WIDGET_UPDATE_S))
            panel.locator(SLIDER_HANDLE_SELECTOR).first.wait_for(
                timeout=deadline.ms(WIDGET_UPDATE_S)
            )
            panel.locator(READOUT_SELECTOR).first.wait_for(timeout=deadline.ms(WIDGET_UPDATE_S))
            panel.locator(PLOT_IMG_SELECTOR).first.wait_for(timeout=deadline.ms(WIDGET_UPDATE_S))

        readout_before = _query(panel, READOUT_SELECTOR)
        img_before = _query(panel, PLOT_IMG_SELECTOR, "src")
        assert readout_before, f"{READOUT_SELECTOR!r} in the panel is empty"
        assert img_before, f"{PLOT_IMG_SELECTOR!r} in the panel has no src"
        _save_screenshot(panel, tmp_path, "value_iteration_before.png")

        slider = panel.locator(SLIDER_SELECTOR).first
        value_before, value_after = _move_slider(page, slider, deadline)
        assert value_after != value_before, (
            f"arrow keys on the first slider of {PANEL_SELECTOR!r} did not change its "
            f"{SLIDER_VALUE_SELECTOR!r} (stayed {value_before!r})"
        )

        readout_after = _wait_for_change(
            page,
            lambda: _query(panel, READOUT_SELECTOR),
            readout_before,
            deadline.seconds(WIDGET_UPDATE_S),
        )
        img_after = _wait_for_change(
            page,
            lambda: _query(panel, PLOT_IMG_SELECTOR, "src"),
            img_before,
            deadline.seconds(WIDGET_UPDATE_S),
        )
        _save_screenshot(panel, tmp_path, "value_iteration_after.png")
        _save_screenshot(page, tmp_path, "lab_after.png")

        assert readout_after != readout_before, (
            f"slider moved {value_before!r} -> {value_after!r} but {READOUT_SELECTOR!r} "
            f"stayed {readout_before!r}"
        )
        assert img_after is not None, f"{PLOT_IMG_SELECTOR!r} disappeared after the slider moved"
        plot_changed = img_after != img_before  # compared outside `assert`: huge data: URIs
        assert plot_changed, (
            f"slider moved {value_before!r} -> {value_after!r} but the plot image src did not "
            f"change (still {_short(img_before)})"
        )
    except BaseException:
        try:
            print(f"[failure screenshot] {_save_screenshot(page, tmp_path, 'failure.png')}")
        except Exception as error:  # the page may be gone; keep the original failure
            print(f"[failure screenshot] {error}")
        raise
