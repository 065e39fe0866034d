"""The ``sim`` command line: argument parsing and the commands.

Owns ``sim run``, ``validate``, ``calibrate``, ``history``, ``schema``, ``compare``, ``report``,
``check``, ``sweep`` and ``sensitivity`` (:mod:`sim.cli.sweep`, :mod:`sim.cli.ensembles`),
``decompose`` and ``optimize`` (:mod:`sim.cli.decompose`): each
parses its arguments, calls one library function, prints or writes, and turns
:class:`sim.errors.SimError` into one line on stderr and exit code 2. It may import every other
unit; nothing imports it (``sim.__main__`` and the ``sim`` console script call :func:`main`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
from pathlib import Path

from sim import __version__
from sim.errors import SimError


def _run_or_reuse(sc, out: Path, args, what: str):
    """Run ``sc`` unless ``out`` already holds the identical run (then load and say so).

    Returns (results, reused). An existing folder with a different run is an error without
    ``--force``.
    """
    from sim.engine.runner import run_identity, run_scenario, same_run
    from sim.results import MANIFEST, ResultsError, load_results

    if out.exists() and not args.force:
        try:
            manifest = json.loads((out / MANIFEST).read_text())
        except (OSError, ValueError):
            manifest = {}
        if isinstance(manifest, dict) and same_run(manifest,
                                                   run_identity(sc, args.seed, args.end_year)):
            print(f"{what}: identical run already in {out} (same scenario, seed, years and "
                  "versions); reusing it (--force runs again)", file=sys.stderr)
            return load_results(out), True
        raise ResultsError(f"{out}: results folder exists with a different run; use --force "
                           "to overwrite")
    return run_scenario(sc, seed=args.seed, end_year=args.end_year, quiet=args.quiet,
                        command=getattr(args, "command_line", None)), False


def _cmd_run(args) -> int:
    # the engine first (it loads Mesa's model while few modules are loaded; sim.engine.mesa_core)
    from sim.engine.runner import default_out_dir
    from sim.results import write_results
    from sim.results.folder import check_replaceable
    from sim.scenario.load import load_scenario

    sc = load_scenario(Path(args.scenario))
    out = Path(args.out) if args.out else default_out_dir(sc, args.seed, end_year=args.end_year)
    if args.force:  # --force replaces only sim's own folders: refuse before running
        check_replaceable(out, force=True, what="results folder")
    base = base_out = None
    if args.baseline:
        bsc = load_scenario(Path(args.baseline))
        base_out = default_out_dir(bsc, args.seed, root=out.parent, end_year=args.end_year)
        if args.force:
            check_replaceable(base_out, force=True, what="results folder")
        base, base_reused = _run_or_reuse(bsc, base_out, args, "baseline")
    res, reused = _run_or_reuse(sc, out, args, "scenario")
    if base is not None and not base_reused:
        write_results(base, base_out, force=args.force)
    if not reused:
        write_results(res, out, force=args.force)
    import pandas as pd

    if not args.quiet:
        m = res.manifest
        print(f"scenario {m['name']} (seed {m['seed']}), {m['start_year']}-{m['end_year']}: "
              f"{m['wall_time_s']:.2f} s, solver max residual "
              f"{m['solver']['max_residual']:.1e} (tol {m['solver']['tol']:.0e})")
        with pd.option_context("display.float_format", "{:,.3f}".format,
                               "display.width", 120, "display.max_rows", 200):
            print(res.summary().to_string())
        print(f"results: {out}")
    if base is not None:  # the result asked for: printed even with --quiet
        from sim.analysis.headline import headline

        print(f"{'' if args.quiet else chr(10)}headline: {res.manifest['name']} vs "
              f"{base.manifest['name']} (results: {out}; baseline results: {base_out})")
        with pd.option_context("display.float_format", "{:,.3f}".format,
                               "display.width", 140, "display.max_rows", 200):
            print(headline(res, base).to_string(na_rep=""))
    return 0


def _cmd_validate(args) -> int:
    from sim.scenario.load import load_scenario

    sc = load_scenario(Path(args.scenario))
    reg = sc.region
    n_int = sum(not p.external for p in reg.places)
    print(f"{args.scenario}: OK - scenario '{sc.name}', {n_int} internal + "
          f"{len(reg.places) - n_int} external places, {len(reg.sectors)} sectors, "
          f"{len(reg.links)} links, {len(sc.policies)} policies, "
          f"{sc.time.start}-{sc.time.end}")
    return 0


def _cmd_schema(args) -> int:
    from sim.scenario.jsonschema import reference_markdown, scenario_json_schema

    if args.markdown:
        print(reference_markdown(), end="")
    else:
        print(json.dumps(scenario_json_schema(), indent=2))
    return 0


def _cmd_history(args) -> int:
    import pandas as pd

    from sim.engine.history import calibrate_history, targets_from
    from sim.scenario.load import load_scenario

    sc = load_scenario(Path(args.scenario))
    targets = targets_from(load_scenario(Path(args.targets)))
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not args.force:
        raise SimError(f"{out}: exists; use --force to overwrite")
    _, fit = calibrate_history(sc, targets, structural=args.structural)
    a = fit.attrs
    what = "productivity drifts to GDP only (structural)" if args.structural else \
        "amenity and productivity drifts"
    print(f"{args.scenario}: {what} fitted to {args.targets}'s base year over "
          f"{a['start_year']}-{a['end_year']} in {a['evaluations']} runs; max log error "
          f"{a['max_log_error']:.1e}")
    with pd.option_context("display.float_format", "{:,.4f}".format, "display.width", 160,
                           "display.max_columns", 20):
        print(fit.drop(columns=["population_log_error", "gdp_log_error"]).to_string())
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        fit.to_csv(out)
        print(f"fit: {out}")
    return 0


def _cmd_calibrate(args) -> int:
    import pandas as pd

    from sim.engine.calibrate import calibrate
    from sim.engine.runner import run_scenario
    from sim.scenario.load import dump_scenario, load_scenario

    sc = load_scenario(Path(args.scenario))
    calibrated, report = calibrate(sc, tol=args.tol)
    a = report.attrs
    print(f"{args.scenario}: calibrated {len(report)} internal places to {sc.time.start} in "
          f"{a['iterations']} iterations: max GDP error {a['max_gdp_rel_error']:.1e}, max net "
          f"migration {a['max_net_migration_share']:.1e} of population")
    check = run_scenario(dataclasses.replace(calibrated, calibrate=False, policies=()),
                         end_year=sc.time.start)
    model_gdp = check.places.set_index("place")["gdp"]
    report["gdp_full_model"] = report["place"].map(model_gdp)
    report["full_model_rel_error"] = report["gdp_full_model"] / report["gdp_observed"] - 1
    with pd.option_context("display.float_format", "{:,.4g}".format, "display.width", 140,
                           "display.max_rows", 500):
        print(report.to_string(index=False))
    if sc.parameters.firm_dynamics == "entry_exit":
        print("note: the inversion uses the free-entry base year; gdp_full_model is the "
              "entry-exit model's base year after the firm spin-up")
    if args.out:
        out = Path(args.out)
        if out.exists() and not args.force:
            raise SimError(f"{out}: exists; use --force to overwrite")
        out.write_text(dump_scenario(dataclasses.replace(calibrated, calibrate=False)))
        print(f"calibrated scenario: {out}")
    return 0


def _cmd_compare(args) -> int:
    from sim.results.sweeps import is_sweep_folder

    if any(is_sweep_folder(r) for r in args.runs):
        from sim.cli.ensembles import cmd_compare_ensembles

        if getattr(args, "xlsx", None):
            raise SimError("--xlsx: sweep folders are not exported to Excel; export the "
                           "members' results folders or read the sweep's Parquet tables")

        return cmd_compare_ensembles(args)
    import pandas as pd

    from sim.analysis.comparison import headline_tables, load_runs
    from sim.viz.outputs import write_comparison

    runs = load_runs(args.runs, quiet=args.quiet)
    h = headline_tables(*runs)
    with pd.option_context("display.float_format", "{:,.3f}".format, "display.width", 160,
                           "display.max_rows", 200, "display.max_columns", 30):
        print(h.to_string(na_rep=""))
    if args.out:
        out = write_comparison(runs, args.out, force=args.force, figures=not args.no_figures,
                               quiet=args.quiet, lang=args.lang)
        print(f"tables and figures: {out}")
    if args.xlsx:
        from sim.viz.excel import comparison_xlsx

        book = comparison_xlsx(runs, args.xlsx, lang=args.lang, force=args.force)
        print(f"Excel workbook: {book}")
    return 0


def _cmd_dashboard(args) -> int:
    import os

    from sim.viz.labels import check_lang

    check_lang(args.lang)
    env = dict(os.environ, SIM_DASHBOARD_SCENARIOS=str(Path(args.scenarios).resolve()),
               SIM_DASHBOARD_RESULTS=str(Path(args.results).resolve()),
               SIM_DASHBOARD_LANG=args.lang, SIM_DASHBOARD_PACK=args.pack)
    if args.end_year:
        env["SIM_DASHBOARD_END_YEAR"] = str(args.end_year)
    cmd = [sys.executable, "-m", "solara", "run", "sim.dashboard.app", "--host", args.host,
           "--port", str(args.port), "--production", "--no-open"]
    print(f"sim dashboard: http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    os.execve(sys.executable, cmd, env)  # the server replaces this process (one PID to stop)
    return 0  # not reached


def _cmd_export(args) -> int:
    from sim.viz.excel import export_xlsx

    book = export_xlsx(args.runs, args.xlsx, lang=args.lang, force=args.force)
    print(f"Excel workbook: {book}")
    return 0


def _cmd_report(args) -> int:
    from sim.viz.report import write_report

    page = write_report(args.runs, args.out, force=args.force, quiet=args.quiet,
                        title=args.title, lang=args.lang,
                        decomposition=args.decomposition)
    print(f"report: {page}")
    return 0


def _cmd_check_cp(args) -> int:
    from sim.checks.cp import cp_check

    out = cp_check(args.sigma, args.mu, scenario=args.scenario, iters=args.iters)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k in ("break", "sustain"):
            print(f"phi_{k}: numeric {out[f'phi_{k}_numeric']:.6f}  closed form "
                  f"{out[f'phi_{k}_closed_form']:.6f}  rel. error "
                  f"{out[f'phi_{k}_rel_error']:.2e}")
    return 0


def _cmd_check_racetrack(args) -> int:
    from sim.checks.racetrack import passed, racetrack_check

    out = racetrack_check(args.sigma, args.mu, scenario=args.scenario, eps=args.eps,
                          seed=args.seed, max_years=args.max_years)
    ok = passed(out)
    if args.json:
        print(json.dumps(out | {"passed": ok}, indent=2))
        return 0 if ok else 1
    K, ids = out["K"], out["place_ids"]
    print(f"racetrack: K = {K} places on a circle, sigma = {out['sigma']:g}, mu = "
          f"{out['mu']:g}, tau = exp(a c/c_0), neighbour cost c/c_0 = {out['unit']:g}, "
          f"replicator speed {out['replicator_speed']:g}; f* = {out['f_critical']:.6f}")
    print("modes in the order they turn unstable as trade freeness rises (closed form):")
    print(f"  {'mode':>4}  {'r*':>10}  {'a*':>10}")
    for m in out["modes_by_break"]:
        print(f"  {m['mode']:>4}  {m['r']:>10.6f}  {m['a']:>10.6f}")
    print(f"Jacobian of L(t+1) - L(t) at the uniform state, a = {out['a_run']:.6f} "
          f"(r = {out['r_run']:.6f}, halfway between the first two break points):")
    print(f"  {'mode':>4}  {'f_k':>9}  {'closed form':>13}  {'engine (FD)':>13}  "
          f"{'rel. error':>10}")
    for k in range(K):
        cf, num = out["eigenvalues_closed_form"][k], out["eigenvalues_numeric"][k]
        err = f"{abs(num - cf) / abs(cf):.1e}" if cf else f"abs {abs(num):.0e}"
        print(f"  {k:>4}  {out['f_run'][k]:>9.6f}  {cf:>13.6e}  {num:>13.6e}  {err:>10}")
    print(f"first unstable mode: {out['first_unstable_mode_closed_form']} (closed form), "
          f"{out['first_unstable_mode_numeric']} (engine); unstable at a_run: "
          f"{out['unstable_modes_numeric']}")
    print(f"break point of mode {K // 2}: a = {out['break_a_numeric']:.10f} (engine), "
          f"{out['break_a_closed_form']:.10f} (closed form), rel. error "
          f"{out['break_a_rel_error']:.1e}; r* = {out['break_r_closed_form']:.6f}, "
          f"neighbour tau* = {out['break_tau_neighbour_closed_form']:.6f}")
    st = out["settle"]
    shares = ", ".join(f"{ids[i]} {st['shares'][i]:.4f}" for i in st["cities"])
    for sd in st["saddles"]:
        print(f"  year {sd['year']}: at rest at a saddle (largest eigenvalue "
              f"{sd['largest_eigenvalue']:+.4g}), perturbed again")
    state = "settled at a stable rest point" if st["settled"] else "not settled"
    print(f"from uniform + noise {out['eps']:g} (seed {out['seed']}): {state} after "
          f"{st['years']} years in {len(st['cities'])} cities ({shares}); alternating K/2 "
          f"pattern: {'yes' if out['settled_alternating'] else 'no'}, equal sizes: "
          f"{'yes' if out['settled_equal_sizes'] else 'no'}")
    if st["stability"] is not None:
        ev = st["stability"]["city_eigenvalues"] + st["stability"]["invasion_rates"]
        print(f"  largest eigenvalue at the settled state: {max(ev):+.4g} (conservation mode "
              f"dropped)")
    eq = out["equal_cities_stability"]
    print(f"  {K // 2} equal cities on every other place: "
          f"{'stable' if eq['stable'] else 'unstable'} (largest eigenvalue "
          f"{max(eq['city_eigenvalues'] + eq['invasion_rates']):+.4g})")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``sim`` command."""
    p = argparse.ArgumentParser(
        prog="sim", description="Scenario-modelling engine for regional development.")
    p.add_argument("--version", action="version", version=f"sim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run a scenario and write a results folder",
                       description="Run SCENARIO and write <out>/ (manifest.json, "
                                   "places.parquet, sectors.parquet) atomically.")
    r.add_argument("scenario", help="scenario YAML file")
    r.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    r.add_argument("--out", default=None,
                   help="results folder (default results/<name>-<hash>-s<seed>/)")
    r.add_argument("--force", action="store_true",
                   help="overwrite an existing results folder (without it, a folder holding "
                        "the identical run is reused and any other is an error)")
    r.add_argument("--end-year", type=int, default=None, help="stop early (short runs)")
    r.add_argument("--quiet", action="store_true",
                   help="no progress bar and no run summary; the headline of --baseline is "
                        "still printed")
    r.add_argument("--baseline", default=None,
                   help="also run this baseline scenario (results beside --out) and print the "
                        "headline of SCENARIO against it")
    r.set_defaults(func=_cmd_run)

    v = sub.add_parser("validate", help="validate a scenario file (non-zero exit on error)",
                       description="Load and validate SCENARIO; exit 0 if valid, 2 if not.")
    v.add_argument("scenario", help="scenario YAML file")
    v.set_defaults(func=_cmd_validate)

    sch = sub.add_parser("schema", help="print the JSON Schema of scenario files (for editors)",
                         description="Print the JSON Schema (draft 2020-12) of scenario files, "
                                     "generated from the scenario dataclasses, e.g. "
                                     "'sim schema > scenario.schema.json' for an editor's YAML "
                                     "extension. With --markdown print the key reference of "
                                     "docs/scenarios.md instead.")
    sch.add_argument("--markdown", action="store_true",
                     help="print the key reference (Markdown tables) instead")
    sch.set_defaults(func=_cmd_schema)

    cal = sub.add_parser("calibrate", help="invert base-year productivity and amenities",
                         description="Calibrate the internal places' productivity and amenity "
                                     "fundamentals so that the base year reproduces observed "
                                     "GDP and is a migration steady state; print the fit.")
    cal.add_argument("scenario", help="scenario YAML file (places with observed gdp)")
    cal.add_argument("--tol", type=float, default=1e-8, help="tolerance (default 1e-8)")
    cal.add_argument("--out", default=None, help="write the calibrated scenario (YAML) here")
    cal.add_argument("--force", action="store_true", help="overwrite --out")
    cal.set_defaults(func=_cmd_calibrate)

    his = sub.add_parser(
        "history", help="fit drifts of fundamentals to an observed decade",
        description="Calibrate SCENARIO (an earlier census year, e.g. the 2010 history run) to its "
                    "base year, then fit each internal place's amenity and productivity drift "
                    "(log points a year) so that the run reproduces the residents and GDP of "
                    "TARGETS' base year (e.g. the 2020 baseline). Prints the fit; --out writes "
                    "it as CSV (the Jilin pack's drift and net_migration columns come from it). "
                    "See docs/model.md, 'History calibration'.")
    his.add_argument("scenario", help="scenario YAML of the earlier base year (drift: persist)")
    his.add_argument("--targets", required=True,
                     help="scenario YAML whose base-year places give the target residents and "
                          "GDP")
    his.add_argument("--structural", action="store_true",
                     help="fit productivity drifts to GDP only, amenities fixed (a test of the "
                          "migration mechanism, docs/validation.md)")
    his.add_argument("--out", default=None, help="write the fit (CSV) here")
    his.add_argument("--force", action="store_true", help="overwrite --out")
    his.set_defaults(func=_cmd_history)

    cmp_ = sub.add_parser("compare", help="compare results folders (the first is the reference)",
                          description="Align runs by year, place and sector; print the "
                                      "final-year headline of each run against the first; with "
                                      "--out write every difference as CSV, the headline as "
                                      "CSV and Markdown, and the figures as PNG and SVG. Sweep "
                                      "folders get ensemble bands. Reads results folders only.")
    cmp_.add_argument("runs", nargs="+", help="results folders (at least two)")
    cmp_.add_argument("--out", default=None,
                      help="folder for the CSV and Markdown tables and the figures (PNG, SVG)")
    cmp_.add_argument("--force", action="store_true",
                      help="overwrite an existing --out or --xlsx")
    cmp_.add_argument("--no-figures", action="store_true", help="tables only")
    cmp_.add_argument("--quiet", action="store_true", help="no progress bar")
    cmp_.add_argument("--xlsx", default=None, metavar="FILE",
                      help="also write an Excel workbook: the headline and one sheet of "
                           "differences per table, units in the header row")
    cmp_.add_argument("--lang", choices=("en", "zh"), default="en",
                      help="language of the figures' and the workbook's labels, units and "
                           "place names (default en)")
    cmp_.set_defaults(func=_cmd_compare)

    dash = sub.add_parser("dashboard", help="interactive dashboard in the browser (Solara)",
                          description="Serve the dashboard: choose a region pack and scenarios, "
                                      "switch the plan's pillars on and off and scale their "
                                      "levers, run, see the map, time series and headline "
                                      "against the baseline, download the results folder (zip) "
                                      "or an Excel workbook. Runs are written as ordinary "
                                      "results folders under --results.")
    dash.add_argument("--host", default="127.0.0.1", help="address to serve on (default "
                                                           "127.0.0.1, this machine only)")
    dash.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    dash.add_argument("--scenarios", default="scenarios",
                      help="folder of scenario files to offer (default scenarios)")
    dash.add_argument("--results", default="results", help="results root (default results)")
    dash.add_argument("--pack", default="jilin", help="initial region pack (default jilin)")
    dash.add_argument("--end-year", type=int, default=None,
                      help="initial horizon (default: the plan scenario's last year)")
    dash.add_argument("--lang", choices=("en", "zh"), default="en",
                      help="language of the page, maps and tables (default en)")
    dash.set_defaults(func=_cmd_dashboard)

    ex = sub.add_parser("export", help="export results folders to an Excel workbook",
                        description="Write FILE (.xlsx): a sheet of run facts, the yearly "
                                    "indicators and one sheet per results table (places, "
                                    "sectors, and firms, migration, links where present), with "
                                    "a run column when there are several runs. Header rows "
                                    "carry units and are frozen; numbers stay numbers.")
    ex.add_argument("runs", nargs="+", help="results folders")
    ex.add_argument("--xlsx", required=True, metavar="FILE", help="the workbook to write")
    ex.add_argument("--lang", choices=("en", "zh"), default="en",
                    help="language of labels and units (default en)")
    ex.add_argument("--force", action="store_true", help="overwrite an existing FILE")
    ex.set_defaults(func=_cmd_export)

    rep = sub.add_parser("report", help="self-contained HTML report comparing results folders",
                         description="Write OUT/report.html (tables, figures, scenario "
                                     "descriptions, policies and run facts; opens offline) "
                                     "with the figures (PNG, SVG) and CSV tables beside it. "
                                     "The first run is the reference.")
    rep.add_argument("runs", nargs="+", help="results folders (at least two)")
    rep.add_argument("--out", required=True, help="report folder to create (e.g. report/)")
    rep.add_argument("--force", action="store_true", help="overwrite an existing --out")
    rep.add_argument("--title", default=None, help="page title")
    rep.add_argument("--decomposition", default=None, metavar="FOLDER",
                     help="a 'sim decompose' folder of the second run against the first: adds "
                          "the section 'Where the effect comes from'")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    rep.add_argument("--lang", choices=("en", "zh"), default="en",
                     help="language of the page and its figures: headings, indicators, units "
                          "and place names (the region pack's name_zh) (default en)")
    rep.set_defaults(func=_cmd_report)

    c = sub.add_parser("check", help="validation checks against closed-form results",
                       description="Run a validation check of the engine.")
    csub = c.add_subparsers(dest="check", required=True, metavar="CHECK")
    cp = csub.add_parser("cp", help="Krugman core-periphery break and sustain points",
                         description="Find the break and sustain points of the Krugman CP "
                                     "economy by simulating the engine (bisection on phi) and "
                                     "print them next to the closed forms (FKV 1999 ch. 5).")
    cp.add_argument("--sigma", type=float, default=5.0, help="CES elasticity (default 5)")
    cp.add_argument("--mu", type=float, default=0.4, help="manufacturing share (default 0.4)")
    cp.add_argument("--iters", type=int, default=30, help="bisection steps (default 30)")
    cp.add_argument("--scenario", default=None, help="CP scenario file (default: built in)")
    cp.add_argument("--json", action="store_true", help="print a JSON object")
    cp.set_defaults(func=_cmd_check_cp)
    rt = csub.add_parser(
        "racetrack", help="racetrack economy: stability of the uniform state, first unstable "
                          "mode, settled pattern",
        description="Krugman economy on K places on a circle with exponential trade costs "
                    "(Akamatsu, Takayama & Ikeda 2012): the engine's Jacobian at the uniform "
                    "state against the closed-form eigenvalues by Fourier mode, the break "
                    "point of the first unstable mode (K/2), and the pattern the engine "
                    "settles in just past it. Exit 1 if a claim fails.")
    rt.add_argument("--sigma", type=float, default=5.0, help="CES elasticity (default 5)")
    rt.add_argument("--mu", type=float, default=0.4, help="manufacturing share (default 0.4)")
    rt.add_argument("--eps", type=float, default=1e-3,
                    help="relative noise on the uniform state (default 1e-3)")
    rt.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    rt.add_argument("--max-years", type=int, default=8000,
                    help="most annual steps of the settling run (default 8000)")
    rt.add_argument("--scenario", default=None,
                    help="racetrack scenario file (default: built in)")
    rt.add_argument("--json", action="store_true", help="print a JSON object")
    rt.set_defaults(func=_cmd_check_racetrack)
    from sim.cli.sweep import add_parser as add_sweep_parsers  # sweep, sensitivity
    add_sweep_parsers(sub)
    from sim.cli.decompose import add_parser as add_decompose_parsers  # decompose, optimize
    add_decompose_parsers(sub)
    return p


def _one_line(e: BaseException) -> str:
    return re.sub(r"\s*\n\s*", " ", str(e)).strip()



def _silence_stdout() -> None:
    """Point stdout at /dev/null: the final flush of a closed pipe then prints nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv=None) -> int:
    """Entry point of the ``sim`` console script; returns the exit code.

    No arguments print the help (exit 0). A closed output pipe (``sim ... | head``) ends the
    command quietly (exit 141, as a shell reports SIGPIPE); Ctrl-C prints one line and exits
    130; :class:`sim.errors.SimError` and bad input print one line and exit 2.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser()
        if not argv:
            parser.print_help()
            sys.stdout.flush()
            return 0
        args = parser.parse_args(argv)
        args.command_line = ["sim", *argv]
        rc = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return rc
    except SimError as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)  # after a progress bar's line
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 141
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except (RecursionError, MemoryError) as e:
        print(f"error: input too deeply nested or too large ({type(e).__name__})",
              file=sys.stderr)
        return 2
