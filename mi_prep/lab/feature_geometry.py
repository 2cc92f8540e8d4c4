"""How feature directions sit in a 2-D hidden space: gaps between neighbours, antipodal pairs and the
named arrangement (polytope) they form, as in toy models of superposition (Elhage et al. 2022).

Pure functions of angles in degrees (no torch):

    angle_gaps([0, 72, 144, 216, 288])               # [72.0, 72.0, 72.0, 72.0, 72.0]
    classify_geometry([0, 72, 144, 216, 288])        # G_PENTAGON
    antipodal_pairs({0: 10.0, 1: 190.0})             # [(0, 1)]
    describe_directions({0: 10.0, 1: 190.0})         # ("f0:10 f1:190", "180 180", "f0/f1")
"""

from __future__ import annotations

ANGLE_TOL = 15.0
"""Degrees of slack when naming a geometry (gaps between neighbouring directions)."""

GEOMETRIES = (
    "no features represented",
    "a single feature direction",
    "orthogonal pair only (one dimension per feature, no superposition)",
    "antipodal pair (two features on opposite directions of one axis)",
    "triangle (three features 120 degrees apart)",
    "two antipodal pairs (four features 90 degrees apart, a square)",
    "pentagon (five features 72 degrees apart)",
    "irregular (none of the above)",
    "antipodal pair plus one feature on its own axis (gaps 90, 90, 180)",
)
G_NONE, G_SINGLE, G_ORTHO, G_ANTIPODAL, G_TRIANGLE, G_SQUARE, G_PENTAGON, G_IRREGULAR, G_PAIR_PLUS_ONE = range(
    len(GEOMETRIES)
)
GEOMETRY_SHORT = (
    "none",
    "single",
    "orthogonal pair",
    "antipodal pair",
    "triangle",
    "square (2 antipodal pairs)",
    "pentagon",
    "irregular",
    "antipodal pair + own axis",
)


def angle_gaps(angles_deg: list[float]) -> list[float]:
    """Gaps (degrees) between neighbouring directions going round the circle; they sum to 360."""
    a = sorted(x % 360.0 for x in angles_deg)
    if len(a) < 2:
        return [360.0] * len(a)
    return [a[i + 1] - a[i] for i in range(len(a) - 1)] + [a[0] + 360.0 - a[-1]]


def classify_geometry(angles_deg: list[float], tol: float = ANGLE_TOL) -> int:
    """Name the arrangement of the represented features' 2-D directions (index into GEOMETRIES)."""
    k = len(angles_deg)
    if k == 0:
        return G_NONE
    if k == 1:
        return G_SINGLE
    gaps = angle_gaps(angles_deg)
    if k == 2:
        sep = min(gaps)  # the smaller angle between the two directions
        if abs(sep - 90.0) <= tol:
            return G_ORTHO
        if abs(sep - 180.0) <= tol:
            return G_ANTIPODAL
        return G_IRREGULAR
    if k == 3 and all(abs(a - b) <= tol for a, b in zip(sorted(gaps), (90.0, 90.0, 180.0))):
        return G_PAIR_PLUS_ONE
    regular = max(abs(g - 360.0 / k) for g in gaps) <= tol
    if regular and k in (3, 4, 5):
        return {3: G_TRIANGLE, 4: G_SQUARE, 5: G_PENTAGON}[k]
    return G_IRREGULAR


def antipodal_pairs(angles: dict[int, float], tol: float = ANGLE_TOL) -> list[tuple[int, int]]:
    """Pairs of represented features whose directions are within ``tol`` of opposite."""
    ids = sorted(angles)
    out = []
    for a_i, i in enumerate(ids):
        for j in ids[a_i + 1 :]:
            d = abs((angles[i] - angles[j] + 180.0) % 360.0 - 180.0)
            if abs(d - 180.0) <= tol:
                out.append((i, j))
    return out


def sweep_geometry(
    norms: list[list[float]], angles: list[list[float]], m: int, threshold: float
) -> tuple[list[int], int | None, list[int]]:
    """For a sweep of models (``norms[k][i]``, ``angles[k][i]``, ``m`` hidden dims): how many features each
    represents (``||W_i|| > threshold``), the first model storing more features than dimensions (or None),
    and each model's geometry (G_IRREGULAR unless ``m == 2``)."""
    counts = [sum(v > threshold for v in row) for row in norms]
    first = next((k for k, c in enumerate(counts) if c > m), None)
    geoms = []
    for k, row in enumerate(norms):
        rep = [angles[k][i] for i, v in enumerate(row) if v > threshold]
        geoms.append(classify_geometry(rep) if m == 2 else G_IRREGULAR)
    return counts, first, geoms


def describe_directions(angles: dict[int, float]) -> tuple[str, str, str]:
    """Text for feature ``i`` at ``angles[i]`` degrees: ``"f0:10 f1:190"`` sorted round the circle, the gaps
    to the next direction, and the antipodal pairs (``"-"`` when there are none)."""
    order = sorted(angles, key=lambda i: angles[i] % 360)
    gaps = angle_gaps([angles[i] for i in order])
    pairs = antipodal_pairs(angles)
    return (
        " ".join(f"f{i}:{angles[i] % 360:.0f}" for i in order),
        " ".join(f"{g_:.0f}" for g_ in gaps),
        " ".join(f"f{i}/f{j}" for i, j in pairs) or "-",
    )
