"""The budget document for the 预算编制说明, as a PDF (WeasyPrint), from ``templates/budget.html``.

Cover (county, fiscal year, ruleset and revision, run name, date), totals, by department, by action,
by tier, protected spending, the deviation list when a draft's rows are given, each affected line's
reasons with full citation titles, and the source documents. A4, page numbers, Chinese fonts
(Noto CJK, installed by ``dev.py`` and the Dockerfile) embedded by WeasyPrint.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from service.report.deviations import DeviationRow, DraftHeading, beijing_text, deviation_totals
from service.report.summary import (
    by_action,
    by_department,
    by_tier,
    department_names,
    protected_lines,
)
from service.report.words import (
    STATUS_ZH,
    TIER_ZH,
    action_zh,
    cited_keys,
    flags_zh,
    full_citation,
    ruleset_sources,
    yuan,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
BEIJING = ZoneInfo("Asia/Shanghai")
WAN = Decimal(10000)
CHINESE_NUMBERS = "一二三四五六七八九十"


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def print_stylesheet() -> str:
    """The print stylesheet shared by the PDF and the pages (``media="print"``)."""
    return (TEMPLATES / "print.css").read_text(encoding="utf-8")


def render_budget_html(
    result: Mapping[str, Any],
    *,
    request: Mapping[str, Any] | None = None,
    deviations: Sequence[DeviationRow] | None = None,
    unit: str = "元",
    county: str | None = None,
    run_name: str | None = None,
    now: dt.datetime | None = None,
    sources: Mapping[str, str] | None = None,
    draft: DraftHeading | None = None,
) -> str:
    """The 编制说明 as one HTML document (the PDF's source; also printable from a browser).

    With ``draft`` (a budget draft's heading) the cover names the draft and whether it is 定稿, the
    totals show the recommendation beside the final amounts, and the deviation section is always there.
    """
    ruleset = result.get("ruleset") or {}
    sources = sources if sources is not None else ruleset_sources(ruleset.get("id"))
    title_zh = _ruleset_title(ruleset.get("id"))
    names = department_names(result, request)

    def money(value: object) -> str:
        amount = yuan(value)
        return f"{amount:,.2f}" if unit == "元" else f"{amount / WAN:,.4f}"

    totals = (result.get("summary") or {}).get("totals") or {}
    labels = {
        "requested": "申报数合计",
        "after_policies": "政策调整后合计",
        "recommended": "建议数合计",
        "cut": "核减合计",
        "reclaimed": "收回统筹资金",
        "allocated_from_pool": "收回统筹资金安排",
        "reserve_envelope": "未安排财力（财力可安排数）",
        "reserve_pool": "未安排财力（收回统筹资金）",
        "reserve": "未安排财力合计",
    }
    total_rows = []
    if result.get("envelope") not in (None, ""):
        total_rows.append(("财力可安排数", money(result.get("envelope"))))
    total_rows += [(labels.get(key, key), money(value)) for key, value in totals.items()]
    counts = (result.get("summary") or {}).get("counts") or {}
    count_text = "；".join(f"{STATUS_ZH.get(k, k)} {v} 项" for k, v in counts.items())

    departments = by_department(result, names)
    department_rows = [
        [
            r.department_id,
            r.name,
            money(r.requested),
            money(r.cut),
            money(r.cancelled),
            money(r.excluded),
            money(r.reclaimed),
            money(r.recommended),
            money(r.change),
        ]
        for r in departments
    ]
    keys = ("requested", "cut", "cancelled", "excluded", "reclaimed", "recommended", "change")
    department_total = ["合计", f"{len(departments)}个单位"] + [
        money(sum((getattr(r, key) for r in departments), Decimal("0.00"))) for key in keys
    ]
    actions = by_action(result, action_zh)
    for group in actions:
        group.amount = money(group.amount)  # type: ignore[assignment]
    tiers = by_tier(result, TIER_ZH)
    for group in tiers:
        group.amount = money(group.amount)  # type: ignore[assignment]
    protected = [
        [
            line.get("project_id"),
            line.get("name"),
            names.get(str(line.get("department_id")), line.get("department_id")),
            money(line.get("requested")),
            money(line.get("recommended")),
            "、".join(flags_zh(line)),
        ]
        for line in protected_lines(result, request)
    ]
    deviation_rows = [
        [
            d.project_id,
            d.project_name,
            d.department_name,
            money(d.recommended),
            money(d.final),
            money(d.difference),
            d.reason,
            f"{d.adjusted_by} / {beijing_text(d.adjusted_at)}",
            "、".join(d.policies),
        ]
        for d in deviations or []
    ]
    show_deviations = bool(deviation_rows) or draft is not None
    deviation_sums = deviation_totals(list(deviations or []))
    deviation_total = ["合计", f"{deviation_sums.lines}项", ""] + [
        money(sum((getattr(d, key) for d in deviations or []), Decimal("0.00")))
        for key in ("recommended", "final", "difference")
    ]
    deviation_summary = {
        "up": money(deviation_sums.up),
        "down": money(deviation_sums.down),
        "net": money(deviation_sums.net),
        "departments": [
            [d.department_id, d.department_name, d.lines, money(d.up), money(d.down), money(d.net)]
            for d in deviation_sums.departments
        ],
    }
    draft_info = None
    if draft is not None:
        draft_info = {
            "name": f"{draft.name}（第{draft.version}版）",
            "id": draft.draft_id,
            "status": draft.status_text,
            "is_final": draft.is_final,
            "recommended": money(draft.recommended_total),
            "final": money(draft.final_total),
            "difference": money(draft.final_total - draft.recommended_total),
        }
    reasons = []
    for line in result.get("lines") or []:
        applied = [
            exp
            for exp in line.get("explanations") or []
            if exp.get("outcome") in ("applied", "waived")
            and (yuan(exp.get("effect")) != 0 or line.get("status") != "funded")
        ]
        if not applied:
            continue
        reasons.append(
            {
                "project_id": line.get("project_id"),
                "name": line.get("name"),
                "department": names.get(str(line.get("department_id")), line.get("department_id")),
                "status": STATUS_ZH.get(str(line.get("status")), line.get("status")),
                "requested": money(line.get("requested")) + unit,
                "recommended": money(line.get("recommended")) + unit,
                "reasons": [
                    {
                        "text": (exp.get("reason") or {}).get("zh") or "",
                        "citation": full_citation(exp.get("citation"), sources),
                    }
                    for exp in applied
                ],
            }
        )
    section = 6 + (1 if show_deviations else 0)
    when = (now or dt.datetime.now(tz=BEIJING)).astimezone(BEIJING)
    year = result.get("fiscal_year", "")
    county = county or _county(title_zh)
    return (
        _environment()
        .get_template("budget.html")
        .render(
            css=print_stylesheet(),
            title=f"{county}{year}年项目支出预算编制说明",
            county=county,
            fiscal_year=year,
            ruleset_title=title_zh or ruleset.get("id", ""),
            ruleset_id=ruleset.get("id", ""),
            revision=ruleset.get("revision", ""),
            run_name=run_name or (f"测算编号 {result['decision_id']}" if result.get("decision_id") else "本次测算"),
            date=f"{when.year}年{when.month}月{when.day}日 {when:%H:%M}",
            unit=unit,
            totals=total_rows,
            counts=count_text,
            pool_note=pool_note(result),
            departments=department_rows,
            department_total=department_total,
            actions=actions,
            tiers=tiers,
            protected=protected,
            deviations=deviation_rows,
            show_deviations=show_deviations,
            deviation_total=deviation_total,
            deviation_summary=deviation_summary,
            draft=draft_info,
            reasons=reasons,
            reasons_number=CHINESE_NUMBERS[section - 1],
            sources_number=CHINESE_NUMBERS[section],
            sources=[sources[key] for key in cited_keys(result.get("lines"), sources)],
        )
    )


def pool_note(result: Mapping[str, Any]) -> str | None:
    """Why 建议数 may exceed the envelope: money reclaimed into the pool (收回统筹资金) is spent too."""
    totals = (result.get("summary") or {}).get("totals") or {}
    envelope = result.get("envelope")
    if envelope in (None, ""):
        return None
    recommended = yuan(totals.get("recommended"))
    pool = yuan(totals.get("allocated_from_pool"))
    if recommended <= yuan(envelope) and pool == 0:
        return None
    return (
        f"建议数合计 {recommended:,.2f}元 中有 {pool:,.2f}元 来自收回统筹资金（结转结余收回后统筹安排），"
        f"因此建议数合计可以高于财力可安排数 {yuan(envelope):,.2f}元。"
    )


def write_budget_pdf(
    result: Mapping[str, Any],
    output: Path,
    *,
    request: Mapping[str, Any] | None = None,
    deviations: Sequence[DeviationRow] | None = None,
    unit: str = "元",
    county: str | None = None,
    run_name: str | None = None,
    draft: DraftHeading | None = None,
) -> None:
    """Render the 编制说明 PDF to ``output`` atomically (a temporary file renamed)."""
    data = render_budget_pdf(
        result, request=request, deviations=deviations, unit=unit, county=county, run_name=run_name, draft=draft
    )
    folder = Path(output).resolve().parent
    with tempfile.NamedTemporaryFile("wb", dir=folder, delete=False, suffix=".part") as tmp:
        tmp.write(data)
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, output)


def render_budget_pdf(
    result: Mapping[str, Any],
    *,
    request: Mapping[str, Any] | None = None,
    deviations: Sequence[DeviationRow] | None = None,
    unit: str = "元",
    county: str | None = None,
    run_name: str | None = None,
    draft: DraftHeading | None = None,
) -> bytes:
    """The 编制说明 PDF as bytes."""
    from weasyprint import HTML  # type: ignore[import-untyped]

    html = render_budget_html(
        result, request=request, deviations=deviations, unit=unit, county=county, run_name=run_name, draft=draft
    )
    pdf: bytes = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    return pdf


def _ruleset_title(ruleset_id: object) -> str:
    if not ruleset_id:
        return ""
    try:
        from service.policyfiles import Catalog

        ruleset = Catalog.load().rulesets.get(str(ruleset_id))
    except Exception:  # the document is still printable without the ruleset's title
        return ""
    return ruleset.title.zh if ruleset is not None else ""


def _county(title: str) -> str:
    """``"武定县项目预算编制绩效规则"`` → ``"武定县"``; else a neutral word."""
    index = title.find("县")
    return title[: index + 1] if index > 0 else "本级"
