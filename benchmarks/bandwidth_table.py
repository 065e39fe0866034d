"""Markdown table of the bandwidth fractions from a bench_scale JSON (docs/performance.md).

    pytest benchmarks/bench_scale.py --benchmark-only -k "trade_products or bandwidth" \
        --benchmark-json=bw.json
    python benchmarks/bandwidth_table.py bw.json
"""

import json
import re
import sys


def rows(path):
    data = json.load(open(path))
    for b in data["benchmarks"]:
        e = b["extra_info"]
        m = re.match(r"test_(\w+)\[(.*)\]", b["name"])
        if not m or "matvec_gbs" not in e:
            continue
        name, params = m.group(1), m.group(2).split("-")
        if name == "trade_products":
            n, k, dtype, threads = params
            what = f"trade products, {k} sector{'s' if k != '1' else ''}, {dtype}"
        else:
            n, path_, threads = params
            what = f"migration year, {path_}"
        yield (int(threads), what, int(n), e)


def main(path):
    """Print the table; "of best" divides by the best CPU-time GB/s of the run (any kernel or
    reference, same N and threads): the fastest streaming actually observed."""
    table = sorted(rows(path), key=lambda r: (r[0], r[1], r[2]))
    best = {}
    for threads, _, n, e in table:
        top = max(e["cpu_gb_per_s"], e["cpu_matvec_gbs"])
        best[threads, n] = max(best.get((threads, n), 0.0), top)
    print("| threads | kernel | N | GB/s | A @ x GB/s | fraction | CPU-time fraction "
          "| CPU GB/s | of best | speed-up vs BLAS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for threads, what, n, e in table:
        spd = f"{e['speedup_vs_blas']:.1f}x" if "speedup_vs_blas" in e else ""
        print(f"| {threads} | {what} | {n:,} | {e['gb_per_s']:.1f} | {e['matvec_gbs']:.1f} "
              f"| {e['matvec_fraction']:.2f} | {e['cpu_matvec_fraction']:.2f} "
              f"| {e['cpu_gb_per_s']:.1f} | {e['cpu_gb_per_s'] / best[threads, n]:.2f} "
              f"| {spd} |")


if __name__ == "__main__":
    main(sys.argv[1])
