"""The `pmfast` command line: margin a book from files, generate a synthetic book, run the demo.

Exit status: 0 success; 2 bad input (the error, naming table, column and ids, on stderr);
3 the run finished but some accounts were rejected under ``--errors collect`` (their reasons are
written next to the output).
"""
import pathlib
import sys

import click

from pmfast.errors import InputError

EXIT_BAD_INPUT = 2
EXIT_SOME_REJECTED = 3


class _TerminalProgress:
    """A tqdm bar over the batch's stages, drawn only when stderr is a terminal (a scheduler's
    log stays clean). Passed to the library as its ``progress`` callback."""

    def __init__(self):
        self._bar = None

    def __call__(self, stage, done, total):
        if not sys.stderr.isatty():
            return
        if self._bar is None:
            from tqdm import tqdm
            self._bar = tqdm(total=total, desc="pmfast", unit="stage", leave=False)
        self._bar.set_description(stage)
        self._bar.n = done
        self._bar.refresh()
        if done >= total:
            self._bar.close()
            self._bar = None


def _fail_bad_input(exc):
    click.echo(f"pmfast: bad input: {exc}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _check_writable(path, option):
    """Fail before the run (not after minutes of work) if ``path`` cannot be written: its
    folder must exist or be creatable, and the file, if there, must be writable."""
    import os
    path = pathlib.Path(path)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:  # write_table creates folders
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{option} {str(path)!r}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option} {str(path)!r}: the folder {str(folder)!r} is not writable")
    if path.exists() and (path.is_dir() or not os.access(path, os.W_OK)):
        raise InputError(f"{option} {str(path)!r}: exists and is not a writable file")


def _distributed_options(command):
    """``--scheduler``, ``--workers``, ``--partitions``: a distributed run (pmfast.distributed,
    the ``dask`` extra), on the commands that have one."""
    for option in reversed([
            click.option("--scheduler", metavar="ADDRESS", default=None,
                         help="margin on the Dask cluster of this scheduler (tcp://host:8786); "
                              "POSITIONS may then be a folder or glob of Parquet files the "
                              "workers read"),
            click.option("--workers", type=click.IntRange(min=1), default=None,
                         help="margin on a local Dask cluster of N worker processes"),
            click.option("--partitions", type=click.IntRange(min=1), default=None,
                         help="most account shards of a distributed run (default: twice "
                              "the workers' slots)")]):
        command = option(command)
    return command


@click.group()
@click.version_option(package_name="pmfast")
def main():
    """pmfast: portfolio margin and Reg T strategy margin for whole books."""


@main.command()
@click.argument("positions", type=click.Path(exists=True))
@click.argument("instruments", type=click.Path(exists=True, dir_okay=False))
@click.argument("underlyings", type=click.Path(exists=True, dir_okay=False))
@click.option("--product-groups", type=click.Path(exists=True, dir_okay=False),
              help="optional product_groups table")
@click.option("--as-of", default=None, help="valuation date YYYY-MM-DD (default: today)")
@click.option("--rate", default=0.0, show_default=True, type=float,
              help="continuously compounded risk-free rate (the same default as pmfast.Book)")
@click.option("--rules", default="finra-cpm", show_default=True,
              help="portfolio-margin rule set: a preset name or a TOML file")
@click.option("--method", type=click.Choice(["pm", "regt", "both", "sim", "all"]),
              default="both", show_default=True,
              help="pm, regt, both (pm + regt), sim (simulation margin), all (pm + regt + sim)")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="per-account output, .parquet or .csv")
@click.option("--report", type=click.Path(dir_okay=False), help="write an HTML report here")
@click.option("--threads", type=int, default=None, help="threads (default: all CPUs)")
@click.option("--errors", type=click.Choice(["raise", "collect"]), default="raise",
              show_default=True, help="stop on bad input, or margin the valid accounts")
@_distributed_options
@click.option("--pairing", type=click.Choice(["optimal", "greedy"]), default="optimal",
              show_default=True,
              help="Reg T strategy pairing: proven minimum (within the rule set's budget), or "
                   "the brokers' greedy baseline")
# -- simulation margin (--method sim / all) ------------------------------------------------------
@click.option("--scenarios", "sim_scenarios", type=click.Path(exists=True, dir_okay=False),
              help="sim: long table scenario, underlying, return[, vol_shift]")
@click.option("--history", "sim_history", type=click.Path(exists=True, dir_okay=False),
              help="sim: price history date, underlying, price[, vol] to build scenarios from")
@click.option("--rates", "sim_rates", type=click.Path(exists=True, dir_okay=False),
              help="sim: rate history date, rate (with --history) or scenario, rate_shift "
                   "(with --scenarios)")
