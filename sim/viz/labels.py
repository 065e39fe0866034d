"""Words on figures, pages and spreadsheets in English and Chinese, and the units of columns.

One table per kind of word: the columns of the results tables (:data:`COLUMNS`: English
label, Chinese label, unit), the yearly indicators of :func:`sim.analysis.indicators.indicators`
(:data:`INDICATORS`), their units (:data:`UNITS`) and the words of page furniture
(:data:`WORDS`). Place names come from the region pack (``name``, ``name_zh``) as recorded in
the results' manifest scenario (:func:`place_names`). A word missing from a table is shown as
it is (the English label or the identifier), never dropped.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

LANGS = ("en", "zh")

# column: (English, Chinese, unit)
COLUMNS: dict[str, tuple[str, str, str]] = {
    "year": ("year", "年份", ""),
    "place": ("place", "地区", ""),
    "sector": ("sector", "行业", ""),
    "origin": ("origin", "迁出地", ""),
    "destination": ("destination", "迁入地", ""),
    "from": ("from", "起点", ""),
    "to": ("to", "终点", ""),
    "mode": ("mode", "运输方式", ""),
    "population": ("population", "人口", "m persons"),
    "mobile": ("mobile workers", "流动劳动力", "m persons"),
    "agricultural": ("farm population", "农业人口", "m persons"),
    "gdp": ("GDP", "地区生产总值", "bn CNY"),
    "wage": ("wage", "工资", "k CNY a year"),
    "real_wage": ("real wage", "实际工资", "index"),
    "price_index": ("price index", "价格指数", "index"),
    "rent": ("rent", "租金", "index"),
    "utility": ("utility", "效用", "index"),
    "ag_wage": ("farm income", "农业收入", "k CNY a year"),
    "in_migration": ("in-migration", "迁入人口", "m persons"),
    "out_migration": ("out-migration", "迁出人口", "m persons"),
    "external_net_migration": ("external net migration", "区外净迁入", "m persons"),
    "welfare": ("welfare", "福利", "index"),
    "exports_external": ("exports to external places", "对区外出口", "bn CNY"),
    "imports_external": ("imports from external places", "自区外进口", "bn CNY"),
    "visitors": ("visitors (policy)", "游客(政策)", "m trips"),
    "visitor_spending": ("visitor spending", "游客消费", "bn CNY"),
    "output": ("output", "产出", "bn CNY"),
    "employment": ("employment", "就业", "m persons"),
    "firms": ("firms", "企业", "mass"),
    "entries": ("entries", "进入", "mass"),
    "exits": ("exits", "退出", "mass"),
    "relocations_in": ("relocations in", "迁入企业", "mass"),
    "relocations_out": ("relocations out", "迁出企业", "mass"),
    "mean_productivity": ("mean productivity", "平均生产率", "index"),
    "movers": ("movers", "迁移人数", "m persons"),
    "households": ("households (agents)", "家庭(主体)", "agents"),
    "freight": ("freight", "货运量", "bn CNY a year"),
    "freight_regional": ("regional freight", "区域货运量", "bn CNY a year"),
    "indicator": ("indicator", "指标", ""),
    "unit": ("unit", "单位", ""),
    "value": ("value", "数值", ""),
    "run": ("run", "方案", ""),
    "reference": ("reference", "参照值", ""),
    "difference": ("difference", "差值", ""),
    "pct_difference": ("difference", "差值", "%"),
}

INDICATORS: dict[str, str] = {
    "GDP": "地区生产总值",
    "GDP growth": "GDP增长率",
    "population": "人口",
    "GDP per capita": "人均GDP",
    "welfare": "福利",
    "real wage": "实际工资",
    "external trade": "对外贸易",
    "border and port trade": "口岸贸易",
    "tourism visitors (policy)": "游客(政策)",
    "tourism visitor spending": "旅游消费",
    "Theil index of GDP per capita": "人均GDP泰尔指数",
    "Gini of GDP per capita": "人均GDP基尼系数",
    "CV of GDP per capita": "人均GDP变异系数",
    "sigma: sd of log GDP per capita": "σ收敛:人均GDP对数标准差",
    "policy spending": "政策支出",
    "primacy": "首位度",
    "radiation": "辐射效应",
    "share": "占比",
    "cost-effectiveness": "成本效益",
    "cumulative GDP gain": "累计GDP增益",
    "GDP gain per CNY spent": "每元支出的GDP增益",
    "baseline": "基准",
    "policy": "政策",
}

UNITS: dict[str, str] = {
    "bn CNY": "十亿元",
    "bn CNY a year": "十亿元/年",
    "% a year": "%/年",
    "m": "百万人",
    "m persons": "百万人",
    "k CNY": "千元",
    "k CNY a year": "千元/年",
    "index": "指数",
    "m trips": "百万人次",
    "mass": "数量",
    "agents": "个",
    "%": "%",
    "pp": "百分点",
    "CNY/CNY": "元/元",
    "bn CNY, nominal": "十亿元(名义)",
    "bn CNY a year, nominal": "十亿元/年(名义)",
    "k CNY per worker a year, nominal": "千元/人·年(名义)",
    "k CNY per farm worker a year, nominal": "千元/农业劳动力·年(名义)",
    "nominal, model units": "名义,模型单位",
    "m persons a year": "百万人/年",
    "m trips a year": "百万人次/年",
    "firm mass": "企业数量",
    "year": "年",
}

WORDS: dict[str, str] = {
    "Scenario comparison": "情景比较",
    "headline": "主要结果",
    "vs": "对比",
    "difference from the reference": "与参照方案之差",
    "change vs baseline": "相对基准的变化",
    "Provinces and prefectures": "省界与地市界",
    "year": "年份",
    "place": "地区",
    "mode": "运输方式",
    "road": "公路",
    "rail": "铁路",
    "hsr": "高铁",
    "air": "航空",
    "sea": "海运",
    "river": "河运",
    "border_crossing": "口岸",
    "colour scale clipped": "色标截断",
    "Map": "地图",
    "Time series": "时间序列",
    "Run": "运行",
    "Download": "下载",
    "results folder (zip)": "结果文件夹(zip)",
    "Excel": "Excel",
    "baseline": "基准",
    "plan": "规划",
    "pillars": "政策支柱",
    "magnitude": "力度",
    "region pack": "区域数据包",
    "horizon": "模拟期",
    "runs": "方案",
    "policies": "政策",
    "run facts": "运行信息",
    "figures": "图",
    "tables": "表",
}


def check_lang(lang: str) -> str:
    """``lang`` if it is ``en`` or ``zh``; a ValueError naming the choices otherwise."""
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: choose one of {', '.join(LANGS)}")
    return lang


def word(text: str, lang: str = "en") -> str:
    """A word of page furniture in ``lang`` (itself if it has no translation)."""
    return WORDS.get(text, text) if lang == "zh" else text


def unit(u: str, lang: str = "en") -> str:
    """A unit in ``lang``."""
    return UNITS.get(u, u) if lang == "zh" else u


# indicator names built from a group or place name: (pattern, Chinese template)
PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^(.+) share of GDP$", "{0}占GDP比重"),
    (r"^(.+) share of population$", "{0}占人口比重"),
    (r"^radiation: circle (.+) growth minus rest$", "辐射效应:都市圈{0}增速减其余地区"),
    (r"^welfare: equivalent variation$", "福利:等价变化"),
    (r"^beta convergence speed \((.+)\)$", "β收敛速度({0})"),
    (r"^tourism output$", "旅游产出"),
    (r"^discounted GDP gain \((.+)\)$", "贴现GDP增益({0})"),
    (r"^discounted policy spending \((.+)\)$", "贴现政策支出({0})"),
    (r"^discounted GDP gain per CNY spent \((.+)\)$", "每元支出的贴现GDP增益({0})"),
)


def indicator(name: str, lang: str = "en", names: dict | None = None) -> str:
    """An indicator name in ``lang``.

    Headline labels (``GDP 2035 (bn CNY)``) keep their year and get their unit translated;
    names built from a place or group (``changchun share of GDP``) use ``names`` (place id ->
    display name) for the place.
    """
    if lang != "zh":
        return name
    m = re.match(r"^(.*?)(?: (\d{4}))? \(([^()]*)\)$", name)
    if m and m.group(3) in UNITS:
        core = indicator(m.group(1), lang, names)
        year = f" {m.group(2)}" if m.group(2) else ""
        return f"{core}{year} ({unit(m.group(3), lang)})"
    if name in INDICATORS:
        return INDICATORS[name]
    for pat, tmpl in PATTERNS:
        m = re.match(pat, name)
        if m:
            args = [(names or {}).get(g, INDICATORS.get(g, g)) for g in m.groups()]
            return tmpl.format(*args)
    return name


def column(col: str, lang: str = "en") -> str:
    """The label of a results-table column in ``lang`` (the identifier if unknown)."""
    if col not in COLUMNS:
        return col
    en, zh, _ = COLUMNS[col]
    return zh if lang == "zh" else en


def column_unit(col: str, lang: str = "en") -> str:
    """The unit of a results-table column in ``lang`` ('' if none or unknown).

    The results format's own units (:data:`sim.results.folder.COLUMN_UNITS`) without their
    parenthesised explanations; :data:`COLUMNS` for the columns of derived tables.
    """
    from sim.results.folder import COLUMN_UNITS

    if col in COLUMN_UNITS and col != "year":
        return unit(re.sub(r"\s*\(.*\)\s*$", "", COLUMN_UNITS[col]), lang)
    return unit(COLUMNS[col][2], lang) if col in COLUMNS else ""


@cache
def _pack_names_zh() -> dict:
    """``{(place id, lat, lon): name_zh}`` from the region packs shipped in ``sim/data``."""
    out = {}
    for f in sorted((Path(__file__).resolve().parents[1] / "data").glob("*/places.csv")):
        with f.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("name_zh") and row.get("lat") and row.get("lon"):
                    key = (row["id"], round(float(row["lat"]), 4), round(float(row["lon"]), 4))
                    out[key] = row["name_zh"]
    return out


def name_zh(place: dict) -> str | None:
    """A place's Chinese name, or None.

    Its own ``name_zh`` or, for places of a region pack shipped with sim (same id and
    coordinates), the pack's ``name_zh`` column.
    """
    if place.get("name_zh"):
        return place["name_zh"]
    if place.get("lat") is None or place.get("lon") is None:
        return None
    return _pack_names_zh().get((place["id"], round(float(place["lat"]), 4),
                                 round(float(place["lon"]), 4)))


def place_names(scenario: dict | None, lang: str = "en", *, short: bool = True) -> dict:
    """Display names of the places of a manifest scenario: ``{place id: name}``.

    ``lang="zh"`` uses ``name_zh`` (:func:`name_zh`; falling back to ``name``); ``short=True``
    drops the parenthesised qualifiers ("Changchun (excl. Gongzhuling)" -> "Changchun",
    "长春(不含公主岭)" -> "长春") that make map labels long.
    """
    out = {}
    for p in ((scenario or {}).get("region") or {}).get("places", []):
        name = (name_zh(p) if lang == "zh" else None) or p.get("name") or p["id"]
        if short:
            name = re.split(r"\s*[(（]", name, maxsplit=1)[0].strip() or name
        out[p["id"]] = name
    return out
