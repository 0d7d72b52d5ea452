"""The words of the maintainer's, approver's and analyst's pages (issue 15), added to ``service.web.i18n.T``.

Kept in their own module so the shared dictionary is appended to, never rewritten; no key here may
replace an existing one (checked at import).
"""

from __future__ import annotations

from service.web.i18n import T

WORDS: dict[str, tuple[str, str]] = {
    "state_returned": ("已退回", "returned"),
    "colon": ("：", ": "),
    "lp": ("（", " ("),
    "rp": ("）", ")"),
    # parameter form
    "edit_parameters": ("修改参数", "Change parameters"),
    "edit_help": (
        "在当前版本的基础上修改政策参数或启用、停用政策；提交后由审核人员审核。比例按百分数填写（如 15 表示 15%）。",
        "Change policy parameters, or switch policies on or off, on top of a revision; an approver reviews it. "
        "Rates are percentages (15 means 15%).",
    ),
    "based_on": ("基于版本", "Based on revision"),
    "policy_on": ("启用此政策", "This policy is on"),
    "range": ("允许范围", "Allowed range"),
    "change_reason": ("修改理由（必填，审核人员首先看到）", "Why (required; the approver reads it first)"),
    "submit_propose": ("提交审核", "Propose"),
    "save_draft": ("保存草稿", "Save as draft"),
    "form_problems": ("以下内容需要修改后才能提交：", "Please correct the following before proposing:"),
    "err_number": ("请填写数字", "must be a number"),
    "err_whole": ("请填写整数", "must be a whole number"),
    "err_range": ("超出允许范围", "is outside the allowed range"),
    "err_fen": ("金额最多两位小数", "money has at most two decimals"),
    "err_required": ("请填写", "is required"),
    "err_nothing": ("没有修改任何参数", "nothing was changed"),
    "err_exists": ("与已有版本完全相同", "is exactly an existing revision"),
    # review
    "review": ("审核", "Review"),
    "review_title": ("版本审核", "Review of revision"),
    "why_made": ("修改理由", "Why it was changed"),
    "no_reason": ("（未说明理由）", "(no reason given)"),
    "made_by": ("提出人", "Made by"),
    "what_changes": ("修改内容", "What changes"),
    "compared_with": ("与所替换的版本比较", "Compared with the revision it replaces"),
    "no_replaced": (
        "这是该规则集的第一个版本，没有可比较的版本。",
        "This is the ruleset's first revision: nothing to compare.",
    ),
    "no_changes": ("参数没有变化。", "No parameter changes."),
    "impact_on": ("对预算数据的影响", "Impact on budget data"),
    "impact_default": (
        "默认使用该年度最新导入的数据集，也可以按名称选择其他数据集。",
        "The latest dataset of the fiscal year by default; pick another by name.",
    ),
    "show_impact": ("查看影响", "Show impact"),
    "no_datasets": ("还没有导入数据集，无法测算影响。", "No dataset has been imported: no impact to show."),
    "totals": ("合计", "Totals"),
    "item": ("项目", "Item"),
    "current_rules": ("现行版本", "Current"),
    "this_revision": ("本版本", "This revision"),
    "difference": ("增减", "Change"),
    "dept_changes": ("部门建议数变化", "Departments whose recommendation changes"),
    "others_unchanged": ("其余 {n} 个部门无变化", "The other {n} departments do not change"),
    "top_lines": ("变化最大的项目", "Lines that change most"),
    "lines_changed_count": ("共 {n} 个项目变化", "{n} lines change"),
    "decide": ("审核意见", "Decision"),
    "approve_reason": ("审核通过的理由（必填）", "Why you approve it (required)"),
    "return_comment": ("退回意见（必填，维护人员会看到）", "What must change (required; the maintainer reads it)"),
    "return": ("退回", "Return"),
    "return_comment_short": ("退回意见", "Returned with"),
    "returned_note": ("已退回", "Returned"),
    "returned_by": ("退回人", "Returned by"),
    "revise": ("在此基础上修改并重新提交", "Revise and propose again"),
    "activate_reason": ("启用理由（必填）", "Why you activate it (required)"),
    "propose_reason": ("提交理由（必填）", "Why you propose it (required)"),
    "replaces_auto": ("启用后替换现行版本：", "Activating replaces the current revision:"),
    "done_return": ("已退回，维护人员会看到退回意见。", "Returned; the maintainer sees your comment."),
    "done_created": ("已保存。", "Saved."),
    "history": ("修订历史", "History"),
    "history_help": (
        "每个版本由谁提出、审核、启用，以及各自的理由（取自审计记录）。",
        "Who proposed, approved and activated each revision, and why (from the audit records).",
    ),
    "step": ("环节", "Step"),
    "who": ("经办人", "By"),
    "when": ("时间", "When"),
    "why": ("理由", "Why"),
    "replaces_rev": ("替换版本", "Replaces"),
    "open_review": ("审核页", "Review page"),
    "none": ("无", "none"),
    # totals (GLOSSARY.md)
    "total_requested": ("申报数", "Requested"),
    "total_after_policies": ("政策调整后", "After policies"),
    "total_recommended": ("建议数", "Recommended"),
    "total_envelope": ("财力可安排数", "Envelope"),
    "total_reserve": ("未安排财力", "Reserve"),
    "total_pool": ("收回统筹资金", "Pool"),
    "total_reclaimed": ("收回统筹资金", "Reclaimed"),
    "total_cut": ("压减金额", "Cut"),
    "yuan": ("元", "yuan"),
    "year_suffix": ("年度", ""),
    # disclosure review
    "disclosure": ("绩效信息公开审查", "Disclosure review"),
    "disclosure_help": (
        "上传各部门的公开记录（CSV 或 JSON；CSV 第一行为字段名：部门编码、部门名称、预算批复日期、绩效目标公开日期、"
        "自评报告形成日期、自评报告公开日期），按规则集 disclosure-compliance 审查是否按时公开；审查记入审计链。",
        "Upload the departments' disclosure records (CSV or JSON; a CSV's first row names the fields) and review "
        "them with the ruleset disclosure-compliance; the review is recorded in the audit chain.",
    ),
    "disclosure_file": ("公开记录文件", "Records file"),
    "disclosure_run": ("审查", "Review"),
    "disclosure_summary": ("{late} 个部门未按时公开，{ok} 个部门按时公开", "{late} late or missing, {ok} on time"),
    "disclosure_findings": ("问题", "Findings"),
    "disclosure_all_ok": ("所有部门均按时公开。", "Every department published on time."),
    # what-ifs
    "whatifs": ("政策测算", "What-ifs"),
    "whatif": ("政策情景测算", "What-if"),
    "whatif_help": (
        "在表单中设定参数变化、财力增减、得分变化和数据集，或设定一至两个参数的取值范围（扫描），运行后查看中文报告；可以按名称保存，随时再次运行或下载为情景文件。",
        "Set parameter changes, an envelope change, score shifts and a dataset, or sweep one or two parameters; "
        "run it and read the report; save it by name to run again or download as a scenario file.",
    ),
    "whatif_name": (
        "情景名称（保存时必填，小写字母、数字和连字符，如 cut-15）",
        "Name (to save: lower-case letters, digits, hyphens, e.g. cut-15)",
    ),
    "whatif_title": ("标题", "Title"),
    "param_changes": ("参数变化", "Parameter changes"),
    "param_changes_help": (
        "只填写要改变的参数；留空或不变的按现行规则。",
        "Change only what you want to test; the rest stays as in force.",
    ),
    "envelope_change": ("财力可安排数变化", "Envelope change"),
    "score_shifts": ("得分变化（分，结果限定在0–100分）", "Score shifts (points, kept within 0–100)"),
    "clamped": ("限定在0–100分", "kept within 0–100"),
    "sweep": ("参数扫描（可选）", "Sweep (optional)"),
    "sweep_help": (
        "选择一至两个参数及起止值和步长（按表单单位，比例填百分数）；最多 {n} 个点。",
        "One or two parameters with from, to and step (in the form's units, rates in percent); at most {n} points.",
    ),
    "sweep_param": ("参数", "Parameter"),
    "from": ("起", "From"),
    "to": ("止", "To"),
    "step_size": ("步长", "Step"),
    "sweep_word": ("扫描", "Sweep"),
    "err_name": ("请用小写字母、数字和连字符，如 cut-15", "use lower-case letters, digits and hyphens, e.g. cut-15"),
    "err_nothing_whatif": (
        "没有设定任何变化：请修改参数、停用政策、调整财力或得分，或设定扫描",
        "nothing is changed: change a parameter, a policy, the envelope, scores, or sweep",
    ),
    "err_points": (
        "扫描点数过多：最多 {n} 个点（加大步长或缩小范围）",
        "too many points: at most {n} (a larger step or a narrower range)",
    ),
    "err_scenario_exists": (
        "已有同名情景；勾选“覆盖同名情景”后再保存",
        "a scenario of this name exists: tick replace to overwrite it",
    ),
    "no_sweep": ("（不扫描）", "(no sweep)"),
    "run_whatif": ("运行测算", "Run"),
    "save_whatif": ("保存情景", "Save"),
    "replace_saved": ("覆盖同名情景", "Replace a saved scenario of this name"),
    "saved_scenarios": ("已保存的情景", "Saved scenarios"),
    "no_saved": ("还没有保存的情景。", "No saved scenarios yet."),
    "load": ("载入修改", "Load"),
    "download_yaml": ("下载情景文件", "Download file"),
    "saved_ok": ("情景已保存：", "Scenario saved:"),
    "report_whatif": ("测算报告", "Report"),
    "what_changed": ("测算条件", "What was changed"),
    "baseline": ("现行规则", "Rules in force"),
    "whatif_result": ("测算结果", "What-if"),
    "amounts_yuan": ("金额（元）", "Amounts (yuan)"),
    "line_counts": ("项目个数", "Lines"),
    "unit_lines": ("个", "lines"),
    "count_funded": ("全额安排", "Funded in full"),
    "count_reduced": ("核减", "Reduced"),
    "count_excluded": ("不予纳入", "Not included"),
    "count_cancelled": ("取消", "Cancelled"),
    "sweep_result": ("扫描结果", "Sweep"),
    "running_wait": ("正在测算，完成后本页自动刷新。", "Running; this page refreshes when it is done."),
    "dataset_lines": ("数据集：{n} 个项目", "Dataset: {n} lines"),
    "total_allocated_from_pool": ("统筹资金安排", "Allocated from the pool"),
    "total_reserve_envelope": ("未安排财力（财力部分）", "Reserve from the envelope"),
    "total_reserve_pool": ("未安排财力（统筹资金部分）", "Reserve from the pool"),
    "at_least": ("不低于", "at least"),
    "wan_yuan": ("万元", "10k yuan"),
}

_clash = sorted(k for k in WORDS if k in T and T[k] != WORDS[k])
if _clash:  # pragma: no cover - a programming error, caught by the first test that imports the pages
    raise RuntimeError(f"page words clash with service.web.i18n: {', '.join(_clash)}")
T.update(WORDS)
