"""The market snapshot of a run: every market input of every instrument, resolved once and
shared by every method.

``resolve_market(book, rules)`` reads the Book's marks, spots (the underlying's price, or the
future's price for an option on a future), dividend yields, times to expiry and the rate,
finds each option's volatility (given, implied from its mark under the rule set's model, the
underlying's fallback, or none needed when it expires today), and gives every instrument a
**status**:

* ``STATUS_OK``;
* ``STATUS_NO_VOLATILITY``: an option with no volatility from any source (it cannot be
  valued, so no method can margin an account holding it);
* ``STATUS_MARK_OUT_OF_BOUNDS``: an option whose mark lies outside the no-arbitrage range
  [zero-volatility value, upper bound] (a call above its spot, a put above its strike, a price
  below what the option is worth at zero volatility): bad data, not a price to book.

Every method honours the same status (:meth:`MarketSnapshot.rejections`): with
``errors="collect"`` the accounts holding a non-zero position in a bad instrument are rejected,
whichever methods run; with ``errors="raise"`` the first such position raises ``InputError``.
Instruments nobody holds (or holds flat) cost nothing.

The Reg T engine books options at :meth:`MarketSnapshot.marks`: the mark where there is one,
else the model value today under the rule set's model (the same value portfolio margin takes
as ``V_0``), so the two methods never value one option two ways.
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pmfast import pricing
from pmfast.errors import InputError
from pmfast.kinds import VALUATION_BLACK76, VALUATION_LINEAR, pricing_model
from pmfast.schema import format_ids
from pmfast.stages import stage

STATUS_OK, STATUS_NO_VOLATILITY, STATUS_MARK_OUT_OF_BOUNDS = 0, 1, 2
# (column, reason) of each bad status, as the errors tables write them
STATUS_REASONS = {
    STATUS_NO_VOLATILITY: ("implied_vol", "volatility cannot be implied from price and the "
                                          "underlying has no volatility"),
    STATUS_MARK_OUT_OF_BOUNDS: ("price", "mark outside the no-arbitrage range [zero-volatility "
                                         "value, upper bound]"),
}
ERROR_COLUMNS = ["account", "table", "column", "reason"]
# A mark may sit this far outside its bounds (per unit) before it is bad data: half a cent of
# quote rounding, plus a relative 1e-9 of the prices involved for floating-point noise.
MARK_TOLERANCE = 0.005
_RELATIVE_TOLERANCE = 1e-9
# Rates and yields within this of the Book's are tried before a mark is called impossible.
RATE_SLACK = 0.10


@dataclass
class MarketSnapshot:
    """Market inputs per instrument of one Book (arrays aligned with ``book.instruments``).

    ``spot`` is the underlying's price for options and shares and the future's price for an
    option on a future (the forward it is written on); ``linear_spot`` is the own price of
    shares and futures. ``valuation`` holds ``pmfast.kinds.VALUATION_*`` codes;
    ``american_model`` and ``crr_steps`` are the rule set's, used for every American option
    (implied vols, risk arrays, Reg T marks)."""
    as_of: object
    rate: float
    american_model: str
    crr_steps: int
    valuation: np.ndarray
    spot: np.ndarray
    linear_spot: np.ndarray
    dividend_yield: np.ndarray
    T: np.ndarray
    right: np.ndarray
    strike: np.ndarray
    multiplier: np.ndarray
    mark: np.ndarray            # the instrument's price (NaN: none given)
    vol: np.ndarray             # NaN for shares, futures and options with a bad status
    vol_source: np.ndarray      # "implied_vol" | "solved" | "underlying" | "expiring" | ""
    status: np.ndarray          # int8 STATUS_* per instrument
    inputs: dict = field(repr=False)   # the scenarios.instrument_inputs view (legacy callers)
    _marks: np.ndarray = field(default=None, repr=False)

    @property
    def bad(self):
        """bool per instrument: a status other than ``STATUS_OK``."""
        return self.status != STATUS_OK

    def held_bad(self, book, rejected_before=None):
        """(account codes, instrument codes) of the non-zero positions of accounts not
        already rejected whose instrument has a bad status (empty in the usual case)."""
        if not self.bad.any():
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pos = book.positions
        acct = np.asarray(pos.column("account_code").to_numpy(zero_copy_only=False))
        inst = np.asarray(pos.column("instrument_code").to_numpy(zero_copy_only=False))
        qty = np.asarray(pos.column("quantity").to_numpy(zero_copy_only=False))
        hit = self.bad[inst] & (qty != 0)
        if rejected_before is not None:
            hit &= ~rejected_before[acct]
        return acct[hit].astype(np.int64), inst[hit].astype(np.int64)

    def rejections(self, book, errors):
        """(rejected accounts: book.rejected plus the market's, errors table: the Book's plus
        one row per account and bad instrument held). ``errors="raise"`` raises InputError
        naming the instruments instead when any account holds one."""
        acct, inst = self.held_bad(book, book.rejected)
        ids = np.asarray(book.instruments.column("instrument").to_numpy(zero_copy_only=False),
                         dtype=object)
        if errors == "raise" and acct.size:
            texts = []
            for code, (column, reason) in STATUS_REASONS.items():
                which = np.unique(inst[self.status[inst] == code])
                if which.size:
                    texts.append(f"instruments.{column}: {reason} for instrument(s) "
                                 f"{format_ids(ids[which])}")
            raise InputError("; ".join(texts))
        # the default text dtype of this pandas, as the errors tables had before (a Series of
        # one string tells it; an empty list alone would be object)
        column = pd.Series([STATUS_REASONS[int(s)][0] for s in self.status[inst]],
                           dtype=pd.Series(["x"]).dtype)
        reason = [f"instruments.{c}: {STATUS_REASONS[int(s)][1]} (instrument "
                  f"{format_ids([i])})" for c, s, i in zip(column, self.status[inst], ids[inst])]
        frame = pd.DataFrame({"account": book.account_ids[acct], "table": "instruments",
                              "column": column, "reason": reason}).drop_duplicates()
        rejected = book.rejected.copy()
        rejected[acct] = True
        all_errors = pd.concat([book.errors, frame], ignore_index=True)[ERROR_COLUMNS]
        return rejected, all_errors

    def model_values(self, rows, n_threads=None):
        """Model value today (per unit) of the option ``rows``: the same pricing call per
        valuation code as the risk arrays' ``V_0``."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.full(rows.size, np.nan)
        for code in np.unique(self.valuation[rows]):
            sel = np.flatnonzero(self.valuation[rows] == code)
            r = rows[sel]
            style, model = pricing_model(int(code), self.american_model)
            q = self.dividend_yield[r] if code != VALUATION_BLACK76 else 0.0
            out[sel] = pricing.reprice_grid(
                self.right[r], self.spot[r], self.strike[r], self.T[r], self.rate, q,
                self.vol[r], [0.0], [0.0], style=style, model=model, steps=self.crr_steps,
                n_threads=n_threads)[:, 0]
        return out

    def marks(self, n_threads=None):
        """Price per unit every method books: the mark, else (options of good status) the
        model value today; NaN for options of a bad status (no method may use them)."""
        if self._marks is None:
            marks = self.mark.copy()
            unmarked = np.flatnonzero((self.valuation != VALUATION_LINEAR) & np.isnan(marks)
                                      & ~self.bad)
            if unmarked.size:
                marks[unmarked] = self.model_values(unmarked, n_threads)
            marks[self.bad] = np.nan
            self._marks = marks
        return self._marks


