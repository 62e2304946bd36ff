"""Simulation margin in the HTML report: per charted account, the distribution of its scenario
losses with VaR and ES marked, and the underlyings contributing most to its ES."""
import html

import numpy as np

from pmfast.report.charts import (MARK, _Frame, _label, _svg, _text, nice_ticks)

TOP_CONTRIBUTIONS = 8
VAR_COLOUR = "#f57900"


def loss_distribution(losses, var, es, title):
    """Histogram of an account's scenario losses (loss = -P&L) with VaR and ES marked, as inline
    SVG drawn like the report's other charts (pmfast.report.charts)."""
    width, height = 680, 260
    losses = np.asarray(losses, dtype=float)
    lo, hi = float(min(losses.min(), var, es)), float(max(losses.max(), var, es))
    if hi <= lo:
        hi = lo + 1.0
    counts, edges = np.histogram(losses, bins=min(80, max(10, len(losses) // 10)),
                                 range=(lo, hi))
    frame = _Frame(60, 30, width - 80, height - 75, (lo, hi),
                   nice_ticks(0, max(int(counts.max()), 1)))
    parts = [_text(width / 2, 18, title, 11)] + frame.axes("scenarios")
    parts += frame.bars(counts, edges)
    base = frame.y(0)
    for v in nice_ticks(lo, hi, 6):
        if lo <= v <= hi:
            parts.append(_text(frame.x(v), base + 13, _label(v), 8))
    for value, name, colour, dy in ((var, "VaR", VAR_COLOUR, 12), (es, "ES", MARK, 26)):
        x = frame.x(value)
        parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{frame.top}' y2='{base}' "
                     f"stroke='{colour}' stroke-width='1.2'/>")
        parts.append(_text(x + 4, frame.top + dy, f"{name} {value:,.0f}", 9, "start",
                           f"fill='{colour}'"))
    parts.append(_text(frame.left + frame.width / 2, height - 8,
                       "loss over the horizon ($)", 9))
    return _svg(width, height, parts, title)


def account_section(sim, account):
    """HTML for one account: its simulation figures, loss distribution and top contributions."""
    acc = sim.accounts.set_index("account").loc[account]
    if acc["status"] != "ok":
        return "<h4>Simulation margin</h4><p class='muted'>rejected</p>"
    losses = -sim.pnl([account])[account].to_numpy()
    title = (f"{sim.scenarios.n_scenarios:,} scenarios, {sim.confidence:g} confidence, "
             f"horizon {sim.scenarios.horizon_days:g} days")
    parts = ["<h4>Simulation margin</h4>",
             f"<p>requirement ${acc['requirement']:,.2f} ({sim.measure}) · ES "
             f"${acc['es']:,.2f} · VaR ${acc['var']:,.2f} · worst loss ${acc['worst_loss']:,.2f}"
             f" in {html.escape(str(acc['worst_scenario']))}</p>",
             loss_distribution(losses, acc["var"], acc["es"], title)]
    comp = sim.components[sim.components["account"] == account]
    top = comp.reindex(comp["contribution"].abs().sort_values(ascending=False).index)
    top = top.head(TOP_CONTRIBUTIONS)
    rows = "".join(f"<tr><td>{html.escape(str(r.underlying))}</td>"
                   f"<td>{r.contribution:,.2f}</td></tr>" for r in top.itertuples())
    parts.append("<p>Largest contributions to ES (Euler: they sum to the ES; negative ones "
                 "are hedges)</p><table><tr><th>underlying</th><th>contribution ($)</th></tr>"
                 f"{rows}</table>")
    return "\n".join(parts)
