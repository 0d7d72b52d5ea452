"""The words a finance bureau reads (../shared/spec/GLOSSARY.md) and the source documents' full titles."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

STATUS_ZH = {"funded": "全额安排", "reduced": "核减", "excluded": "不予纳入", "cancelled": "取消"}
OUTCOME_ZH = {"applied": "已适用", "superseded": "被在先规则取代", "waived": "保障类豁免"}
ACTION_ZH = {
    "cut": "压减",
    "cancel": "取消",
    "exclude": "不予纳入",
    "cap": "只减不增封顶",
    "reclaim": "收回统筹",
    "protect": "优先保障",
    "performance_share": "基础+绩效",
    "set_tier": "确定保障档次",
    "flag": "标记",
}


def action_zh(action: object) -> str:
    """``"set_tier+flag"`` → ``"确定保障档次、标记"``: each part of a compound action in GLOSSARY words."""
    return "、".join(ACTION_ZH.get(part, part) for part in str(action).split("+"))


FLAG_ZH = {
    "improvement-required": "督促整改",
    "priority": "优先保障",
    "department-tilt": "部门倾斜",
    "possible-duplicate": "疑似交叉重复",
    "fragmented": "碎片化",
    "no-baseline": "缺上年基数",
    "no-department-score": "缺部门整体评价得分",
    "no-target-review": "未经目标评审",
    "protected-review": "保障类项目须说明并整改",
}
KIND_ZH = {"project": "项目支出", "public_operating": "公用经费", "three_public": '"三公"经费'}
DEPARTMENT_KIND_ZH = {"department": "部门", "township": "乡镇"}
PROTECTION_ZH = {
    "basic_livelihood": "保基本民生",
    "wages": "保工资",
    "operations": "保运转",
    "statutory": "法定支出",
    "matching": "上级配套",
    "none": "无",
}
TIER_ZH = {0: "第0档（基本支出和保障类）", 1: "第1档", 2: "第2档", 3: "第3档"}

SOURCE_TITLES = {
    "WD2020": "武定县2020年预算绩效管理工作自评报告",
    "ZF2018-34": "中共中央 国务院关于全面实施预算绩效管理的意见（中发〔2018〕34号）",
    "CY2020-10": "财政部 项目支出绩效评价管理办法（财预〔2020〕10号）",
    "CY2015-88": "财政部 中央部门预算绩效目标管理办法（财预〔2015〕88号）第二十五条",
    "YSF-42": "中华人民共和国预算法 第四十二条；预算法实施条例 第五十条；财预〔2015〕15号",
    "SD2021": "山东省省级预算绩效结果应用管理暂行办法（2021）",
    "GWR2014": "2014年政府工作报告",
    "GF2021-5": "国务院关于进一步深化预算管理制度改革的意见（国发〔2021〕5号）",
}
"""The documents of ../shared/spec/POLICIES.md; a ruleset's own ``sources`` take precedence."""


def ruleset_sources(ruleset_id: str | None) -> dict[str, str]:
    """Citation key → full Chinese title, from the ruleset file when it can be read, else the table above."""
    titles = dict(SOURCE_TITLES)
    if not ruleset_id:
        return titles
    try:
        from service.policyfiles import Catalog

        ruleset = Catalog.load().rulesets.get(ruleset_id)
    except Exception:  # a broken catalog must not stop an export: the built-in titles stay
        return titles
    if ruleset is not None:
        titles.update({key: text.zh for key, text in ruleset.sources.items()})
    return titles


def full_citation(citation: object, sources: Mapping[str, str]) -> str:
    """``"WD2020 一(五)4「…」"`` → ``"武定县2020年预算绩效管理工作自评报告 一(五)4「…」"``."""
    text = "" if citation is None else str(citation)
    parts = []
    for part in re.split(r"\s*[;；]\s*", text):
        key, _, rest = part.partition(" ")
        title = sources.get(key)
        parts.append(part if title is None else f"{title} {rest}".strip())
    return "；".join(parts)


def cited_keys(lines: Any, sources: Mapping[str, str]) -> list[str]:
    """The source keys cited anywhere in a result's lines, in first-cited order."""
    keys: dict[str, None] = {}
    for line in lines or []:
        for exp in line.get("explanations") or []:
            for part in re.split(r"\s*[;；]\s*", str(exp.get("citation") or "")):
                key = part.partition(" ")[0]
                if key in sources:
                    keys.setdefault(key)
    return list(keys)


def status_zh(code: object) -> str:
    return STATUS_ZH.get(str(code), str(code))


def flags_zh(line: Mapping[str, Any]) -> list[str]:
    out = []
    for flag in line.get("flags") or []:
        code = flag.get("code") if isinstance(flag, Mapping) else flag
        out.append(FLAG_ZH.get(str(code), str(code)))
    return out


def tier_zh(tier: object) -> str:
    return "—" if tier is None else TIER_ZH.get(int(str(tier)), f"第{tier}档")


def yuan(value: object) -> Decimal:
    """A result's money string as an exact Decimal (``None`` and blanks as 0.00)."""
    if value is None or value == "":
        return Decimal("0.00")
    return Decimal(str(value))


def format_yuan(amount: Decimal) -> str:
    """1,234,567.89元 (GLOSSARY.md)."""
    return f"{amount:,.2f}元"