def mark_bounds(valuation, right, spot, strike, T, rate, q):
    """[lower, upper] no-arbitrage range per unit of each option: the zero-volatility value
    (discounted forward intrinsic) and the upper bound (a call is worth at most its spot, a
    put its strike, discounted).

    Both bounds are taken at the most lenient rate and yield within :data:`RATE_SLACK` of the
    Book's: marks come from a feed that discounts at its own rate (``pmfast.generate`` marks at
    4.5%, a run may value at 0%), and a deep in-the-money mark a few dollars under the forward
    intrinsic at the Book's rate is a rate mismatch, not an impossible price. The lower bound
    of an American option is the European one, not the immediate-exercise value: settlement
    marks of deep in-the-money American puts a few cents under intrinsic are common in real
    feeds (and in generated books). What remains flagged is data no rate explains: a call
    marked above its spot, a put above its strike, a deep in-the-money option marked near 0."""
    is_call = right > 0
    q = np.where(valuation == VALUATION_BLACK76, rate, q)   # black76: a spot with q = r
    s_low, s_high = spot * np.exp(-(q + RATE_SLACK) * T), spot * np.exp(-(q - RATE_SLACK) * T)
    k_low, k_high = strike * np.exp(-(rate + RATE_SLACK) * T), strike * np.exp(
        -(rate - RATE_SLACK) * T)
    lower = np.maximum(np.where(is_call, s_low - k_high, k_low - s_high), 0.0)
    upper = np.where(is_call, np.maximum(spot, s_high), np.maximum(strike, k_high))
    return lower, upper


