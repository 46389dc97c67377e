"""`make run`'s server: embedded PostgreSQL, demo data once, clean stop on Ctrl-C, quick restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_running(pgdata: Path) -> bool:
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(pgdata) in (process.info["cmdline"] or []):
            return True
    return False


def _serve_until_ready(instance: Path, port: int) -> tuple[subprocess.Popen[str], list[str]]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SHOPCREDIT_") and key not in ("DATABASE_URL", "SECRET_KEY")
    }
    env.update(SHOPCREDIT_INSTANCE_PATH=str(instance), SHOPCREDIT_PASSWORD_HASH_PROFILE="CHEAPEST")
    # Started as a script's background job starts it, with SIGINT ignored (which Python keeps):
    # Ctrl-C must stop it all the same.
    serve = [sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--port", str(port)]
    ignoring_ctrl_c = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    process = subprocess.Popen(  # noqa: S603 (our own command line)
        [sys.executable, "-c", ignoring_ctrl_c, *serve],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    # A guard against a server that never starts, not a speed check: the first start creates
    # a cluster and loads the demo, which on a machine busy with other work took over 90 s.
    deadline = time.monotonic() + 300
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if "ShopCredit is on" in line:
            return process, lines
    process.kill()
    process.communicate()  # reaped and its pipe closed: nothing left for a later test's GC
    raise AssertionError("the server did not start:\n" + "\n".join(lines))


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    try:
        process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()  # not left running when Ctrl-C did not stop it
        process.communicate()
        raise


def test_serve_then_ctrl_c_then_serve_again(instance: Path) -> None:
    port = _free_port()
    process, lines = _serve_until_ready(instance, port)
    try:
        assert "First run: loading demo data." in lines
        assert any("corner-grocer" in line and "owner-demo" in line for line in lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as response:
            assert response.status == 200
            assert "Sign in to your shop" in response.read().decode()
        assert _postgres_running(instance / "pgdata")
    finally:
        _stop(process)
    assert process.returncode == 0
    assert not _postgres_running(instance / "pgdata")  # Ctrl-C stopped the database too

    process, lines = _serve_until_ready(instance, port)
    try:
        assert "First run: loading demo data." not in lines  # the data was kept
        assert any("hardware-hub" in line for line in lines)
    finally:
        _stop(process)
    assert not _postgres_running(instance / "pgdata")
