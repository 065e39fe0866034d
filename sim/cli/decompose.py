"""The ``sim decompose`` and ``sim optimize`` commands."""

from __future__ import annotations

import time

from sim.cli.sweep import add_executor_arguments


def _cmd_decompose(args) -> int:
    import pandas as pd

    from sim.sweep.decompose import decompose
    from sim.viz.decomposition import summary

    t0 = time.perf_counter()
    dec = decompose(args.plan, args.baseline, by=args.by, scope=args.scope, out=args.out,
                    end_year=args.end_year, seed=args.seed, samples=args.samples,
                    workers=args.workers, dask=args.dask, scheduler=args.scheduler,
                    force=args.force, quiet=args.quiet, figures=not args.no_figures)
    if not args.quiet:
        m = dec.manifest
        s = m["sessions"][-1]
        kind = "exact" if m["exact"] else f"sampled ({m['samples']} orderings)"
        print(f"decomposition of {m['name']} vs {m['baseline_name']} by {m['by']}: "
              f"{len(dec.components)} components, {m['coalitions']} coalitions, {kind}; "
              f"{s['executed']} runs now, {s['reused']} reused, on "
              f"{s.get('executor', 'nothing to run')} in {time.perf_counter() - t0:.1f} s")
        with pd.option_context("display.float_format", "{:,.3f}".format, "display.width", 200,
                               "display.max_columns", 30, "display.max_colwidth", 40):
            print(summary(dec).T.to_string())
        print(f"tables and figures: {dec.path}")
    return 0


def add_parser(sub) -> None:
    """Add the ``decompose`` subcommand to the ``sim`` parser."""
    d = sub.add_parser(
        "decompose", help="split a plan's effect by pillar, policy or channel (Shapley)",
        description="Run the baseline plus every coalition of the plan's components (pillars: "
                    "the files the plan extends, plus its own policies; or policies, label "
                    "prefixes or economic channels) on the sweep executors and split the "
                    "plan's effect on every headline indicator into Shapley values (exact up "
                    "to 8 components, sampled beyond) with pairwise interactions. Writes "
                    "contributions.csv, interactions.csv, coalitions.csv, summary.md and "
                    "waterfall figures; finished runs are reused (resume). See docs/sweeps.md.")
    d.add_argument("plan", help="plan scenario YAML (extends the baseline)")
    d.add_argument("--baseline", required=True, help="baseline scenario YAML")
    d.add_argument("--by", default="pillar", choices=("pillar", "policy", "label", "channel"),
                   help="components (default: pillar)")
    d.add_argument("--scope", default=None,
                   help="--by channel: the pillar or policy label to split (default: all)")
    d.add_argument("--samples", type=int, default=None,
                   help="sampled Shapley with this many orderings (default: exact up to 8 "
                        "components, 64 orderings beyond)")
    d.add_argument("--seed", type=int, default=None, help="seed of every run")
    d.add_argument("--end-year", type=int, default=None, help="stop every run early")
    add_executor_arguments(d, "worker processes (default: CPU count); 0: in this process")
    d.add_argument("--out", default=None,
                   help="folder (default results/decompositions/<plan>-<by>-<hash>/)")
    d.add_argument("--force", action="store_true",
                   help="start over in a folder that holds another decomposition")
    d.add_argument("--no-figures", action="store_true", help="tables only")
    d.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    d.set_defaults(func=_cmd_decompose)
    add_optimize_parser(sub)


def _cmd_optimize(args) -> int:
    import pandas as pd

    from sim.sweep.optimize import optimize

    bounds = None
    if args.bounds:
        bounds = []
        for b in args.bounds:
            lo, _, hi = b.partition(":")
            bounds.append((float(lo), float(hi)))
    opt = optimize(args.plan, args.baseline, levers=args.lever, budget=args.budget,
                   bounds=bounds, objective=args.objective, theil_cap=args.theil_cap,
                   end_year=args.end_year, out=args.out, workers=args.workers, dask=args.dask,
                   scheduler=args.scheduler, maxiter=args.maxiter, popsize=args.popsize,
                   seed=args.seed, robustness=args.robustness, quiet=args.quiet)
    tab = pd.DataFrame({"optimum (bn CNY)": opt.allocation,
                        "plan (bn CNY)": opt.plan_allocation})
    print(f"objective {opt.info['objective']}: optimum {opt.objective:,.4g}, plan allocation "
          f"{opt.plan_objective:,.4g} ({opt.info['evaluations']} runs, "
          f"{opt.info['wall_time_s']:.0f} s)")
    with pd.option_context("display.float_format", "{:,.2f}".format, "display.width", 160):
        print(tab.to_string())
    if opt.robustness is not None:
        r = opt.robustness
        print(f"robustness: the optimum beats the plan's allocation at "
              f"{int(r['optimum better'].sum())} of {len(r)} parameter points")
    print(f"tables: {opt.path}")
    return 0


def add_optimize_parser(sub) -> None:
    """Add the ``optimize`` subcommand to the ``sim`` parser."""
    o = sub.add_parser(
        "optimize", help="allocate a budget across levers (differential evolution)",
        description="Find the allocation of a total budget across levers (pillars or policy "
                    "labels of PLAN) that maximises an objective: each lever's spending "
                    "scales its policies by the cost->effect rule [P9]. Derivative-free "
                    "(scipy differential evolution), each generation in parallel on the "
                    "sweep executors, every evaluation cached (resume). Writes "
                    "evaluations.csv, frontier.csv (GDP gain vs Theil), summary.md.")
    o.add_argument("plan", help="plan scenario YAML")
    o.add_argument("--baseline", required=True, help="baseline scenario YAML")
    o.add_argument("--lever", action="append", required=True,
                   help="a pillar name or policy label (repeat, at least two)")
    o.add_argument("--budget", type=float, default=None,
                   help="total bn CNY (default: the levers' stated total)")
    o.add_argument("--bounds", action="append", default=None, metavar="LO:HI",
                   help="spending bounds per lever, in --lever order (default 0:budget)")
    o.add_argument("--objective", default="gdp", choices=("gdp", "welfare", "gdp_theil"))
    o.add_argument("--theil-cap", type=float, default=None,
                   help="gdp_theil: allowed rise of the final-year Theil index (default 0)")
    o.add_argument("--end-year", type=int, default=None, help="horizon (stop runs early)")
    o.add_argument("--maxiter", type=int, default=8, help="generations (default 8)")
    o.add_argument("--popsize", type=int, default=5,
                   help="population per lever (default 5)")
    o.add_argument("--seed", type=int, default=0, help="seed of the optimiser")
    o.add_argument("--robustness", type=int, default=0,
                   help="also evaluate optimum and plan at N structural-parameter points")
    add_executor_arguments(o, "worker processes (default: CPU count); 0: in this process")
    o.add_argument("--out", default=None, help="folder (default results/optimize/...)")
    o.add_argument("--quiet", action="store_true", help="no progress lines")
    o.set_defaults(func=_cmd_optimize)
