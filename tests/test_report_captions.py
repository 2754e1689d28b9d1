"""Figure captions name what each figure shows: no two figures of a run share a caption."""
from analysis.report.chapters import KNOWN_FIGURES, figure_caption


def test_every_known_figure_has_its_own_caption():
    res = {"outcome_label": "Social assistance", "unit_label": "EUR per inhabitant"}
    captions = [figure_caption(name, res) for name in KNOWN_FIGURES]
    assert len(set(captions)) == len(captions)
    assert "logarithm" in figure_caption("specification_curve_log", res)


def test_honest_did_text_follows_the_breakdown_value():
    from analysis.report.chapters import honest_did_text

    assert "excludes zero only" in honest_did_text({"breakdown_mbar": 0.0}, {})
    assert "includes zero already" in honest_did_text({"breakdown_mbar": None}, {})
    assert "until post-period" in honest_did_text({"breakdown_mbar": 1.0}, {})
