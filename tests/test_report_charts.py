"""The report's hand-drawn SVG charts: labels are literal text (a `$` in a class or product-group
name is not mathtext, issue 15), bars are drawn to scale, and the documents parse as XML."""
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from pmfast.report import charts

SVG = "{http://www.w3.org/2000/svg}"


def test_dollar_and_markup_in_names_are_literal_text():
    name = "SPX$ <B&W> $x^2$"
    svg = charts.scenario_pnl_panels([(name, [1.0, -2.0], ["$down", "up$"], 1)])
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg).iter(SVG + "text")]
    assert f"{name} (worst up$)" in texts
    assert "$down" in texts and "up$" in texts


def _bars(svg):
    root = ET.fromstring(svg)
    return [r for r in root.iter(SVG + "rect") if r.get("fill") in (charts.POSITIVE,
                                                                     charts.NEGATIVE)]


def test_bars_are_to_scale_and_coloured_by_sign():
    pnl = [300.0, -150.0, 0.0, 75.0, -600.0]
    bars = _bars(charts.scenario_pnl_panels([("g", pnl, list("abcde"), 4)]))
    heights = np.array([float(b.get("height")) for b in bars])
    # the zero bar is drawn 0.5 px high so it stays visible; the others are in proportion
    nonzero = np.array(pnl) != 0
    ratio = heights[nonzero] / np.abs(np.array(pnl)[nonzero])
    np.testing.assert_allclose(ratio, ratio[0], rtol=2e-3)   # one decimal of a pixel
    assert [b.get("fill") for b in bars] == [charts.POSITIVE, charts.NEGATIVE, charts.POSITIVE,
                                            charts.POSITIVE, charts.NEGATIVE]


def test_histogram_counts_every_finite_ratio():
    rng = np.random.default_rng(1)
    ratio = np.concatenate([rng.uniform(0, 1.4, 997), [np.nan, np.inf, -np.inf]])
    bars = [r for r in ET.fromstring(charts.ratio_histogram(ratio)).iter(SVG + "rect")
            if r.get("fill") == charts.NEUTRAL]
    heights = np.array([float(b.get("height")) for b in bars])
    counts, _ = np.histogram(ratio[np.isfinite(ratio)], bins=60, range=(0, 1.5))
    np.testing.assert_allclose(heights / heights.max(), counts[counts > 0] / counts.max(),
                               atol=1e-3)
    assert ET.fromstring(charts.ratio_histogram([])).tag == SVG + "svg"   # no accounts


@pytest.mark.parametrize("lo,hi", [(0, 1), (-3.2e7, 1.9e7), (-0.013, 0.0), (0, 15123), (5, 5),
                                   (-1e-9, 2e-9)])
def test_nice_ticks_cover_the_range_with_round_steps(lo, hi):
    ticks = charts.nice_ticks(lo, hi, 5)
    assert ticks[0] <= lo and ticks[-1] >= min(hi, lo + 1 if hi <= lo else hi)
    steps = np.diff(ticks)
    np.testing.assert_allclose(steps, steps[0], rtol=1e-9)
    mantissa = steps[0] / 10 ** np.floor(np.log10(steps[0]))
    assert any(abs(mantissa - m) < 1e-9 for m in (1, 2, 5, 10))
    assert 2 <= len(ticks) <= 12
    if hi - lo >= 1e-3:   # labels of money amounts are plain numbers
        assert not re.search(r"e[+-]", charts._label(ticks[-1]))
