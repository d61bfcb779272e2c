"""examples/from_a_notebook.ipynb runs top to bottom in a real Jupyter kernel, against a
real server, and is committed clean (no outputs)."""

from __future__ import annotations

import json
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from tests.support.localserver import ROOT, LocalServer

NOTEBOOK = ROOT / "examples" / "from_a_notebook.ipynb"
KERNEL = "convlens-test"


def test_the_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)


@pytest.fixture
def kernel_of_this_python(tmp_path, monkeypatch) -> str:
    """A kernel spec that runs ipykernel on the test's own Python (no install, no network)."""
    spec = tmp_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "convlens tests", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    return KERNEL


@pytest.mark.slow
def test_the_notebook_runs_against_a_server(kernel_of_this_python, monkeypatch):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with LocalServer() as server:
        monkeypatch.setenv("CONVLENS_URL", server.url)  # the kernel inherits it
        NotebookClient(notebook, kernel_name=kernel_of_this_python, timeout=120,
                       resources={"metadata": {"path": str(ROOT)}}).execute()
    printed = "".join(output.get("text", "") for cell in notebook.cells
                      if cell.cell_type == "code" for output in cell.outputs)
    assert "the server and the engine agree exactly" in printed
    assert "every cell of the hand-written pass agrees with convlens" in printed
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "error"]
    assert errors == []
