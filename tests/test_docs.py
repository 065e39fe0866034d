"""The documentation runs: every ``bash`` and ``python`` block of the getting-started page and
the tutorials is executed, in page order, in one fresh folder holding a copy of ``scenarios/``
(so a later page may reuse an identical run of an earlier one, as a reader's would). A ``yaml``
block with ``title="FILE"`` is written to FILE first. ``console`` blocks are shown, not run
(installing, serving the dashboard)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ("scenario", "compare", "sweep", "region-pack", "policy", "tools")
PAGES = [ROOT / "docs" / "index.md", *[ROOT / "docs" / "tutorials" / f"{p}.md" for p in TUTORIALS]]
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```\s*$", re.S | re.M)


def blocks(page: Path):
    for m in FENCE.finditer(page.read_text(encoding="utf-8")):
        lang, info, body = m.group(1), m.group(2), m.group(3)
        title = re.search(r'title="([^"]+)"', info)
        yield lang, (title.group(1) if title else None), body


def test_every_tutorial_is_in_the_site_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    for p in PAGES:
        assert str(p.relative_to(ROOT / "docs")) in nav, p


def test_docs_code_blocks_run(tmp_path):
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=str(ROOT), MPLBACKEND="Agg", CI="true")
    ran = 0
    for page in PAGES:
        for lang, title, body in blocks(page):
            where = f"{page.relative_to(ROOT)}: {lang} block\n{body}"
            if title:
                (tmp_path / title).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / title).write_text(body, encoding="utf-8")
                continue
            if lang == "bash":
                cmd = ["bash", "-euo", "pipefail", "-c", body]
            elif lang == "python":
                cmd = [sys.executable, "-c", body]
            else:
                continue
            out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                                 timeout=300)
            assert out.returncode == 0, f"{where}\nstdout:\n{out.stdout[-3000:]}\n" \
                                        f"stderr:\n{out.stderr[-3000:]}"
            ran += 1
    assert ran >= 15
    # the Chinese report of the compare tutorial (Jilin): place names from the pack's name_zh
    page = (tmp_path / "report-zh" / "report.html").read_text(encoding="utf-8")
    assert "长春" in page and "珲春" in page and 'lang="zh-CN"' in page
    assert "主要结果" in page and "十亿元" in page
    assert (tmp_path / "report-zh" / "figures" / "map_1.svg").exists()
