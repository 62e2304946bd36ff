"""matplotlib (Agg) charts rendered to inline SVG strings."""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "font.size": 9})


def _to_svg(fig):
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prolog so it can sit inside HTML


def ratio_histogram(ratio):
    """Distribution of portfolio margin / Reg T initial across accounts."""
    fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
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


def scenario_pnl_panels(panels, columns=3):
    """P&L by scenario for several groups of one account, one small panel each, the scenario
    that set each group's risk marked. ``panels`` is a list of (title, pnl, labels, worst)."""
    rows = -(-len(panels) // columns)
    width = min(columns, len(panels))
    fig, axes = plt.subplots(rows, width, figsize=(3.6 * width, 2.5 * rows), squeeze=False,
                             layout="constrained")
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    for ax, (title, pnl, labels, worst) in zip(axes.ravel(), panels):
        x = np.arange(len(pnl))
        ax.bar(x, pnl, color=np.where(np.asarray(pnl) < 0, "#cc0000", "#4e9a06"))
        if worst is not None:
            ax.plot([worst], [pnl[worst]], marker="v", color="black", markersize=8,
                    linestyle="none")
            title = f"{title} (worst {labels[worst]})"
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=6)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(title, fontsize=8)
    axes[0, 0].set_ylabel("P&L ($)")
    return _to_svg(fig)
