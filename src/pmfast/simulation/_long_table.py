"""A minimal reader of the long scenario table (``scenario, underlying, return[, vol_shift]``)
for ``simulation_margin(book, table, horizon_days=...)`` when ``pmfast.simulation.given`` is not
available. ``given`` (the scenario constructors) is the full reader and takes precedence."""
import numpy as np
import pyarrow.compute as pc

from pmfast.errors import InputError
from pmfast.io import to_arrow
from pmfast.scenario_set import ScenarioSet
from pmfast.schema import format_ids


def read_given(table, horizon_days, rates=None):
    """ScenarioSet from a long table (every scenario must list every underlying)."""
    t = to_arrow(table, "scenarios")
    for col in ("scenario", "underlying", "return"):
        if col not in t.column_names:
            raise InputError(f"scenarios: missing column {col!r}")
    scen = np.asarray(pc.cast(t.column("scenario"), "string").to_numpy(zero_copy_only=False))
    und = np.asarray(pc.cast(t.column("underlying"), "string").to_numpy(zero_copy_only=False))
    labels, k = np.unique(scen, return_inverse=True)
    names, u = np.unique(und, return_inverse=True)
    # scenarios in order of first appearance
    first = np.full(len(labels), len(scen))
    np.minimum.at(first, k, np.arange(len(scen)))
    rank = np.empty(len(labels), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(labels))
    k = rank[k]
    labels = labels[np.argsort(first, kind="stable")]
    count = np.zeros((len(labels), len(names)), dtype=np.int64)
    np.add.at(count, (k, u), 1)
    if (count > 1).any():
        i, j = np.nonzero(count > 1)
        raise InputError(f"scenarios: duplicated (scenario, underlying) "
                         f"{format_ids([f'{labels[a]}/{names[b]}' for a, b in zip(i, j)])}")
    if (count == 0).any():
        i, j = np.nonzero(count == 0)
        raise InputError(f"scenarios.underlying: {format_ids(names[np.unique(j)])} missing from "
                         f"scenario(s) {format_ids(labels[np.unique(i)])}")

    def matrix(col):
        out = np.zeros((len(labels), len(names)))
        out[k, u] = np.asarray(t.column(col).to_numpy(zero_copy_only=False), dtype=np.float64)
        return out
    vol = matrix("vol_shift") if "vol_shift" in t.column_names else None
    rate_shifts = None
    if rates is not None:
        r = to_arrow(rates, "rates")
        where = {s: i for i, s in enumerate(labels)}
        rs = np.asarray(pc.cast(r.column("scenario"), "string").to_numpy(zero_copy_only=False))
        rate_shifts = np.zeros(len(labels))
        vals = np.asarray(r.column("rate_shift").to_numpy(zero_copy_only=False), dtype=float)
        for s, v in zip(rs, vals):
            if s not in where:
                raise InputError(f"rates.scenario: unknown scenario {format_ids([s])}")
            rate_shifts[where[s]] = v
    return ScenarioSet(names, matrix("return"), vol, rate_shifts, labels, horizon_days, "given")
