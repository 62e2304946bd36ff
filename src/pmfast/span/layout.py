"""SpanParams flattened into the integer-indexed arrays the C++ core and the numpy twin share.

Indices are global: a *month* is one (combined commodity, period) pair, a *scan group* one
(combined commodity, scanning tier), an *intra tier* / *inter tier* one (combined commodity, tier).
Spreads are flattened as CSR: ``*_leg_start[s]:*_leg_start[s+1]`` are the legs of spread ``s``.
Only numbers cross into C++; every rule stays data from the file.
"""
from dataclasses import dataclass

import numpy as np

from pmfast.errors import InputError
from pmfast.span.params import Tier


@dataclass
class Layout:
    n_ccs: int
    ra: np.ndarray            # (C, 16) float64
    delta: np.ndarray         # (C,) composite delta x delta scaling factor
    c_group: np.ndarray       # (C,) int32 scan group
    c_month: np.ndarray       # (C,) int32 month
    c_cc: np.ndarray          # (C,) int32
    som_rate: np.ndarray      # (C,) short option minimum per short option (0 for non-options)
    value: np.ndarray         # (C,) premium-style option value per contract (price x cvf), else 0
    g_cc: np.ndarray          # (G,) int32
    m_cc: np.ndarray          # (M,) int32
    m_intra: np.ndarray       # (M,) int32 intra tier, -1 = none (stays outright)
    m_inter: np.ndarray       # (M,) int32 inter tier, -1 = none
    m_spot_spread: np.ndarray  # (M,) delivery charge per delta consumed by intra spreads
    m_spot_outright: np.ndarray  # (M,) delivery charge per delta left outright
    t_cc: np.ndarray          # (T,) int32 intra tier -> cc
    is_cc: np.ndarray         # (S,) int32 intra spread -> cc (spreads grouped by cc, priority order)
    is_rate: np.ndarray       # (S,)
    is_leg_start: np.ndarray  # (S+1,) int32
    il_tier: np.ndarray       # intra legs: global intra tier
    il_side: np.ndarray       # +1 side A, -1 side B
    il_ratio: np.ndarray
    x_rate: np.ndarray        # inter spreads in priority order: credit fraction
    x_leg_start: np.ndarray
    xl_tier: np.ndarray       # inter legs: global inter tier
    xl_side: np.ndarray
    xl_ratio: np.ndarray
    it_cc: np.ndarray         # (I,) inter tier -> cc
    cc_fx: np.ndarray         # (K,) CC currency -> base currency
    cc_maint: np.ndarray      # (K,) maintenance ratio
    cc_cap_anov: np.ndarray   # (K,) uint8
    paired: np.ndarray        # (16,) int32, 0-based


def _first_covering(tiers, period):
    for k, t in enumerate(tiers):
        if t.covers(period):
            return k
    return -1


def intra_tiers_of(cc):
    """The intra tiers of ``cc`` and the key of each (for the spreads' legs). With period legs
    (XML ``pLeg``) each period a leg names is its own tier (months matched by prefix), so the
    spread walk treats month legs exactly like tier legs."""
    periods = [leg.period for sp in cc.intra_spreads for leg in sp.legs if leg.period]
    if not periods:
        return cc.intra_tiers, [(cc.code, t.tn) for t in cc.intra_tiers]
    if any(leg.period is None for sp in cc.intra_spreads for leg in sp.legs):
        raise InputError(f"span: combined commodity {cc.code} mixes tier legs and period legs "
                         "in its intra spreads: not supported")
    distinct = list(dict.fromkeys(periods))
    return ([Tier(i, p, p) for i, p in enumerate(distinct)],
            [(cc.code, ("period", p)) for p in distinct])


def _leg_key(leg):
    return (leg.cc, ("period", leg.period) if leg.period else leg.tier)


def _csr(spreads, tier_index, what):
    rate, start, tier, side, ratio = [], [0], [], [], []
    for sp in spreads:
        rate.append(sp.rate)
        for leg in sp.legs:
            key = _leg_key(leg)
            if key not in tier_index:
                raise InputError(f"span: {what} spread {sp.priority} names tier {key[1]} of "
                                 f"{leg.cc}, which the file does not define")
            tier.append(tier_index[key])
            side.append(1 if leg.side == "A" else -1)
            ratio.append(leg.ratio)
        start.append(len(tier))
    return (np.asarray(rate, np.float64), np.asarray(start, np.int32),
            np.asarray(tier, np.int32), np.asarray(side, np.int32), np.asarray(ratio, np.float64))


