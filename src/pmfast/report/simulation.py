"""Simulation margin in the HTML report: per charted account, the distribution of its scenario
losses with VaR and ES marked, and the underlyings contributing most to its ES."""
import html

import matplotlib.pyplot as plt
import numpy as np

from pmfast.report.charts import _to_svg

TOP_CONTRIBUTIONS = 8


def loss_distribution(losses, var, es, title):
    """Histogram of an account's scenario losses (loss = -P&L), VaR and ES as vertical lines."""
    fig, ax = plt.subplots(figsize=(7, 2.8), layout="constrained")
    losses = np.asarray(losses, dtype=float)
    ax.hist(losses, bins=min(80, max(10, len(losses) // 10)), color="#3465a4")
    ax.axvline(var, color="#f57900", linewidth=1.2, label=f"VaR {var:,.0f}")
    ax.axvline(es, color="#cc0000", linewidth=1.2, label=f"ES {es:,.0f}")
    ax.set_xlabel("loss over the horizon ($)")
    ax.set_ylabel("scenarios")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return _to_svg(fig)


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
