"""The numbers sheet 5's model answer to Part G quotes, against the sheet's output.

The executed solution (solutions/05_loss_functions.ipynb) prints the experiment
table (self-check of Part F) and the ECE a calibrated-by-construction model shows
on the same test images. The model answer must quote those numbers, and its
claim that the three ECEs after temperature scaling cannot be ranked must hold:
each is within 0.006 of its floor and they differ by at most two spreads.
"""

import re
from pathlib import Path

import nbformat
import pytest

SHEET = Path(__file__).resolve().parent.parent / "solutions" / "05_loss_functions.ipynb"
PM = r"(\d+\.\d+) ± (\d+\.\d+)"


@pytest.fixture(scope="module")
def sheet():
    return nbformat.read(SHEET, as_version=4)


def output(nb, cell_id):
    (cell,) = [c for c in nb.cells if c.id == cell_id]
    return "".join(o.get("text", "") for o in cell.outputs)


def answer(nb):
    grade_id = "calibration_explained"
    (cell,) = [c for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return " ".join(cell.source.split())


def test_floor_is_quoted_and_the_ece_claim_holds(sheet):
    rows = re.findall(r"eps = (0\.\d): measured " + PM + ", if calibrated " + PM,
                      output(sheet, "cell-ece-floor"))
    assert [r[0] for r in rows] == ["0.0", "0.1", "0.2"]
    measured = [(float(r[1]), float(r[2])) for r in rows]
    floor = [(float(r[3]), float(r[4])) for r in rows]
    text = answer(sheet)
    quoted = ", ".join(f"{m:.3f} ± {s:.3f}" for m, s in floor[:2])
    assert f"shows {quoted} and {floor[2][0]:.3f} ± {floor[2][1]:.3f}" in text
    assert (f"{measured[0][0]:.3f} ± {measured[0][1]:.3f} ($\\varepsilon = 0$), "
            f"{measured[1][0]:.3f} ± {measured[1][1]:.3f} and "
            f"{measured[2][0]:.3f} ± {measured[2][1]:.3f}") in text
    gaps = [m[0] - f[0] for m, f in zip(measured, floor, strict=True)]
    assert max(gaps) <= 0.006 + 1e-9 and "within about 0.006" in text
    spread = max(s for _, s in measured)
    values = [m for m, _ in measured]
    assert max(values) - min(values) <= 2 * spread + 1e-9  # "one to two spreads"


def test_table_numbers_in_the_answer(sheet):
    table = output(sheet, "cell-25")
    rows = re.findall(r"(?m)^ (0\.\d) \| (.*)$", table)
    cells = {eps: re.findall(r"(\d+\.\d+)±(\d+\.\d+)", rest) for eps, rest in rows}
    accuracy = [float(cells[e][0][0]) for e in ("0.0", "0.1", "0.2")]
    t_0 = cells["0.0"][3][0]
    text = answer(sheet)
    assert f"accuracy falls ({accuracy[0]:.3f} to {accuracy[2]:.3f})" in text
    assert f"($T = {float(t_0):.2f}$)" in text
    assert accuracy[0] > accuracy[1] > accuracy[2]
    assert float(t_0) < 1  # "already slightly underconfident"
