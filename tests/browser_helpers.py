"""A JupyterLab server on 127.0.0.1 and a Debian Chromium driven by Playwright, for tests/test_browser.py.

Nothing is downloaded: Playwright's Python package drives the system browser through
`executable_path`, and the server runs from this venv with every Jupyter folder in a temporary
directory, so the test neither reads nor writes the user's own Jupyter settings.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

# Flags as the machine's notes give them for a closed network: without the background-networking
# ones Chromium keeps trying to reach Google's hosts, and each refusal is logged.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def why_no_browser() -> str | None:
    """None when the browser test can run here, else the reason it cannot."""
    from albert_nb import notebook

    if notebook.find_browser() is None:
        return ("no Chromium on this machine (scripts/install_browser.sh installs Debian's chromium "
                "when set-up runs as root)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (the test extra installs it)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(root: Path, timeout: float = 120.0):
    """Start `jupyter lab` serving `root`; yields (base URL, token).

    Config, runtime, workspace and settings folders are temporary; the data path is left alone,
    so the server still finds this venv's kernel and lab extensions."""
    port, token = _free_port(), secrets.token_hex(16)
    jupyter_dirs = root.parent / f"{root.name}_jupyter"
    for sub in ("config", "runtime", "workspaces", "settings"):
        (jupyter_dirs / sub).mkdir(parents=True, exist_ok=True)
    server_env = dict(os.environ,
                      JUPYTER_CONFIG_DIR=str(jupyter_dirs / "config"),
                      JUPYTER_RUNTIME_DIR=str(jupyter_dirs / "runtime"),
                      JUPYTERLAB_WORKSPACES_DIR=str(jupyter_dirs / "workspaces"),
                      JUPYTERLAB_SETTINGS_DIR=str(jupyter_dirs / "settings"))
    # No "would you like news?" toast: it would cover the notebook and ask the network.
    settings = jupyter_dirs / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--LabApp.expose_app_in_browser=True", "--LabApp.extension_manager=readonly"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")   # CI containers run as root
    log = open(jupyter_dirs / "server.log", "wb")
    server = subprocess.Popen(command, env=server_env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("jupyter lab did not start: "
                                       + (jupyter_dirs / "server.log").read_text(errors="replace")[-2000:])
                time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _console(message, errors: list) -> None:
    """Keep console errors, except a resource from another host failing to load: this machine's
    network is closed, so the Colab badge (an image on colab.research.google.com) cannot load."""
    if message.type != "error":
        return
    url = (message.location or {}).get("url", "")
    if message.text.startswith("Failed to load resource") and not url.startswith("http://127.0.0.1"):
        print(f"offline, not counted: {message.text} ({url})")
        return
    errors.append(f"console.error: {message.text} ({url})")


@contextlib.contextmanager
def chromium_page(errors: list):
    """A headless Chromium page; console errors and uncaught page errors are appended to `errors`."""
    from playwright.sync_api import sync_playwright

    from albert_nb import notebook

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=notebook.find_browser(), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: _console(m, errors))
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            yield page
        finally:
            browser.close()


def lab_command(page, command: str, args: dict | None = None):
    """Run a JupyterLab command (the app is exposed as window.jupyterapp)."""
    return page.evaluate("([c, a]) => window.jupyterapp.commands.execute(c, a)", [command, args or {}])


def open_notebook(page, base: str, token: str, name: str, timeout_ms: int = 120_000) -> None:
    page.goto(f"{base}/lab/tree/{name}?token={token}&reset", timeout=timeout_ms)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=timeout_ms)
    page.locator(".jp-Notebook").first.wait_for(timeout=timeout_ms)
    # The kernel is idle once started; run commands only then.
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.sessionContext && w.sessionContext.session"
        " && w.sessionContext.session.kernel && w.sessionContext.session.kernel.status === 'idle'; }",
        timeout=timeout_ms)


def wait_until_executed(page, timeout_ms: int) -> None:
    """Wait for the kernel to go idle with no cell still queued ([*])."""
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget; const k = w.sessionContext.session.kernel;"
        " const cells = [...document.querySelectorAll('.jp-InputArea-prompt')];"
        " return k.status === 'idle' && !cells.some(c => c.textContent.includes('*')); }",
        timeout=timeout_ms, polling=1000)


def save_and_read(page, path: Path) -> dict:
    """Save the open notebook from the browser and read it back (outputs as the page holds them)."""
    before = path.stat().st_mtime_ns
    lab_command(page, "docmanager:save")
    deadline = time.monotonic() + 30
    while path.stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.2)
    return json.loads(path.read_text(encoding="utf-8"))


def error_outputs(nb: dict) -> list[str]:
    """'ename: evalue' of every error output in a notebook."""
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]
