"""The HTML report of a run: one self-contained file (inline CSS and SVG, no scripts, no fetches)."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from service.simulation.charts import bar_chart, line_chart, sankey
from service.simulation.evaluate import STATUSES

# The Content-Security-Policy a report is served with (API and pages): its own inline CSS and SVG, nothing else.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
MONEY_CURVES = ("recommended", "after_policies", "cut", "reclaimed", "allocated_from_pool", "reserve")
CSS = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
details{margin:6px 0}
"""


def _yuan(text: str) -> float:
    return float(Decimal(text))


def _flow(summary: dict[str, Any], envelope: str | None, title: str) -> str:
    t = {k: _yuan(v) for k, v in summary["totals"].items()}
    from_envelope = t["recommended"] - t["allocated_from_pool"]
    demand = sankey(
        f"{title}: demand 申报去向",
        [
            ["Requested 申报"],
            ["Cut by policies 政策压减", "After policies 政策后"],
            ["Funded 安排", "Not funded 未安排"],
        ],
        [
            ("Requested 申报", "Cut by policies 政策压减", t["cut"]),
            ("Requested 申报", "After policies 政策后", t["after_policies"]),
            ("After policies 政策后", "Funded 安排", min(from_envelope, t["after_policies"])),
            ("After policies 政策后", "Not funded 未安排", t["after_policies"] - from_envelope),
        ],
    )
    supply_links = [
        ("Reclaimed idle 收回结转", "Pool 统筹资金", t["reclaimed"]),
        ("Pool 统筹资金", "Urgent lines 亟需领域", t["allocated_from_pool"]),
        ("Pool 统筹资金", "Pool reserve 资金池结余", t["reserve_pool"]),
    ]
    if envelope is not None:
        supply_links += [
            ("Envelope 可安排财力", "Funded lines 项目安排", from_envelope),
            ("Envelope 可安排财力", "Envelope reserve 财力结余", t["reserve_envelope"]),
        ]
    supply = sankey(
        f"{title}: money flow 资金流向 (reclaims → pool → reserve)",
        [
            ["Envelope 可安排财力", "Reclaimed idle 收回结转"],
            ["Pool 统筹资金"],
            ["Funded lines 项目安排", "Envelope reserve 财力结余", "Urgent lines 亟需领域", "Pool reserve 资金池结余"],
        ],
        supply_links,
    )
    return f'<div class="charts">{demand}{supply}</div>'


def _kpi_table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    keys = list(rows[0][1]["totals"]) if rows else []
    head = "".join(f"<th>{escape(k)}</th>" for k in [*keys, *STATUSES])
    body = "".join(
        f'<tr><td class="l">{escape(name)}</td>'
        + "".join(f"<td>{escape(s['totals'][k])}</td>" for k in keys)
        + "".join(f"<td>{s['counts'][k]}</td>" for k in STATUSES)
        + "</tr>"
        for name, s in rows
    )
    return f'<table><tr><th class="l">evaluation</th>{head}</tr>{body}</table>'


