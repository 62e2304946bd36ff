"""``span_margin``: SPAN requirement of every account of a positions table in one call."""
import importlib.resources
import os
import pathlib

import numpy as np
import pandas as pd
import pyarrow as pa

from pmfast._threads import resolve_n_threads
from pmfast.errors import InputError
from pmfast.span.layout import build_layout
from pmfast.span.params import SpanParams
from pmfast.span.positions import map_positions, contract_label

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ERROR_MODES = ("raise", "collect")
_RULE_KEYS = {"round_scan": bool}
ACCOUNT_COLUMNS = ("account", "scan_risk", "intra_charge", "spot_charge", "inter_credit", "som",
                   "risk", "net_option_value", "requirement", "maintenance", "currency",
                   "status")
_ROW_TO_COLUMN = {"scan": "scan_risk", "intra": "intra_charge", "spot": "spot_charge",
                  "inter": "inter_credit", "som": "som", "risk": "risk",
                  "nov": "net_option_value", "maint": "maintenance"}


def span_rules(rules=None):
    """The SPAN rule flags: ``None`` (the shipped ``span.toml``), a path to a TOML file, or a
    mapping. Returns a dict; unknown keys and wrong types are InputErrors naming the key."""
    if rules is None:
        text = importlib.resources.files("pmfast").joinpath("rules/span.toml").read_text()
        data = tomllib.loads(text)
    elif isinstance(rules, (str, os.PathLike)):
        try:
            data = tomllib.loads(pathlib.Path(rules).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"span rules: cannot read {str(rules)!r}: {exc}") from None
    elif isinstance(rules, dict):
        data = dict(rules)
    else:
        raise InputError(f"span rules: expected None, a TOML path or a dict; got "
                         f"{type(rules).__name__}")
    for key, value in data.items():
        if key not in _RULE_KEYS:
            raise InputError(f"span rules: {key}: unknown key (expected one of "
                             f"{', '.join(_RULE_KEYS)})")
        if not isinstance(value, _RULE_KEYS[key]):
            raise InputError(f"span rules: {key}: must be {_RULE_KEYS[key].__name__}, got "
                             f"{value!r}")
    return {"round_scan": False, **data}


# The dtype pandas gives a column of Python strings (pandas 3: the Arrow-backed ``str``).
_TEXT_DTYPE = pd.Series(["x"]).dtype
_ARROW_TEXT = isinstance(_TEXT_DTYPE, pd.StringDtype) and _TEXT_DTYPE.storage == "pyarrow"


def _text(arrow, objects):
    """A text column in the dtype pandas would give ``objects`` (a numpy object array of the
    same strings as the Arrow array ``arrow``): built straight from Arrow where pandas stores
    text in Arrow (no per-string Python objects: ~5 ms per 100k strings saved), else from the
    objects. The two are equal, dtype included (tested by the result tables' equality)."""
    if _ARROW_TEXT and arrow is not None:
        return pd.array(arrow, dtype=_TEXT_DTYPE)
    return objects


def _repeat_text(value, n):
    """``value`` n times as a text column (see ``_text``)."""
    if not isinstance(value, str):
        return np.full(n, value, dtype=object)
    arrow = pa.DictionaryArray.from_arrays(np.zeros(n, np.int8), pa.array([value]))
    return _text(arrow.cast(pa.string()), np.full(n, value, dtype=object))