def build_layout(params):
    """Flatten ``params`` (cached on it: a file is flattened once however often it is used)."""
    cached = getattr(params, "_layout", None)
    if cached is not None:
        return cached
    c = params.contracts
    n_ccs = len(params.ccs)
    cc_arr = c["cc"].to_numpy(np.int32)
    periods = c["period"].to_numpy(object)
    is_option = (c["kind"] == "option").to_numpy()
    # months: (cc, period), numbered in cc then period order
    month_keys = sorted(set(zip(cc_arr.tolist(), periods.tolist())))
    month_id = {k: i for i, k in enumerate(month_keys)}
    c_month = np.fromiter((month_id[k] for k in zip(cc_arr.tolist(), periods.tolist())),
                          np.int32, len(c))
    intra_index, inter_index, t_cc, it_cc = {}, {}, [], []
    group_index, g_cc = {}, []
    intra_tiers = [intra_tiers_of(cc) for cc in params.ccs]
    for k, cc in enumerate(params.ccs):
        for key in intra_tiers[k][1]:
            intra_index[key] = len(t_cc)
            t_cc.append(k)
        for t in cc.inter_tiers:
            inter_index[(cc.code, t.tn)] = len(it_cc)
            it_cc.append(k)
        uncovered = any(_first_covering(cc.scan_tiers, pe) < 0 for kk, pe in
                        zip(cc_arr.tolist(), periods.tolist()) if kk == k)
        # one scan group per scanning tier, + a catch-all when some period falls in no tier
        for j in range(len(cc.scan_tiers) + (1 if uncovered else 0)):
            group_index[(k, j)] = len(g_cc)
            g_cc.append(k)
    m_cc = np.array([k for k, _ in month_keys], np.int32)
    m_intra, m_inter = np.full(len(month_keys), -1, np.int32), np.full(len(month_keys), -1,
                                                                        np.int32)
    m_sp, m_out = np.zeros(len(month_keys)), np.zeros(len(month_keys))
    for i, (k, pe) in enumerate(month_keys):
        cc = params.ccs[k]
        tiers, keys = intra_tiers[k]
        j = _first_covering(tiers, pe)
        if j >= 0:
            m_intra[i] = intra_index[keys[j]]
        j = _first_covering(cc.inter_tiers, pe)
        if j >= 0:
            m_inter[i] = inter_index[(cc.code, cc.inter_tiers[j].tn)]
        for s in cc.spot_rates:
            if s.period == pe[:len(s.period)]:
                m_sp[i], m_out[i] = s.spread_rate, s.outright_rate
                break
    c_group = np.empty(len(c), np.int32)
    som_rate = np.zeros(len(c))
    for i, (k, pe) in enumerate(zip(cc_arr.tolist(), periods.tolist())):
        cc = params.ccs[k]
        j = _first_covering(cc.scan_tiers, pe)
        c_group[i] = group_index[(k, j if j >= 0 else len(cc.scan_tiers))]
        if is_option[i]:
            j = _first_covering(cc.som_tiers, pe)
            som_rate[i] = cc.som_tiers[j].rate if j >= 0 else 0.0
    value = np.where(c["premium_style"].to_numpy(bool),
                     c["price"].to_numpy(np.float64) * c["cvf"].to_numpy(np.float64), 0.0)
    intra = [(k, sp) for k, cc in enumerate(params.ccs) for sp in cc.intra_spreads]
    is_rate, is_start, il_tier, il_side, il_ratio = _csr([sp for _, sp in intra], intra_index,
                                                         "intra-commodity")
    x_rate, x_start, xl_tier, xl_side, xl_ratio = _csr(params.inter_spreads, inter_index,
                                                       "inter-commodity")
    layout = Layout(
        n_ccs=n_ccs, ra=np.ascontiguousarray(params.risk_arrays, np.float64),
        delta=c["delta"].to_numpy(np.float64), c_group=c_group, c_month=c_month, c_cc=cc_arr,
        som_rate=som_rate, value=value, g_cc=np.asarray(g_cc, np.int32), m_cc=m_cc,
        m_intra=m_intra, m_inter=m_inter, m_spot_spread=m_sp, m_spot_outright=m_out,
        t_cc=np.asarray(t_cc, np.int32), is_cc=np.asarray([k for k, _ in intra], np.int32),
        is_rate=is_rate, is_leg_start=is_start, il_tier=il_tier, il_side=il_side,
        il_ratio=il_ratio, x_rate=x_rate, x_leg_start=x_start, xl_tier=xl_tier,
        xl_side=xl_side, xl_ratio=xl_ratio, it_cc=np.asarray(it_cc, np.int32),
        cc_fx=np.array([params.fx_to_base(cc.currency) for cc in params.ccs]),
        cc_maint=np.array([cc.maintenance_ratio for cc in params.ccs]),
        cc_cap_anov=np.array([cc.cap_anov for cc in params.ccs], np.uint8),
        paired=np.asarray(params.paired, np.int32))
    params._layout = layout
    return layout
