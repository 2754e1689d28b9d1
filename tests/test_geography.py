"""Municipal centroids in ETRS-TM35FIN for placebo units built from neighbouring municipalities."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.errors import InputError
from analysis.municipalities import centroids, etrs_tm35fin

#: EPSG:4326 -> EPSG:3067 with pyproj 3.7.2 / PROJ 9.5.1 (Transformer.from_crs(4326, 3067,
#: always_xy=True)), computed once for this test; pyproj is not a dependency of the project
PYPROJ_REFERENCE = [
    ((24.9384, 60.1699), (385611.3166849422, 6672118.380202087)),
    ((27.0, 60.0), (500000.0, 6651411.190239697)),
    ((20.5, 69.0), (240452.27955085374, 7668125.22458684)),
    ((31.5, 62.5), (731689.3043632543, 6937958.996671506)),
    ((21.0, 60.0), (165640.3321035856, 6666593.572024059)),
    ((29.0, 70.0), (576330.6574114808, 7767125.170835211)),
]


@pytest.mark.parametrize("lonlat, expected", PYPROJ_REFERENCE)
def test_projection_matches_proj(lonlat, expected):
    x, y = etrs_tm35fin(*lonlat)
    assert abs(float(x) - expected[0]) < 1e-3 and abs(float(y) - expected[1]) < 1e-3   # millimetre


def test_centroids():
    c = centroids().set_index("kunta")
    assert len(c) == 309 and c[["x", "y"]].notna().all().all()
    # Finland's extent in TM35FIN: x 50..750 km, y 6600..7800 km
    assert c["x"].between(50, 750).all() and c["y"].between(6600, 7800).all()
    # Helsinki and Vantaa are neighbours (about 20 km apart); Utsjoki is the northernmost
    d = np.hypot(*(c.loc["091", ["x", "y"]] - c.loc["092", ["x", "y"]]))
    assert 10 < d < 35
    assert c["y"].idxmax() == "890"
    with pytest.raises(InputError, match="2023"):
        centroids(2020)
