"""Self-contained HTML report of a SPAN run: totals, the breakdown per combined commodity, and
for the accounts with the largest requirements the charges and the 16-scenario loss vector of
each combined commodity they hold."""
import datetime
import html
import pathlib

import numpy as np
import pandas as pd

from pmfast.report.html import STYLE, _table

TOP_ACCOUNTS = 10
CHARTED_CCS = 6
MONEY = ("scan_risk", "intra_charge", "spot_charge", "inter_credit", "som", "risk",
         "net_option_value", "requirement", "maintenance", "variation_margin")


def _loss_svg(title, loss, width=250, height=120):
    """A 16-bar inline SVG of one combined commodity's loss per scenario (losses up, the worst
    in red). Hand-written rather than matplotlib: a report charts dozens of these, each in
    microseconds."""
    top = max(float(np.max(np.abs(loss))), 1e-12)
    pad, bar = 18, (width - 20) / len(loss)
    mid = pad + (height - 2 * pad) / 2
    scale = (height - 2 * pad) / 2 / top
    worst = int(np.argmax(loss)) if loss.max() > 0 else -1
    bars = []
    for j, v in enumerate(loss):
        h = abs(v) * scale
        y = mid - h if v > 0 else mid
        color = "#cc0000" if j == worst else ("#3465a4" if v > 0 else "#8ab0d8")
        bars.append(f"<rect x='{10 + j * bar:.1f}' y='{y:.1f}' width='{bar * 0.8:.1f}' "
                    f"height='{max(h, 0.5):.1f}' fill='{color}'><title>scenario {j + 1}: "
                    f"{v:,.2f}</title></rect>")
    label = f"worst {worst + 1}: {loss[worst]:,.2f}" if worst >= 0 else "no loss"
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'>"
            f"<text x='10' y='12' font-size='11'>{html.escape(str(title))} · {label}</text>"
            f"<line x1='8' x2='{width - 8}' y1='{mid}' y2='{mid}' stroke='#999'/>"
            f"{''.join(bars)}<text x='10' y='{height - 3}' font-size='9' fill='#777'>"
            f"scenarios 1-16 (loss up)</text></svg>")


def _loss_panels(result, account, comb):
    losses = result.scenario_losses(account)
    shown = comb.sort_values("risk", ascending=False)["cc"].tolist()[:CHARTED_CCS]
    return "".join(_loss_svg(cc, losses.loc[cc].to_numpy(float)) for cc in shown)


def write_span_report(result, path, variation=None, top=TOP_ACCOUNTS):
    """Write the report of ``result`` (a SpanResult) to ``path``; ``variation`` (a
    VariationResult) adds the variation margin column."""
    acc = result.accounts.copy()
    if variation is not None:
        acc = acc.merge(variation.accounts[["account", "variation_margin"]], on="account",
                        how="left")
    cur = result.params.base_currency
    ok = acc[acc["status"] == "ok"]
    summary = [("risk-parameter file", f"{result.params.source} ({result.params.file_format}, "
                                        f"{result.params.clearing_org} "
                                        f"{result.params.business_date})"),
               ("accounts", f"{len(acc):,}"),
               ("rejected accounts", f"{int((acc['status'] != 'ok').sum()):,}"),
               (f"SPAN requirement, total ({cur})", f"{ok['requirement'].sum():,.2f}"),
               (f"maintenance, total ({cur})", f"{ok['maintenance'].sum():,.2f}"),
               (f"inter-commodity credits, total ({cur})", f"{ok['inter_credit'].sum():,.2f}")]
    if variation is not None:
        summary.append((f"variation margin, total ({cur})",
                        f"{ok['variation_margin'].sum():,.2f}"))
    comb = result.combined
    by_cc = comb.groupby("cc", sort=True)[[c for c in MONEY if c in comb]].sum().reset_index()
    parts = [f"<h1>SPAN margin report</h1><p class='muted'>generated "
             f"{datetime.datetime.now():%Y-%m-%d %H:%M}</p>",
             "<h2>Summary</h2>", _table(pd.DataFrame(summary, columns=["", "value"])),
             "<h2>Per combined commodity (all accounts)</h2>", _table(by_cc, MONEY)]
    parts.append(f"<h2>The {min(top, len(ok))} largest requirements</h2>")
    for account in ok.sort_values("requirement", ascending=False)["account"].head(top):
        own = comb[comb["account"] == account]
        parts.append(f"<div class='account'><h3>{html.escape(str(account))}</h3>")
        parts.append(_table(acc[acc["account"] == account], MONEY))
        parts.append(_table(own.drop(columns=["account", "status"]), MONEY))
        parts.append("<p class='muted'>Loss by SPAN scenario per combined commodity (the scan "
                     "risk is the largest loss; 15/16 are the weighted extremes)</p>")
        parts.append(f"<div class='charts'>{_loss_panels(result, account, own)}</div></div>")
    if len(result.errors):
        parts.append("<h2>Rejected rows</h2>")
        parts.append(_table(result.errors))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>SPAN margin</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
    pathlib.Path(path).write_text(page, encoding="utf-8")
    return path