def _marks_out_of_bounds(valuation, right, spot, strike, T, rate, q, mark):
    option = (valuation != VALUATION_LINEAR) & ~np.isnan(mark)
    out = np.zeros(valuation.size, dtype=bool)
    rows = np.flatnonzero(option)
    if rows.size:
        lower, upper = mark_bounds(valuation[rows], right[rows], spot[rows], strike[rows],
                                   T[rows], rate, q[rows])
        tol = MARK_TOLERANCE + _RELATIVE_TOLERANCE * (spot[rows] + strike[rows])
        m = mark[rows]
        out[rows] = (m < lower - tol) | (m > upper + tol)
    return out


def resolve_market(book, rules, n_threads=None):
    """The :class:`MarketSnapshot` of ``book`` under the rule set ``rules`` (a loaded
    ``RuleSet``: its ``american_model`` and ``crr_steps`` value every American option)."""
    from pmfast.scenarios import instrument_inputs, solve_volatility
    with stage("inputs"):
        inputs = instrument_inputs(book, rules)
        valuation = inputs["model"]
        out_of_bounds = _marks_out_of_bounds(valuation, inputs["right"], inputs["spot"],
                                             inputs["K"], inputs["T"], book.rate, inputs["q"],
                                             inputs["price"])
    with stage("iv_glue"):
        vol = solve_volatility(book, rules, inputs, n_threads=n_threads)
    status = np.full(valuation.size, STATUS_OK, dtype=np.int8)
    # an impossible mark is reported as such unless there is no volatility at all (the older,
    # more common message, and the one a user fixes first)
    status[out_of_bounds] = STATUS_MARK_OUT_OF_BOUNDS
    status[vol.bad] = STATUS_NO_VOLATILITY
    vol_values = np.where(status == STATUS_OK, vol.vol, np.nan)
    return MarketSnapshot(
        as_of=book.as_of, rate=book.rate, american_model=rules.american_model,
        crr_steps=rules.crr_steps, valuation=valuation, spot=inputs["spot"],
        linear_spot=inputs["linear_spot"], dividend_yield=inputs["q"], T=inputs["T"],
        right=inputs["right"], strike=inputs["K"], multiplier=inputs["multiplier"],
        mark=inputs["price"], vol=vol_values, vol_source=vol.source, status=status,
        inputs=inputs)


def volatility(market):
    """The ``scenarios.Volatility`` view of a snapshot (``bad``: any bad status)."""
    from pmfast.scenarios import Volatility
    return Volatility(market.vol, market.vol_source, market.bad)