class SpanResult:
    """Result of ``span_margin``.

    Attributes
    ----------
    accounts : pandas.DataFrame
        One row per account of the positions (sorted): ``account, scan_risk, intra_charge,
        spot_charge, inter_credit, som, risk, net_option_value, requirement, maintenance,
        currency, status``. Rejected accounts (``errors="collect"``) have NaN amounts.
    combined : pandas.DataFrame
        One row per (account, combined commodity held): the same columns with ``cc`` and
        ``worst_scenario`` (1-based scenario of the largest loss).
    errors : pandas.DataFrame
        ``account, table, column, reason`` of every rejected row (empty when all are valid).
    """

    def __init__(self, params, mapped, rows, rejected, errors):
        self.params = params
        self._mapped = mapped
        self._rows = rows
        self._rejected = rejected
        self.errors = errors
        self._accounts = None
        self._combined = None

    @property
    def accounts(self):
        """One row per account (sorted), amounts summed over its combined commodities."""
        if self._accounts is None:
            ids = self._mapped.account_ids
            n = len(ids)
            out = {"account": _text(self._mapped.account_array, ids)}
            a = self._rows["account"]
            for key, col in _ROW_TO_COLUMN.items():
                out[col] = np.bincount(a, weights=self._rows[key], minlength=n)
            out["requirement"] = out["risk"] - out["net_option_value"]
            out["currency"] = _repeat_text(self.params.base_currency, n)
            out["status"] = _text(pa.DictionaryArray.from_arrays(
                self._rejected.astype(np.int8), pa.array(["ok", "rejected"])).cast(pa.string()),
                np.where(self._rejected, "rejected", "ok").astype(object))
            frame = pd.DataFrame({c: out[c] for c in ACCOUNT_COLUMNS})
            if self._rejected.any():
                numeric = [c for c in frame.columns if frame[c].dtype.kind == "f"]
                frame.loc[self._rejected, numeric] = np.nan
            self._accounts = frame
        return self._accounts

    @property
    def combined(self):
        """One row per (account, combined commodity held), in the base currency."""
        if self._combined is None:
            r = self._rows
            codes = [cc.code for cc in self.params.ccs]
            m, n = self._mapped, len(r["account"])
            account = (None if m.account_array is None else
                       m.account_array.take(pa.array(r["account"])))
            frame = pd.DataFrame({
                "account": _text(account, m.account_ids[r["account"]]),
                "cc": _text(pa.array(codes, pa.string()).take(pa.array(r["cc"])),
                            np.array(codes, dtype=object)[r["cc"]])})
            for key, col in _ROW_TO_COLUMN.items():
                frame[col] = r[key]
            frame["requirement"] = frame["risk"] - frame["net_option_value"]
            frame["currency"] = _repeat_text(self.params.base_currency, n)
            frame["status"] = _repeat_text("ok", n)
            frame["worst_scenario"] = r["worst"].astype(np.int64)
            self._combined = frame[["account", "cc", *[c for c in ACCOUNT_COLUMNS[1:]],
                                    "worst_scenario"]]
        return self._combined

    def scenario_losses(self, account):
        """16-scenario loss vector per combined commodity of one account (base currency):
        a DataFrame indexed by cc with columns 1..16 (losses positive)."""
        m = self._mapped
        hit = np.flatnonzero(m.account_ids == account)
        if len(hit) == 0:
            raise InputError(f"span result: unknown account {account!r}")
        sel = (m.acct == hit[0]) & (m.contract >= 0)
        c = m.contract[sel]
        q = m.quantity[sel]
        order = np.argsort(c, kind="stable")
        c, q = c[order], q[order]
        lay = build_layout(self.params)
        cc = lay.c_cc[c]
        out = {}
        for k in np.unique(cc):
            rows = cc == k
            out[self.params.ccs[k].code] = (q[rows, None] * lay.ra[c[rows]]).sum(axis=0) * \
                lay.cc_fx[k]
        return pd.DataFrame.from_dict(out, orient="index", columns=range(1, 17))

    def __repr__(self):
        ok = int((~self._rejected).sum())
        return (f"SpanResult({len(self._rejected)} accounts, {ok} ok, "
                f"{len(self._rows['account'])} combined-commodity rows, "
                f"{self.params.base_currency})")


