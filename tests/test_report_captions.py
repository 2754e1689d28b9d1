"""Figure captions name what each figure shows: no two figures of a run share a caption."""
from analysis.report.chapters import KNOWN_FIGURES, figure_caption


def test_every_known_figure_has_its_own_caption():
    res = {"outcome_label": "Social assistance", "unit_label": "EUR per inhabitant"}
    captions = [figure_caption(name, res) for name in KNOWN_FIGURES]
    assert len(set(captions)) == len(captions)
    assert "logarithm" in figure_caption("specification_curve_log", res)
