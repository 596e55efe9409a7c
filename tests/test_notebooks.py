"""The notebooks in examples/notebooks run top to bottom (their asserts check each result
against its closed form) and are stored without outputs."""
import importlib.util
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[test]')")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[test]')")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "examples" / "notebooks").glob("*.ipynb"))
SECONDS_EACH = 60  # a notebook should take a few seconds; this only stops a runaway one


def kernel_or_skip() -> str:
    """The name of an installed Python kernel, or a skip saying none is."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager
        names = KernelSpecManager().find_kernel_specs()
    except ImportError as exc:
        pytest.skip(f"jupyter_client is not installed: {exc}")
    if "python3" not in names:
        pytest.skip("no python3 Jupyter kernel is installed (pip install ipykernel)")
    return "python3"


def test_there_are_notebooks():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom(path, tmp_path):
    book = nbformat.read(path, as_version=4)
    if "matplotlib" in path.read_text() and importlib.util.find_spec("matplotlib") is None:
        pytest.skip(f"{path.name} plots: matplotlib is not installed (pip install -e '.[plot]')")
    client = nbclient.NotebookClient(book, timeout=SECONDS_EACH, kernel_name=kernel_or_skip(),
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, when an assert fails
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert time.perf_counter() - start < SECONDS_EACH