def span_margin(positions, params, *, rules=None, round_scan=None, errors="raise",
                n_threads=None, engine="core"):
    """SPAN margin of every account of ``positions`` on an exchange's risk parameters.

    Parameters
    ----------
    positions : table or path
        Columns ``account, product, kind (future|option|physical), period, quantity`` and, for
        options, ``strike, right``; optional ``exchange``. Contracts are named as in the file.
    params : SpanParams or path
        A loaded file (``pmfast.span.load``) or a path to one.
    rules : None, path or dict
        SPAN rule flags (``round_scan``); default the shipped ``rules/span.toml``.
    round_scan : bool, optional
        Overrides the rule set's ``round_scan``.
    errors : {"raise", "collect"}
        ``"collect"`` rejects only the accounts holding a bad row; they appear with status
        ``rejected`` and their reasons in ``result.errors``.
    n_threads : int, optional
        Threads of the core (default: the effective CPU count). Results do not depend on it.
    engine : {"core", "twin"}
        ``"twin"`` runs the numpy twin (the test oracle; slow).

    Returns
    -------
    SpanResult
        ``.accounts`` and ``.combined`` (see ``SpanResult``).

    Raises
    ------
    pmfast.InputError
        Unknown product, period, strike or right, a contract held twice by one account, a
        non-finite quantity (naming the account and the contract), bad rules or arguments.
    """
    if errors not in ERROR_MODES:
        raise InputError(f"errors must be 'raise' or 'collect'; got {errors!r}")
    if engine not in ("core", "twin"):
        raise InputError(f"engine must be 'core' or 'twin'; got {engine!r}")
    if not isinstance(params, SpanParams):
        from pmfast.span import load
        params = load(params)
    flags = span_rules(rules)
    if round_scan is not None:
        flags["round_scan"] = bool(round_scan)
    nt = resolve_n_threads(n_threads)
    mapped = map_positions(positions, params)
    n_acc = len(mapped.account_ids)
    rejected = np.zeros(n_acc, bool)
    problems = list(mapped.problems)
    if problems and errors == "raise":
        raise InputError(f"positions: {problems[0][2]}" + (
            f" (and {len(problems) - 1} more bad rows)" if len(problems) > 1 else ""))
    keep = mapped.contract >= 0
    if problems:
        bad_acct = np.unique(mapped.acct[~keep | ~np.isfinite(mapped.quantity)])
        rejected[bad_acct] = True
        keep &= ~rejected[mapped.acct]
    layout = build_layout(params)
    if keep.all():       # the usual case: no copies
        a, c, q = mapped.acct, mapped.contract, mapped.quantity
    else:
        a, c, q = mapped.acct[keep], mapped.contract[keep], mapped.quantity[keep]
    if engine == "core":
        from pmfast import _core
        rows = _core.span_margin_core(layout, a, c, q, n_acc, flags["round_scan"], nt)
    else:
        from pmfast._reference.span import span_twin
        rows = span_twin(layout, a, c, q, n_acc, flags["round_scan"])
    dup = rows.pop("dup")
    if (dup >= 0).any():
        # the first row of each account's duplicated contract (one pass, whatever the count)
        hit = dup[mapped.acct] == mapped.contract
        hit &= dup[mapped.acct] >= 0
        first = np.flatnonzero(hit)
        _, at = np.unique(mapped.acct[first], return_index=True)
        new = []
        for row in first[at].tolist():
            acc = mapped.account_ids[mapped.acct[row]]
            new.append((acc, "product", f"account {acc}: {contract_label(mapped.table, row)}: "
                                        "the contract is held in more than one row "
                                        "(duplicated row)"))
        rejected[dup >= 0] = True
        if errors == "raise":
            raise InputError(f"positions: {new[0][2]}" + (
                f" (and {len(new) - 1} more accounts)" if len(new) > 1 else ""))
        problems += new
    err = pd.DataFrame([(acc, "positions", col, why) for acc, col, why in problems],
                       columns=["account", "table", "column", "reason"])
    return SpanResult(params, mapped, rows, rejected, err)
