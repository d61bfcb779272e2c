"""A built wheel, installed into a fresh venv outside the checkout, serves the page and its
files: templates/ and static/ travel inside the package, not beside the working tree."""

from __future__ import annotations

import os
import re
import site
import subprocess
import sys
import venv

import httpx
import pytest

from tests.support.localserver import ROOT, LocalServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A venv whose convlens is the wheel (its dependencies: this venv's, read-only)."""
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(dist), str(ROOT)], check=True, cwd=tmp)
    wheel = next(dist.glob("convlens-*.whl"))
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        text=True).strip()
    # The dependencies come from this venv's site-packages, added as a plain path: its .pth
    # files (the editable install of the checkout among them) are not processed there.
    with open(os.path.join(purelib, "deps.pth"), "w") as f:
        f.write("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", str(wheel)], check=True, cwd=tmp)
    return python, tmp


def test_the_installed_wheel_serves_the_page_and_its_scripts(installed):
    python, tmp = installed
    where = subprocess.check_output([str(python), "-c", "import app; print(app.__file__)"],
                                    text=True, cwd=tmp).strip()
    assert not where.startswith(str(ROOT)), where  # the wheel's copy, not the checkout
    server = LocalServer(["uvicorn", "app.main:app", "--host", "127.0.0.1", "--port",
                          "{port}"], python=str(python), cwd=tmp)
    with server, httpx.Client(base_url=server.url, timeout=10) as client:
        page = client.get("/")
        assert page.status_code == 200
        scripts = re.findall(r'src="(/static/[^"]+\.js)[^"]*"', page.text)
        assert scripts, page.text[:500]
        for path in scripts:
            r = client.get(path)
            assert r.status_code == 200 and "import" in r.text, path
        assert client.get("/static/css/convlens.css").status_code == 200