@click.option("--filtered", "sim_filtered", is_flag=True,
              help="sim: filtered (EWMA volatility-rescaled) historical scenarios")
@click.option("--monte-carlo", "sim_monte_carlo", type=click.IntRange(min=1), default=None,
              help="sim: N Monte Carlo draws from the history's covariance")
@click.option("--seed", "sim_seed", type=int, default=1, show_default=True,
              help="sim: Monte Carlo seed")
@click.option("--horizon", "sim_horizon", type=float, default=2.0, show_default=True,
              help="sim: horizon in days")
@click.option("--measure", "sim_measure", type=click.Choice(["es", "var", "worst"]),
              default="es", show_default=True, help="sim: tail measure")
@click.option("--confidence", "sim_confidence", type=float, default=0.99, show_default=True,
              help="sim: confidence level of ES / VaR")
def margin(positions, instruments, underlyings, product_groups, as_of, rate, rules, method,
           out, report, threads, errors, scheduler, workers, partitions, pairing, **sim):
    """Margin the book in POSITIONS, INSTRUMENTS and UNDERLYINGS (Parquet, CSV or Arrow)."""
    from pmfast import batch
    simulation = None
    if method in ("sim", "all"):
        simulation = {k[len("sim_"):]: v for k, v in sim.items()}
    try:
        _check_writable(out, "--out")
        if report is not None:
            _check_writable(report, "--report")
        if scheduler is not None or workers is not None:
            if pairing != "optimal":
                raise click.UsageError("--pairing greedy is not available on a distributed run")
            run = _distributed_margin(positions, instruments, underlyings, product_groups,
                                      as_of, rate, rules, method, report, threads, errors,
                                      scheduler, workers, partitions, simulation)
        else:
            run = batch.run_files(positions, instruments, underlyings,
                                  product_groups=product_groups, as_of=as_of, rate=rate,
                                  rules=rules, method=method, n_threads=threads, errors=errors,
                                  pairing=pairing, progress=_TerminalProgress(),
                                  simulation=simulation)
        batch.write_outputs(run, out, report=report)
    except InputError as exc:
        _fail_bad_input(exc)
    click.echo(batch.summary_text(run))
    if run.n_rejected:
        click.echo(f"pmfast: {run.n_rejected} account(s) rejected; reasons in "
                   f"{batch.errors_path(out)}", err=True)
        sys.exit(EXIT_SOME_REJECTED)


def _distributed_margin(positions, instruments, underlyings, product_groups, as_of, rate, rules,
                        method, report, threads, errors, scheduler, workers, partitions,
                        simulation=None):
    """``margin --scheduler/--workers``: the same per-account table, margined on Dask."""
    if scheduler is not None and workers is not None:
        raise click.UsageError("give --scheduler or --workers, not both")
    if report is not None:
        raise click.UsageError("--report needs the single-machine run (it charts accounts "
                               "from the whole book); drop --scheduler/--workers")
    from pmfast.distributed.command import run_distributed
    if simulation is not None:    # the scenario set built once, here, and scattered
        from pmfast.simulation import run as sim_run
        simulation = sim_run.from_options(simulation)
    try:
        return run_distributed(positions, instruments, underlyings, scheduler=scheduler,
                               workers=workers, product_groups=product_groups, as_of=as_of,
                               rate=rate, rules=rules, method=method, n_threads=threads,
                               errors=errors, partitions=partitions, **(simulation or {}))
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--accounts", required=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="folder for positions, instruments, underlyings, product_groups")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet",
              show_default=True)
@click.option("--history", "history_days", type=click.IntRange(min=1), default=None,
              help="also write history (date, underlying, price, vol) and rates (date, rate) "
                   "over this many trading days")
