"""Assemble the self-contained HTML report from a BatchRun."""
import datetime
import html
import pathlib

import numpy as np
import pandas as pd

from pmfast.report import charts

TOP_ACCOUNTS = 10
CHARTED_GROUPS = 6  # P&L panels per account; the table lists every group
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.account { border: 1px solid #ddd; padding: 0.5em 1em; margin: 1em 0; border-radius: 4px; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; } .muted { color: #777; }
"""


def _table(frame, money=()):
    frame = frame.copy()
    for col in money:
        if col in frame:
            frame[col] = frame[col].map(lambda v: "" if pd.isna(v) else f"{v:,.2f}")
    return frame.to_html(index=False, escape=True, border=0, na_rep="")


def _summary(run):
    acc = run.accounts
    rows = [("accounts", f"{run.n_accounts:,}"), ("rejected accounts", f"{run.n_rejected:,}")]
    if "pm_requirement" in acc:
        rows.append(("portfolio margin, total", f"${acc['pm_requirement'].sum():,.2f}"))
    if "regt_initial" in acc:
        rows.append(("Reg T initial, total", f"${acc['regt_initial'].sum():,.2f}"))
        rows.append(("Reg T maintenance, total", f"${acc['regt_maintenance'].sum():,.2f}"))
    if "savings" in acc:
        rows.append(("saving (Reg T initial − PM)", f"${acc['savings'].sum():,.2f}"))
    if "sim_requirement" in acc:
        rows.append(("simulation margin, total", f"${acc['sim_requirement'].sum():,.2f}"))
    for stage, seconds in run.stage_times.items():
        rows.append((f"time: {stage}", f"{seconds:.2f} s"))
    return _table(pd.DataFrame(rows, columns=["", "value"]))


def _scenario_charts(scenarios, account, groups):
    """One chart panel per group (and scenario set, for rule sets with several), the groups
    with the largest requirement first."""
    shown = groups.sort_values("requirement", ascending=False)["group"].unique()[:CHARTED_GROUPS]
    rows = scenarios[scenarios["account"] == account]
    keys = ["group", "scenario_set"] if "scenario_set" in rows else ["group"]
    panels = []
    for group in shown:
        for key, own in rows[rows["group"] == group].groupby(keys[1:] or "group", sort=False):
            pnl = own["pnl"].to_numpy()
            worst = int(np.argmin(pnl)) if pnl.min() < 0 else None
            title = f"{group} · {key[0] if isinstance(key, tuple) else key}" if len(keys) > 1 \
                else str(group)
            panels.append((title, pnl, own["scenario"].astype(str).tolist(), worst))
    n_groups = groups["group"].nunique()
    note = ""
    if n_groups > len(shown):
        note = (f"<p class='muted'>P&amp;L charts for the {len(shown)} groups with the largest "
                f"requirement; all {n_groups} groups are in the table above.</p>")
    return (charts.scenario_pnl_panels(panels) if panels else "") + note


def _account_section(run, account):
    acc = run.accounts.set_index("account").loc[account]
    parts = [f'<div class="account"><h3>Account {html.escape(str(account))}</h3>']
    facts = []
    if "pm_requirement" in acc:
        facts.append(f"portfolio margin ${acc['pm_requirement']:,.2f}")
    if "regt_initial" in acc:
        facts.append(f"Reg T initial ${acc['regt_initial']:,.2f}")
    parts.append("<p>" + " · ".join(facts) + "</p>")
    if run.pm is not None:
        groups = run.pm.groups[run.pm.groups["account"] == account]
        parts.append("<h4>Requirement by group</h4>")
        parts.append(_table(groups.drop(columns=["account"]),
                            money=("requirement", "risk", "minimum")))
        parts.append(_scenario_charts(run.pm.scenarios_for([account]), account, groups))
    if run.regt is not None:
        strategies = run.regt.strategies_for([account])
        parts.append("<h4>Reg T strategies chosen</h4>")
        parts.append(_table(strategies.drop(columns=["account"]), money=("requirement",))
                     if len(strategies) else '<p class="muted">no positions</p>')
    if getattr(run, "sim", None) is not None:   # simulation margin: report/simulation.py
        from pmfast.report import simulation as sim_report
        parts.append(sim_report.account_section(run.sim, account))
    parts.append("</div>")
    return "\n".join(parts)


def render(run):
    """The report as one HTML string."""
    acc = run.accounts
    body = [f"<h1>pmfast margin report</h1><p class='muted'>generated "
            f"{datetime.datetime.now().isoformat(timespec='seconds')}</p>",
            "<h2>Summary</h2>", _summary(run)]
    if "pm_requirement" in acc and "regt_initial" in acc:
        comparable = acc["savings"].notna().to_numpy() if "savings" in acc else True
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = acc["pm_requirement"].to_numpy() / acc["regt_initial"].to_numpy()
        body += ["<h2>Portfolio margin vs Reg T</h2>", charts.ratio_histogram(ratio[comparable]),
                 "<p class='muted'>Accounts holding futures or future options are left out: "
                 "Reg T does not margin them (SPAN does), so the two figures would not cover "
                 "the same positions.</p>"]
    sort_col = "pm_requirement" if "pm_requirement" in acc else \
        "regt_initial" if "regt_initial" in acc else "sim_requirement"
    top = acc.sort_values(sort_col, ascending=False).head(TOP_ACCOUNTS)["account"]
    body.append(f"<h2>Largest {len(top)} accounts</h2>")
    body += [_account_section(run, account) for account in top]
    if run.n_rejected:
        body += ["<h2>Rejected accounts</h2>", _table(run.errors.head(200))]
    params = pd.DataFrame([("rule set", run.rules), *[(k, str(v)) for k, v in
                                                      run.parameters.items()]],
                          columns=["parameter", "value"])
    body += ["<h2>Rule set and parameters</h2>", _table(params)]
    if run.pm is not None:
        body.append(f"<pre>{html.escape(str(run.pm.rules))}</pre>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>pmfast margin report</title><style>{STYLE}</style></head><body>"
            + "\n".join(body) + "</body></html>")


def write_report(run, path):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(run), encoding="utf-8")
    return path
