"""Straightforward twins of the simulation scenario builders (pmfast.simulation): one underlying
and one day at a time, with the math module, from the raw history rows. Test oracles only."""
import math


def price_series(rows, underlying):
    """``{date: price}`` of one underlying from ``(date, underlying, price)`` rows."""
    return {d: p for d, u, p in rows if u == underlying and p == p}


def forward_filled(rows, underlyings):
    """Dates (sorted) and, per underlying, its forward-filled price list (None before its first
    price)."""
    dates = sorted({d for d, _, _ in rows})
    out = {}
    for u in underlyings:
        series, last, filled = price_series(rows, u), None, []
        for d in dates:
            last = series.get(d, last)
            filled.append(last)
        out[u] = filled
    return dates, out


def ewma_rescaled_returns(prices, h, lam, seed_days=20):
    """Filtered historical h-day returns of one underlying's price list (no gaps)."""
    x = [math.log(prices[t + 1] / prices[t]) for t in range(len(prices) - 1)]
    seed = x[:seed_days]
    mean = sum(seed) / len(seed)
    var = sum((v - mean) ** 2 for v in seed) / (len(seed) - 1)
    sigmas = []
    for v in x:
        sigmas.append(math.sqrt(var))
        var = lam * var + (1 - lam) * v * v
    today = math.sqrt(var)
    scaled = [v * today / s if s > 0 else v for v, s in zip(x, sigmas)]
    out = []
    for t in range(len(x) - h + 1):
        total = 0.0
        for j in range(h):
            total += scaled[t + j]
        out.append(math.exp(total) - 1.0)
    return out


def ewma_covariance(x, lam):
    """Zero-mean EWMA covariance of the rows of ``x`` (oldest first), weights summing to 1."""
    n, f = len(x), len(x[0])
    w = [lam ** (n - 1 - t) for t in range(n)]
    total = sum(w)
    return [[sum(w[t] * x[t][i] * x[t][j] for t in range(n)) / total for j in range(f)]
            for i in range(f)]


def schafer_strimmer_delta(x, lam):
    """Shrinkage intensity toward the diagonal of the EWMA correlation of ``x``, pair by pair."""
    n, f = len(x), len(x[0])
    w = [lam ** (n - 1 - t) for t in range(n)]
    total = sum(w)
    w = [v / total for v in w]
    sd = [math.sqrt(sum(w[t] * x[t][i] ** 2 for t in range(n))) for i in range(f)]
    y = [[x[t][i] / sd[i] for i in range(f)] for t in range(n)]
    sw2 = sum(v * v for v in w)
    c = sw2 / (1 - sw2)
    num = den = 0.0
    for i in range(f):
        for j in range(f):
            if i == j:
                continue
            r = sum(w[t] * y[t][i] * y[t][j] for t in range(n))
            p2 = sum(w[t] * (y[t][i] * y[t][j]) ** 2 for t in range(n))
            num += c * (p2 - r * r)
            den += r * r
    return min(max(num / den, 0.0), 1.0)
