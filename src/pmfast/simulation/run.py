"""Simulation margin inside a batch run (``pmfast margin --method sim|all``, ``pmfast demo``):
build the scenario set the command line asks for, margin the book, and join the ``sim_*``
columns into the run's per-account table. Kept apart from pmfast.batch so its hook there is
one call."""
import numpy as np
import pandas as pd

from pmfast.errors import InputError
from pmfast.rules import RuleSet
from pmfast.scenario_set import ScenarioSet
from pmfast.simulation.margin import simulation_margin

SIM_COLUMNS = ("requirement", "es", "var", "worst_loss", "worst_scenario")
SIM_RULES = "finra-cpm"      # simulation_margin's default rules: its American model and steps


def scenario_set(*, scenarios=None, history=None, filtered=False, monte_carlo=None,
                 seed=1, horizon=2, rates=None):
    """The ScenarioSet of a run: a long table file (``scenarios``), or built from a price
    history file (historical, ``filtered`` historical, or ``monte_carlo`` draws), or, with
    neither an input error (``pmfast demo`` uses :func:`demo_set`)."""
    if scenarios is not None and history is not None:
        raise InputError("give either --scenarios or --history, not both")
    if scenarios is not None:
        from pmfast.simulation.margin import as_scenario_set
        return as_scenario_set(scenarios, horizon_days=horizon, rates=rates)
    if history is not None:
        from pmfast import simulation
        name = "monte_carlo" if monte_carlo else "filtered_historical" if filtered else \
            "historical"
        build = getattr(simulation, name, None)
        if build is None:
            raise InputError(f"--history needs pmfast.simulation.{name}, which this build "
                             "does not have")
        if monte_carlo:
            return build(history, n=int(monte_carlo), horizon_days=horizon, seed=seed,
                         rates=rates)
        return build(history, horizon_days=horizon, rates=rates)
    raise InputError("simulation margin needs --scenarios FILE or --history FILE")


def from_options(options):
    """``attach`` keywords from the command line's options (a dict with ``scenarios``,
    ``history``, ``filtered``, ``monte_carlo``, ``seed``, ``horizon``, ``measure``,
    ``confidence``): the scenario set built, the measure kept."""
    options = dict(options)
    keep = {k: options.pop(k) for k in ("measure", "confidence", "revaluation") if k in options}
    if isinstance(options.get("scenarios"), ScenarioSet):
        return dict(keep, scenarios=options["scenarios"])
    return dict(keep, scenarios=scenario_set(**options))


def demo_set(book, n=500, horizon_days=2, seed=1):
    """A joint scenario set for a book without history: one market factor (Student-t, 4 df,
    2% a day), a beta and idiosyncratic noise per underlying, volatility up when the market
    falls, ~10 bp rate moves, plus three named stress rows."""
    und = book.underlyings.column("underlying").to_pylist()
    rng = np.random.default_rng(seed)
    scale = np.sqrt(max(horizon_days, 1))
    market = rng.standard_t(4, (n, 1)) * 0.014 * scale
    beta = rng.uniform(0.6, 1.4, len(und))
    ret = np.expm1(market * beta + rng.normal(0, 0.015 * scale, (n, len(und))))
    vol = np.clip(-4.0 * market + rng.normal(0, 0.04, (n, len(und))), -0.5, 2.0)
    rates = rng.normal(0, 0.0007 * scale, n)
    stress = {"equities -20%, vols +100%, rates -1%": (-0.20, 1.0, -0.01),
              "equities -10%, vols +50%": (-0.10, 0.5, 0.0),
              "equities +10%, vols -25%": (0.10, -0.25, 0.0)}
    m = len(stress)
    s_ret = np.array([[v[0]] * len(und) for v in stress.values()]).reshape(m, len(und))
    s_vol = np.array([[v[1]] * len(und) for v in stress.values()]).reshape(m, len(und))
    base = ScenarioSet(und, ret, vol, rates, [f"mc{k:05d}" for k in range(n)], horizon_days,
                       "demo (one-factor Student-t)")
    return base + ScenarioSet(und, s_ret, s_vol, [v[2] for v in stress.values()], list(stress),
                              horizon_days, "stress")


def snapshot(market):
    """Portfolio margin's market snapshot when simulation margin's default rules value under
    the same American model (volatilities solved once per batch), else None."""
    own = RuleSet.load(SIM_RULES)
    if market is not None and (market.american_model, market.crr_steps) == (
            own.american_model, own.crr_steps):
        return market
    return None


def attach(run, scenarios, *, measure="es", confidence=0.99, n_threads=None, errors=None,
           revaluation=None, market=None, revalued=None):
    """Margin ``run.book`` over ``scenarios`` and join ``sim_*`` columns into ``run.accounts``
    (an account rejected by any method is rejected in the joined table). ``market``: the
    run's market snapshot (portfolio margin's), reused where the American model agrees;
    ``revalued``: the risk rows priced once (``simulation_margin``'s keyword)."""
    kw = {} if revaluation is None else {"revaluation": revaluation}
    sim = simulation_margin(run.book, scenarios, measure=measure, confidence=confidence,
                            n_threads=n_threads, errors=errors, rules=SIM_RULES,
                            market=snapshot(market),
                            revalued=revalued, **kw)
    cols = sim.accounts[["account", *SIM_COLUMNS]].rename(
        columns={c: f"sim_{c}" for c in SIM_COLUMNS})
    table = run.accounts.merge(cols, on="account", how="left", validate="one_to_one")
    errors_all = pd.concat([run.errors, sim.errors], ignore_index=True).drop_duplicates()
    bad = table["account"].isin(set(errors_all["account"])).to_numpy()
    table.loc[bad, [c for c in table.columns if table[c].dtype.kind == "f"]] = np.nan
    table.loc[bad, "sim_worst_scenario"] = None
    table["status"] = np.where(bad, "rejected", "ok").astype(object)
    run.accounts = table
    run.errors = errors_all
    run.sim = sim
    run.parameters.update(simulation=f"{measure} {confidence:g}, {sim.scenarios!r}")
    return run


def summary_line(run):
    """`simulation margin (es 0.99, 1003 scenarios): $...` for the run summary."""
    sim = getattr(run, "sim", None)
    if sim is None:
        return None
    return (f"simulation margin ({sim.measure} {sim.confidence:g}, "
            f"{sim.scenarios.n_scenarios:,} scenarios): "
            f"${np.nansum(run.accounts['sim_requirement']):,.0f}")

