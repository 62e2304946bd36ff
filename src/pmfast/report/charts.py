"""matplotlib (Agg) charts rendered to inline SVG strings."""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "font.size": 9})


def _to_svg(fig):
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prolog so it can sit inside HTML


def ratio_histogram(ratio):
    """Distribution of portfolio margin / Reg T initial across accounts."""
    fig, ax = plt.subplots(figsize=(7, 3))
    ratio = np.asarray(ratio, dtype=float)
    ratio = ratio[np.isfinite(ratio)]
    if len(ratio):
        upper = max(1.5, float(np.quantile(ratio, 0.99)))
        ax.hist(np.clip(ratio, 0, upper), bins=60, color="#3465a4")
        ax.axvline(1.0, color="#cc0000", linewidth=1, label="PM = Reg T")
        ax.legend()
    ax.set_xlabel("portfolio margin / Reg T initial")
    ax.set_ylabel("accounts")
    ax.set_title("Portfolio margin relative to Reg T, per account")
    return _to_svg(fig)


def scenario_pnl(pnl, labels, worst_index, title):
    """P&L by scenario for one group, the scenario that set the requirement marked."""
    fig, ax = plt.subplots(figsize=(5.5, 2.6))
    x = np.arange(len(pnl))
    colors = ["#cc0000" if v < 0 else "#4e9a06" for v in pnl]
    ax.bar(x, pnl, color=colors)
    if worst_index is not None and 0 <= worst_index < len(pnl):
        ax.plot([worst_index], [pnl[worst_index]], marker="v", color="black", markersize=9,
                linestyle="none", label=f"worst: {labels[worst_index]}")
        ax.legend(loc="best")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("P&L ($)")
    ax.set_title(title)
    return _to_svg(fig)
