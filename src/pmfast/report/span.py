"""Self-contained HTML report of a SPAN run: totals, the breakdown per combined commodity, and
for the accounts with the largest requirements the charges and the 16-scenario loss vector of
each combined commodity they hold."""
import datetime
import html
import pathlib

import numpy as np
import pandas as pd

from pmfast.report import charts
from pmfast.report.html import STYLE, _table

TOP_ACCOUNTS = 10
CHARTED_CCS = 6
MONEY = ("scan_risk", "intra_charge", "spot_charge", "inter_credit", "som", "risk",
         "net_option_value", "requirement", "maintenance", "variation_margin")


def _loss_panels(result, account, comb):
    losses = result.scenario_losses(account)
    shown = comb.sort_values("risk", ascending=False)["cc"].tolist()[:CHARTED_CCS]
    panels = []
    for cc in shown:
        loss = losses.loc[cc].to_numpy(float)
        pnl = -loss                      # the chart shows profit and loss, the loss negative
        worst = int(np.argmax(loss)) if loss.max() > 0 else None
        panels.append((cc, pnl, [str(j) for j in range(1, 17)], worst))
    return charts.scenario_pnl_panels(panels) if panels else ""


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
        parts.append("<p class='muted'>Loss of the portfolio by SPAN scenario (profit shown, "
                     "the scan risk is the largest loss; 15/16 are the weighted extremes)</p>")
        parts.append(f"<div class='charts'>{_loss_panels(result, account, own)}</div></div>")
    if len(result.errors):
        parts.append("<h2>Rejected rows</h2>")
        parts.append(_table(result.errors))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>SPAN margin</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
    pathlib.Path(path).write_text(page, encoding="utf-8")
    return path