@click.option("--span", "span_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="write a SPAN book (positions only) over this risk-parameter file instead")
def generate(accounts, seed, out, fmt, history_days, span_file):
    """Write a realistic synthetic book (deterministic for a seed)."""
    if span_file is not None:
        _generate_span(accounts, seed, pathlib.Path(out), fmt, span_file)
        return
    from pmfast import batch
    try:
        paths = batch.write_generated(accounts, seed, pathlib.Path(out), fmt,
                                      history_days=history_days)
    except InputError as exc:
        _fail_bad_input(exc)
    for path in paths:
        click.echo(str(path))


@main.command()
@click.option("--accounts", default=100_000, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--out", default="pmfast-demo", show_default=True,
              type=click.Path(file_okay=False))
@click.option("--threads", type=int, default=None, help="threads (default: all CPUs)")
@click.option("--rules", default="finra-cpm", show_default=True)
def demo(accounts, seed, out, threads, rules):
    """Generate a realistic book, run portfolio margin and Reg T, write results and a report."""
    from pmfast import batch
    run = batch.run_demo(accounts=accounts, seed=seed, out_dir=pathlib.Path(out),
                         n_threads=threads, rules=rules, progress=_TerminalProgress())
    click.echo(batch.summary_text(run))
    click.echo(f"results and report in {out}/")


# -- SPAN ----------------------------------------------------------------------------------------
def _write_table(frame, path):
    path = pathlib.Path(path)
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        raise InputError(f"--out {str(path)!r}: use a .parquet or .csv file name")
    return path


def _generate_span(accounts, seed, out, fmt, span_file):
    from pmfast.span import load
    from pmfast.span.generate import generate_span_positions
    try:
        params = load(span_file)
        positions = generate_span_positions(params, n_accounts=accounts, seed=seed)
        out.mkdir(parents=True, exist_ok=True)
        click.echo(str(_write_table(positions, out / f"positions.{fmt}")))
    except InputError as exc:
        _fail_bad_input(exc)


@main.command()
@click.argument("positions", type=click.Path(exists=True))
@click.argument("riskfile", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="per-account output, .parquet or .csv; the breakdown per combined commodity "
                   "goes beside it as NAME.combined.EXT")
@click.option("--report", type=click.Path(dir_okay=False), help="write an HTML report here")
@click.option("--previous", type=click.Path(exists=True, dir_okay=False), default=None,
              help="the previous day's risk-parameter file: adds variation margin")
@click.option("--rules", default=None, help="SPAN rule flags TOML (default: the shipped one)")
@click.option("--round-scan/--no-round-scan", default=None,
              help="round the scan risk to whole units (overrides the rules)")
@click.option("--threads", type=int, default=None, help="threads (default: all CPUs)")
@click.option("--errors", type=click.Choice(["raise", "collect"]), default="raise",
              show_default=True, help="stop on bad input, or margin the valid accounts")
@_distributed_options
def span(positions, riskfile, out, report, previous, rules, round_scan, threads, errors,
         scheduler, workers, partitions):
    """SPAN margin of POSITIONS on the exchange RISKFILE (SPAN XML .spn or CME pa2)."""
    import pandas as pd

    from pmfast.span import load, span_margin, variation_margin
    try:
        params = load(riskfile)
        if scheduler is not None or workers is not None:
            if report is not None or previous is not None:
                raise click.UsageError("--report and --previous need the single-machine run; "
                                       "drop --scheduler/--workers")
            res = _distributed_span(positions, params, rules, round_scan, threads, errors,
                                    scheduler, workers, partitions)
        else:
            res = span_margin(positions, params, rules=rules, round_scan=round_scan,
                              errors=errors, n_threads=threads)
        accounts = res.accounts
        vm = None
        if previous is not None:
            vm = variation_margin(positions, params, load(previous), errors=errors)
            accounts = accounts.merge(vm.accounts[["account", "variation_margin"]],
                                      on="account", how="left")
        out = pathlib.Path(out)
        _write_table(accounts, out)
        _write_table(res.combined, out.with_name(f"{out.stem}.combined{out.suffix}"))
        rejected = int((accounts["status"] != "ok").sum())
        if rejected:
            errs = res.errors if vm is None else pd.concat([res.errors, vm.errors])
            _write_table(errs, out.with_name(f"{out.stem}.errors{out.suffix}"))
        if report:
            from pmfast.report.span import write_span_report
            write_span_report(res, report, variation=vm)
    except InputError as exc:
        _fail_bad_input(exc)
    click.echo(f"{len(accounts):,} accounts margined on {params.clearing_org} "
               f"{params.business_date}; total requirement "
               f"{accounts.loc[accounts['status'] == 'ok', 'requirement'].sum():,.2f} "
               f"{params.base_currency}")
    if rejected:
        click.echo(f"{rejected} accounts rejected (see {out.stem}.errors{out.suffix})", err=True)
        sys.exit(EXIT_SOME_REJECTED)


def _distributed_span(positions, params, rules, round_scan, threads, errors, scheduler,
                      workers, partitions):
    """``span --scheduler/--workers``: the same tables (accounts, combined, errors), margined
    on Dask with the risk-parameter file loaded once, here."""
    if scheduler is not None and workers is not None:
        raise click.UsageError("give --scheduler or --workers, not both")
    from pmfast.distributed.command import run_distributed
    try:
        return run_distributed(positions, None, None, scheduler=scheduler, workers=workers,
                               method="span", span_params=params, span_rules=rules,
                               round_scan=round_scan, n_threads=threads, errors=errors,
                               partitions=partitions, table="method")
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None


if __name__ == "__main__":
    main()