def _variant_section(v: dict[str, Any]) -> str:
    changes = v["changes"]
    depts = sorted(v["departments"], key=lambda d: (-abs(_yuan(d["change"]["recommended"])), d["department_id"]))
    bars = [(f"{d['department_id']} {d['name']}", _yuan(d["change"]["recommended"])) for d in depts[:25]]
    lines = "".join(
        f'<tr><td class="l">{escape(ln["project_id"])}</td><td class="l">{escape(ln["department_id"])}</td>'
        f"<td>{escape(ln['baseline']['status'])}</td><td>{escape(ln['variant']['status'])}</td>"
        f"<td>{escape(ln['baseline']['recommended'])}</td><td>{escape(ln['variant']['recommended'])}</td>"
        f'<td class="l">{"<br>".join(escape(e["reason"]["en"]) for e in ln["baseline"]["explanations"])}</td>'
        f'<td class="l">{"<br>".join(escape(e["reason"]["en"]) for e in ln["variant"]["explanations"])}</td></tr>'
        for ln in v["changed_lines"][:50]
    )
    what = escape(
        f"params {changes['params']}; disabled {changes['disabled']}; envelope {changes['envelope_change']}; "
        f"transforms {changes['transforms']}"
    )
    return (
        f"<h2>Variant {escape(v['name'])}</h2><p>{escape(v.get('description') or '')}</p><p><small>{what}</small></p>"
        + _kpi_table([(v["name"], v["summary"])])
        + f'<div class="charts">{bar_chart("Change in recommended by department 部门安排变化", bars)}</div>'
        + _flow(v["summary"], changes["envelope"], v["name"])
        + f"<details><summary>{v['changed_lines_count']} lines changed (first 50 shown, with both explanations)"
        "</summary><table><tr><th>project</th><th>department</th><th>baseline</th><th>variant</th>"
        "<th>baseline recommended</th><th>variant recommended</th><th>baseline explanation</th>"
        f"<th>variant explanation</th></tr>{lines}</table></details>"
    )


def _sweep_section(s: dict[str, Any]) -> str:
    axes = [a["parameter"] for a in s["axes"]]
    points = s["points"]
    charts = []
    first = axes[0]
    groups: dict[str, list[dict[str, Any]]] = {}
    for p in points:
        groups.setdefault(p["values"][axes[1]] if len(axes) > 1 else "", []).append(p)
    if len(axes) == 1:
        xs = [float(p["values"][first]) for p in points]
        charts.append(
            line_chart(
                f"{s['name']}: money 金额",
                first,
                xs,
                [(k, [_yuan(p["totals"][k]) for p in points]) for k in MONEY_CURVES],
            )
        )
        charts.append(
            line_chart(
                f"{s['name']}: lines by status 项目数",
                first,
                xs,
                [(k, [float(p["counts"][k]) for p in points]) for k in STATUSES],
                money=False,
            )
        )
    else:
        for kpi in ("recommended", "cut", "reclaimed", "reserve"):
            charts.append(
                line_chart(
                    f"{s['name']}: {kpi} by {axes[1]}",
                    first,
                    [float(p["values"][first]) for p in next(iter(groups.values()))],
                    [(f"{axes[1]}={g}", [_yuan(p["totals"][kpi]) for p in ps]) for g, ps in groups.items()],
                )
            )
    table = _kpi_table([(", ".join(f"{a}={p['values'][a]}" for a in axes), p) for p in points])
    return (
        f"<h2>Sweep {escape(s['name'])}</h2><p>{escape(s.get('description') or '')}</p>"
        f'<div class="charts">{"".join(charts)}</div><details><summary>{len(points)} points</summary>{table}</details>'
    )


def render_report(document: dict[str, Any]) -> str:
    """The report as one HTML page: every chart is inline SVG and nothing is fetched."""
    sc = document["scenario"]
    base = document["baseline"]
    ver = document["verification"]
    body = [
        f"<h1>{escape(sc['title']['zh'])} — {escape(sc['title']['en'])}</h1>",
        f"<p>Scenario <b>{escape(sc['id'])}</b>: {sc['lines']} lines, {sc['departments']} departments, "
        f"fiscal year {sc['fiscal_year']}; ruleset {escape(base['changes']['ruleset']['id'])} "
        f"revision {escape(base['changes']['ruleset']['revision'])}.</p>",
        f"<p>Verified: {ver['lines_checked']} sampled lines over {ver['evaluations']} evaluations replayed "
        f"through {escape(ver['engine'])}, {ver['mismatches']} differences.</p>",
        "<h2>Baseline and variants</h2>",
        _kpi_table([("baseline", base["summary"])] + [(v["name"], v["summary"]) for v in document["variants"]]),
        _flow(base["summary"], base["changes"]["envelope"], "baseline"),
    ]
    body += [_variant_section(v) for v in document["variants"]]
    body += [_sweep_section(s) for s in document["sweeps"]]
    return (
        '<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(sc['id'])} — simulation report</title><style>{CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )
