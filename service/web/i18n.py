"""The pages' words in Chinese (the default) and English: ``T[key] = (zh, en)``."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGS = ("zh", "en")

T: dict[str, tuple[str, str]] = {
    "app": ("预算规则", "Budget Rules"),
    "home": ("首页", "Home"),
    "recommend": ("预算建议", "Recommend"),
    "decisions": ("测算结果", "Decisions & audit"),
    "decision": ("测算", "Decision"),
    "rulesets": ("规则集", "Rulesets"),
    "simulations": ("模拟", "Simulations"),
    "audit": ("审计链", "Audit chain"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "token_help": (
        "粘贴管理员发给您的访问令牌（与 API 相同）。令牌只保存在本浏览器的会话 Cookie 中。",
        "Paste the access token you were given (the same as for the API). "
        "It is kept only in this browser's session cookie.",
    ),
    "bad_token": ("令牌无效或已被撤销。", "The token is invalid or revoked."),
    "signed_in_as": ("当前用户", "Signed in as"),
    "role": ("角色", "Role"),
    "role_compiler": ("预算编制人员", "compiler"),
    "role_analyst": ("分析人员", "analyst"),
    "role_maintainer": ("政策维护人员", "maintainer"),
    "role_approver": ("审核人员", "approver"),
    "role_auditor": ("审计人员", "auditor"),
    "role_admin": ("系统管理员", "admin"),
    "welcome": ("欢迎使用预算规则系统", "Welcome to Budget Rules"),
    "home_help": ("请选择您要做的事：", "What would you like to do?"),
    "home_recommend": (
        "上传或选择数据集，生成预算建议并下载结果。",
        "Upload or pick a dataset, get recommendations, download them.",
    ),
    "home_decisions": (
        "查看已记录的测算结果，复核重算，核验审计链。",
        "Browse recorded decisions, replay them, verify the audit chain.",
    ),
    "home_rulesets": ("规则集版本、差异、影响预览与审核。", "Ruleset revisions, diffs, impact previews and approvals."),
    "home_simulations": ("启动情景模拟，查看进度与报告。", "Start scenario simulations, watch progress, read reports."),
    "nothing_for_role": ("此角色没有可用的页面。", "There are no pages for this role."),
    # recommend
    "dataset": ("数据集", "Dataset"),
    "upload": ("上传文件", "Upload files"),
    "upload_help": (
        "一个 .xlsx（工作表 部门、项目、参数）或 .json 文件，或 部门.csv 与 项目.csv"
        "（可加 参数.csv；英文名 departments.csv、projects.csv 亦可）。",
        "One .xlsx (sheets 部门, 项目, 参数) or .json file, or 部门.csv and 项目.csv (optionally 参数.csv; "
        "or departments.csv and projects.csv).",
    ),
    "or_stored": ("或选择已存数据集", "or pick a stored dataset"),
    "none_chosen": ("（不选）", "(none)"),
    "fiscal_year": ("预算年度", "Fiscal year"),
    "fiscal_year_help": ("留空则用数据集中的年度（CSV 必填）。", "Blank: the dataset's own year (required for CSV)."),
    "ruleset": ("规则集", "Ruleset"),
    "envelope": ("财力可安排数（元）", "Envelope (yuan)"),
    "envelope_help": ("留空则用数据集中的财力可安排数。", "Blank: the dataset's own envelope."),
    "run": ("测算", "Recommend"),
    "stored_datasets": ("已存数据集", "Stored datasets"),
    "source": ("来源", "Source"),
    "departments": ("部门", "Departments"),
    "projects": ("项目", "Projects"),
    "created": ("创建时间", "Created"),
    "by": ("操作人", "By"),
    "no_file_or_dataset": ("请上传文件或选择一个数据集。", "Upload files or pick a stored dataset."),
    # result
    "result": ("结果", "Result"),
    "download_xlsx": ("下载 Excel", "Download xlsx"),
    "filter": ("筛选", "Filter"),
    "department": ("部门", "Department"),
    "status": ("状态", "Status"),
    "flag": ("标记", "Flag"),
    "all": ("全部", "All"),
    "search": ("搜索", "Search"),
    "project": ("项目", "Project"),
    "kind": ("类别", "Kind"),
    "requested": ("申报数", "Requested"),
    "after_policies": ("政策调整后", "After policies"),
    "recommended": ("建议数", "Recommended"),
    "tier": ("档次", "Tier"),
    "details": ("明细", "Details"),
    "expand": ("展开", "Expand"),
    "collapse": ("收起", "Collapse"),
    "explanations": ("解释与依据", "Explanations and citations"),
    "policy": ("政策", "Policy"),
    "rule": ("规则", "Rule"),
    "effect": ("影响", "Effect"),
    "reason": ("理由", "Reason"),
    "citation": ("依据", "Citation"),
    "no_explanations": ("无政策作用于此项目。", "No policy acted on this line."),
    "lines_shown": ("显示行数", "Lines shown"),
    "totals": ("合计", "Totals"),
    "counts": ("数量", "Counts"),
    "status_funded": ("全额安排", "funded"),
    "status_reduced": ("核减", "reduced"),
    "status_cancelled": ("取消", "cancelled"),
    "status_excluded": ("不予纳入", "excluded"),
    # decisions
    "since": ("起始时间", "Since"),
    "until": ("截止时间", "Until"),
    "actor": ("操作人", "Actor"),
    "apply": ("应用", "Apply"),
    "reset": ("清除", "Reset"),
    "time": ("时间", "Time"),
    "revision": ("版本", "Revision"),
    "audit_seq": ("审计序号", "Audit seq"),
    "chain_hash": ("链校验值", "Chain hash"),
    "digest": ("规则集校验值", "Digest"),
    "no_decisions": ("没有符合条件的测算结果。", "No decisions match."),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "total": ("共", "Total"),
    "input": ("输入", "Input"),
    "replay": ("复核重算", "Replay"),
    "replay_help": (
        "用记录的规则集版本重新计算记录的输入，并逐字节比较结果。",
        "Re-run the recorded input with the recorded ruleset revision and compare byte for byte.",
    ),
    "replay_identical": ("复核重算结果与记录完全一致。", "The replay is identical to the record."),
    "replay_different": ("复核重算结果与记录不同：", "The replay differs from the record:"),
    "recorded": ("记录值", "Recorded"),
    "replayed": ("重算值", "Replayed"),
    "location": ("位置", "Location"),
    "chain_ok": ("审计链完整：全部记录核验通过。", "The audit chain is intact: every record verifies."),
    "chain_bad": ("审计链核验失败！", "The audit chain does NOT verify!"),
    "records": ("记录数", "Records"),
    "head_hash": ("链头校验值", "Head hash"),
    "first_bad_seq": ("首个异常序号", "First bad seq"),
    "problem": ("问题", "Problem"),
    "verify": ("核验审计链", "Verify the audit chain"),
    # rulesets
    "active": ("生效版本", "Active"),
    "revisions": ("版本", "Revisions"),
    "state": ("状态", "State"),
    "state_draft": ("草稿", "draft"),
    "state_proposed": ("待审核", "proposed"),
    "state_approved": ("审核通过", "approved"),
    "state_active": ("生效中", "active"),
    "state_retired": ("已停用", "retired"),
    "file_years": ("文件年度", "File years"),
    "active_years": ("生效年度", "Active years"),
    "onwards": ("起持续有效", "onwards"),
    "no_end": ("不设截止年度（持续有效）", "no end year (onwards)"),
    "created_by": ("上传人", "Uploaded by"),
    "proposed_by": ("提交人", "Proposed by"),
    "approved_by": ("审核人", "Approved by"),
    "activated_by": ("启用人", "Activated by"),
    "retired_by": ("停用人", "Retired by"),
    "warnings": ("警告", "Warnings"),
    "diff": ("与生效版本的差异", "Difference from the active revision"),
    "diff_against": ("对比版本", "Compared with"),
    "diff_identical": ("与生效版本相同。", "Identical to the active revision."),
    "diff_none": ("没有可对比的生效版本。", "There is no active revision to compare with."),
    "impact": ("影响预览", "Impact preview"),
    "impact_help": ("用所选数据集同时运行生效版本和本版本。", "Run the active revision and this one on a dataset."),
    "dataset_id": ("数据集编号", "Dataset id"),
    "preview": ("预览", "Preview"),
    "before": ("调整前", "Before"),
    "after": ("调整后", "After"),
    "change": ("变化", "Change"),
    "changed_lines": ("变化的项目", "Changed lines"),
    "status_changes": ("状态变化", "Status changes"),
    "amount_changes": ("金额变化", "Amount changes"),
    "actions": ("操作", "Actions"),
    "propose": ("提交审核", "Propose"),
    "approve": ("审核通过", "Approve"),
    "activate": ("启用", "Activate"),
    "retire": ("停用（回退）", "Retire (roll back)"),
    "from_year": ("起始年度", "From year"),
    "to_year": ("截止年度", "To year"),
    "years_default": ("留空：用文件中的年度。", "Blank: the file's years."),
    "replaces": ("同时替换的生效版本", "Replaces active revisions"),
    "reason_required": ("理由（必填，记入审计链）", "Reason (required, recorded in the audit trail)"),
    "maker_checker": (
        "审核人不能是上传或提交此版本的人（双人复核）。",
        "The approver must not be whoever uploaded or proposed this revision (maker-checker).",
    ),
    "rollback_help": (
        "回退：由政策维护人员重新提交已停用的旧版本，再由另一位审核人员审核通过并启用（可替换当前版本）。",
        "Roll back: a maintainer proposes the retired revision again; "
        "another approver approves and activates it (replacing the current one).",
    ),
    "done_propose": ("已提交审核。", "Proposed."),
    "done_approve": ("已审核通过。", "Approved."),
    "done_activate": ("已启用。", "Activated."),
    "done_retire": ("已停用。", "Retired."),
    "no_actions": ("您的角色在此状态下没有可用操作。", "Your role has no action for this state."),
    "content": ("内容", "Content"),
    # simulations
    "start": ("启动模拟", "Start a simulation"),
    "scenario": ("情景", "Scenario"),
    "dataset_optional": ("数据集（可选，默认用情景自带的）", "Dataset (optional; default: the scenario's own)"),
    "progress": ("进度", "Progress"),
    "report": ("报告", "Report"),
    "open_report": ("打开报告", "Open the report"),
    "error": ("错误", "Error"),
    "no_jobs": ("还没有模拟任务。", "No simulation jobs yet."),
    "job": ("任务", "Job"),
    "started": ("开始", "Started"),
    "finished": ("结束", "Finished"),
    "job_state_queued": ("排队中", "queued"),
    "job_state_running": ("运行中", "running"),
    "job_state_succeeded": ("已完成", "succeeded"),
    "job_state_failed": ("失败", "failed"),
    "result_json": ("结果数据", "Result JSON"),
    # errors
    "err_title": ("出错了", "Something went wrong"),
    "err_403": ("您的角色不能进行此操作。", "Your role may not do this."),
    "err_404": ("找不到该页面或记录。", "There is no such page or record."),
    "err_csrf": ("表单已过期，请返回重试。", "The form has expired; go back and try again."),
    "back": ("返回", "Back"),
    "language": ("English", "中文"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    # accounts (service/web/accounts.py)
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "sign_in_help": (
        "请输入系统管理员为您开设的用户名和密码。连续输错多次后，账户将被暂时锁定。",
        "Enter the user name and password your administrator gave you. "
        "After repeated failures the account is locked for a while.",
    ),
    "sign_in_failed": (
        "用户名或密码不正确，或该账户因连续输错已被暂时锁定，请稍后再试。",
        "The user name or password is wrong, or the account is locked for a while after repeated failures; "
        "try again later.",
    ),
    "sign_out_everywhere": ("在所有设备上退出", "Sign out everywhere"),
    "admin": ("用户管理", "Users"),
    "home_admin": (
        "开设、停用用户，重置密码，查看和撤销访问令牌。",
        "Create and disable users, reset passwords, see and revoke API tokens.",
    ),
    "users": ("用户", "Users"),
    "no_users": ("还没有用户。", "No users yet."),
    "create_user": ("开设用户", "Create a user"),
    "password_help": ("至少 10 个字符。", "At least 10 characters."),
    "new_password": ("新密码", "New password"),
    "reset_password": ("重置密码", "Reset password"),
    "change_role": ("更改角色", "Change role"),
    "disable": ("停用", "Disable"),
    "enable": ("启用", "Enable"),
    "user_active": ("正常", "active"),
    "user_disabled": ("已停用", "disabled"),
    "user_locked": ("暂时锁定", "locked"),
    "last_sign_in": ("最近登录", "Last sign-in"),
    "api_tokens": ("访问令牌（接口用）", "API tokens"),
    "no_tokens": ("没有访问令牌。", "No API tokens."),
    "token_name": ("令牌名称", "Token name"),
    "token_owner": ("所属用户", "Belongs to"),
    "minted_by": ("创建人", "Minted by"),
    "expires": ("到期时间", "Expires"),
    "never": ("不到期", "never"),
    "revoke": ("撤销", "Revoke"),
    "done_user_created": ("已开设用户。", "User created."),
    "done_user_disable": ("已停用用户，其会话已全部结束。", "User disabled; all their sessions ended."),
    "done_user_enable": ("已重新启用用户。", "User enabled."),
    "done_user_password": ("已重置密码，该用户的会话已全部结束。", "Password reset; all the user's sessions ended."),
    "done_user_role": ("已更改角色。", "Role changed."),
    "done_token_revoked": ("已撤销令牌。", "Token revoked."),
    # the audit records browser (service/web/audit_browser.py)
    "audit_records": ("审计记录", "Audit records"),
    "audit_record": ("审计记录", "Audit record"),
    "subject": ("对象", "Subject"),
    "action": ("操作", "Action"),
    "what": ("事项", "What"),
    "open": ("查看", "Open"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "export_xlsx": ("导出 Excel", "Export xlsx"),
    "no_records": ("没有符合条件的审计记录。", "No audit records match."),
    "input_summary": ("输入摘要", "Input summary"),
    "result_summary": ("结果摘要", "Result summary"),
    "chain_position": ("在审计链中的位置", "Position in the chain"),
    "previous_record": ("上一条记录", "Previous record"),
    "prev_hash": ("上一条的校验值", "Previous record's hash"),
    "hash_ok": ("本条校验值与内容相符。", "This record's hash matches its content."),
    "hash_bad": (
        "本条校验值与内容不符：记录已被改动！",
        "This record's hash does NOT match its content: it was edited!",
    ),
    "link_ok": ("与上一条记录衔接无误。", "It follows the previous record."),
    "link_bad": (
        "与上一条记录衔接不上：有记录被删除、插入或调换！",
        "It does NOT follow the previous record: records were removed, inserted or reordered!",
    ),
    "first_record": ("（链上第一条）", "(the first record)"),
    "chain_breaks_at": ("审计链在此处断开：", "The chain breaks here:"),
    "open_bad_record": ("查看出问题的记录", "Open the record where it breaks"),
    "versions": ("程序版本", "Software versions"),
    "whole_day_help": ("按北京时间整日筛选。", "Whole days, Beijing time."),
    "actor_help": ("用户名或令牌名的一部分。", "Part of a user or token name."),
    "any_action": ("（全部操作）", "(any action)"),
    "role_none": ("（未登录）", "(not signed in)"),
    "role_system": ("系统", "system"),
    # result totals (service/web/result_totals.py)
    "no_envelope": ("未给出", "not given"),
    "yuan": ("元", "yuan"),
    "totals_by_action": ("按处理方式合计", "Totals by action"),
    "lines_unit": ("个项目", "lines"),
    "totals_by_action_help": (
        "压减：按政策压减的金额（含只减不增封顶、按绩效拨付）；取消、不予纳入：这些项目的申报数；"
        "收回统筹：收回的资金；优先保障：用收回统筹资金安排的金额（项目数含标记为优先保障的项目）。",
        "Cut: amounts cut by the policies (caps and performance shares included); cancel, exclude: the requests "
        "of those lines; reclaim: the money reclaimed; protect: what the pool funded (lines flagged priority counted).",
    ),
    "reserve_and_pool": ("未安排财力与收回统筹资金", "Reserve and pool"),
    "reserve_envelope": ("未安排财力（财力可安排数中未安排的部分）", "Reserve (envelope not allocated)"),
    "reclaimed_total": ("收回统筹资金", "Reclaimed into the pool"),
    "from_pool": ("用收回统筹资金安排", "Allocated from the pool"),
    "reserve_pool": ("收回统筹资金结余", "Pool not allocated"),
    "reserve_help": (
        "财力可安排数按保障档次从第0档起依次安排，某一档不够时按比例分配，后面的档次不再安排；"
        "安排后剩下的是未安排财力。收回统筹资金来自各项目收回的资金，再用于弥补急需项目的缺口，剩下的是结余。",
        "The envelope funds tiers in order from tier 0; the first tier that does not fit shares what is left pro "
        "rata and later tiers get nothing; what remains is the reserve. The pool is the money reclaimed from lines; "
        "it funds the shortfalls of urgent lines, and what remains of it is the pool's reserve.",
    ),
    "over_envelope": ("本次建议数超过财力可安排数：", "The recommendations exceed the envelope by "),
    "over_envelope_help": (
        "为什么建议数可能超过财力可安排数：用收回统筹资金安排的金额不占财力可安排数，"
        "因此建议数合计 = 财力可安排数内安排的金额 + 用收回统筹资金安排的金额。",
        "Why the recommendations may exceed the envelope: what the pool funds is on top of the envelope, so "
        "the recommended total = what the envelope funds + what the pool funds.",
    ),
    "totals_by_department": ("按部门合计", "Totals by department"),
    "change_rate": ("变化率", "Change rate"),
    "totals_by_tier": ("按保障档次合计", "Totals by tier"),
    "lines_count": ("项目数", "Lines"),
    "no_tier": ("未分档", "no tier"),
    "result_lines": ("各项目测算结果", "Result by line"),
    "skip_to_main": ("跳到正文", "Skip to the content"),
    "navigation": ("主菜单", "Main menu"),
    "user_created_by": ("开设人", "Created by"),
    "colon": ("：", ": "),
    "diff_policy_added": ("新增政策：", "Policy added: "),
    "diff_policy_removed": ("删除政策：", "Policy removed: "),
    "diff_parameter": ("参数", "parameter "),
    "diff_precedence": ("优先顺序", "precedence"),
    "diff_rule_changed": (
        "有规则的条件或动作改变（见技术细节）",
        "a rule's condition or action changed (see the technical details)",
    ),
    # error pages: the service's codes in words (the service's own message is under 技术细节)
    "technical_details": ("技术细节（供系统管理员参考）", "Technical details"),
    "fields_with_problems": ("有问题的项：", "Fields with a problem: "),
    "err_status_401": ("请先登录。", "Please sign in."),
    "err_status_403": ("您的角色不能进行此操作。", "Your role may not do this."),
    "err_status_404": ("找不到该页面或记录。", "There is no such page or record."),
    "err_status_409": ("当前状态下不能进行此操作。", "This cannot be done in the current state."),
    "err_status_413": ("提交的内容太大。", "What was sent is too large."),
    "err_status_422": ("填写的内容有问题，请检查后重试。", "Something entered is not right; check and try again."),
    "err_status_429": ("操作太频繁，请稍后再试。", "Too many requests; try again shortly."),
    "err_status_500": (
        "系统内部出错，请联系系统管理员。",
        "Something failed inside the service; tell your administrator.",
    ),
    "err_status_503": ("数据库暂时无法访问，请稍后再试。", "The database is unreachable; try again shortly."),
    "err_code_same_person": (
        "审核人不能是上传或提交此版本的人（双人复核），请由另一位审核人员审核。",
        "Whoever uploaded or proposed this revision cannot approve it (maker-checker); another approver must.",
    ),
    "err_code_invalid_transition": (
        "此版本当前的状态不允许这一步操作。",
        "The revision's state does not allow this step.",
    ),
    "err_code_effective_years_overlap": (
        "启用年度与另一生效版本重叠：请停用该版本、缩小年度范围，或选择同时替换。",
        "The years overlap another active revision: retire it, narrow the years, or replace it.",
    ),
    "err_code_revision_exists": ("该版本已经存在。", "This revision exists already."),
    "err_code_own_account": (
        "不能更改或停用自己的账户，请由另一位系统管理员操作。",
        "You cannot change or disable your own account.",
    ),
    "err_code_user_exists": ("该用户名已被使用（不区分大小写）。", "That user name is taken (regardless of case)."),
    "err_code_user_disabled": ("该用户已停用。", "That user is disabled."),
    "err_code_token_exists": ("同名的访问令牌已存在。", "A token with that name exists."),
    "err_code_invalid_input": ("填写的内容有问题，请检查后重试。", "Something entered is not right."),
    "err_code_invalid_file": (
        "上传的文件有问题，请按技术细节修改后重新上传。",
        "The uploaded file has problems; fix them and upload again.",
    ),
    "err_code_invalid_number": ("请填写整数。", "Enter a whole number."),
    "err_code_invalid_date": ("请按 年-月-日 填写日期。", "Enter a date as YYYY-MM-DD."),
    "err_code_not_found": ("找不到该页面或记录。", "There is no such page or record."),
    "err_code_simulation_not_finished": ("模拟尚未完成。", "The simulation has not finished."),
    "err_code_simulation_failed": ("模拟失败。", "The simulation failed."),
    "run_source": ("测算（数据来源）", "Run (data source)"),
    "uploaded_data": ("上传的数据", "uploaded data"),
    "department_placeholder": ("部门名称或编号", "department name or id"),
    "department_ambiguous": ("有多个部门名称包含所填文字，请选择其一：", "Several departments match; pick one: "),
    "impact_requested": ("申报数", "Requested"),
    "impact_recommended": ("建议数", "Recommended"),
    "impact_cut": ("压减", "Cut"),
    "impact_reclaimed": ("收回统筹资金", "Reclaimed"),
    "impact_reserve": ("未安排财力与统筹结余", "Reserve"),
    "input_data": ("输入数据（原样）", "Input data (as recorded)"),
    # Downloads in the bureau's forms (service/web/exports.py): the result and decision pages, the home page.
    "download_budget_xlsx": ("下载测算结果（Excel）", "Download the result (Excel)"),
    "download_budget_pdf": ("下载编制说明（PDF）", "Download the budget document (PDF)"),
    "download_template": ("下载申报模板", "Download the import template"),
    "download_template_help": (
        "申报模板（Excel）含部门、项目、参数工作表、下拉选项、示例行和填表说明，填好后在“预算建议”页上传。",
        "The import template (Excel): sheets 部门, 项目 and 参数 with drop-down lists, an example row and "
        "instructions; fill it in and upload it on the Recommend page.",
    ),
    "money_unit": ("金额单位", "Unit"),
    # the maintainer's, approver's and analyst's pages (issue 15: service/web/maintainer.py, analyst.py, disclosure.py)
    "state_returned": ("已退回", "returned"),
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
    "err_choice": ("请从所列选项中选择", "choose from the options shown"),
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
    # budget drafts (service/web/drafts.py; its pages look up draft_<word> first, then the shared word)
    "drafts": ("编制方案", "Budget drafts"),
    "state_editing": ("编制中", "editing"),
    "state_submitted": ("待审核", "submitted"),
    "state_final": ("定稿", "final"),
    "draft_draft": ("编制方案", "Budget draft"),
    "draft_downloads": ("下载", "Downloads"),
    "draft_download_xlsx": ("下载编制方案（Excel）", "Download the draft (Excel)"),
    "draft_download_pdf": ("下载编制说明（PDF）", "Download the budget document (PDF)"),
    "draft_unit": ("金额单位", "Unit"),
    "draft_downloads_help": (
        "文件中注明哪些是规则测算的建议数、哪些是编制方案的定稿数，以及方案是否已定稿；"
        "偏离建议清单在 Excel 的“偏离建议”工作表和编制说明的“偏离建议情况”部分。",
        "The files say which figures are the recommendation and which the final amounts, and whether the "
        "draft is final; the deviation report is sheet 偏离建议 in Excel and the 偏离建议情况 section of the PDF.",
    ),
    "draft_new_draft": ("新建编制方案", "New budget draft"),
    "draft_new_draft_help": (
        "由一次已记录的测算结果（建议方案）生成编制方案；人工调整须说明原因，建议数本身不会改变。",
        "A draft is made from one recorded recommendation; every adjustment needs a reason, and the "
        "recommendation itself never changes.",
    ),
    "draft_decision_id": ("测算结果编号", "Recommendation id"),
    "draft_name": ("方案名称", "Name"),
    "draft_name_example": ("例如：2021年年初预算 第一稿", "e.g. 2021 budget, first draft"),
    "draft_create": ("生成编制方案", "Create the draft"),
    "draft_version": ("版本", "Version"),
    "draft_recommended_total": ("建议数合计", "Recommended total"),
    "draft_final_total": ("定稿数合计", "Final total"),
    "draft_envelope": ("财力可安排数", "Envelope"),
    "draft_over_envelope": ("超出财力可安排数", "Over the envelope by"),
    "draft_lines": ("项目明细", "Lines"),
    "draft_status": ("建议状态", "Recommendation status"),
    "draft_recommended": ("建议数（元）", "Recommended (yuan)"),
    "draft_final": ("定稿数（元）", "Final (yuan)"),
    "draft_difference": ("差额（元）", "Difference (yuan)"),
    "draft_reason": ("调整原因", "Reason"),
    "draft_reason_required": ("调整原因（必填）", "Reason (required)"),
    "draft_adjusted_by": ("调整人", "Adjusted by"),
    "draft_adjusted_at": ("调整时间", "Adjusted at"),
    "draft_adjust": ("人工调整", "Adjust"),
    "draft_amount": ("调整后金额（元）", "Final amount (yuan)"),
    "draft_policies": ("建议依据的政策", "Policies behind the recommendation"),
    "draft_deviations": ("偏离建议清单", "Deviation report"),
    "draft_no_deviations": ("定稿数与建议数一致，没有偏离。", "Every final amount equals the recommendation."),
    "draft_up": ("调增", "Up"),
    "draft_down": ("调减", "Down"),
    "draft_net": ("净额", "Net"),
    "draft_count": ("项数", "Lines"),
    "draft_by_department": ("按部门", "By department"),
    "draft_submit": ("提交审核", "Submit for approval"),
    "draft_approve": ("审核通过（定稿）", "Approve (final)"),
    "draft_comment": ("审核意见", "Comment"),
    "draft_comment_required": ("退回意见（必填）", "Why it is returned (required)"),
    "draft_new_version": ("生成新版本", "Make a new version"),
    "draft_new_version_help": (
        "定稿不可修改；如需调整，请生成新版本（带入本版的人工调整）。",
        "A final draft cannot change; make a new version (it carries this version's adjustments).",
    ),
    "draft_maker_checker": (
        "审核人员须与编制、调整、提交该方案的人员不同。",
        "The approver must be a different person from whoever made, adjusted or submitted the draft.",
    ),
    "draft_history": ("操作记录", "History"),
    "draft_compare": ("比较", "Compare"),
    "draft_compare_help": (
        "比较两个编制方案的定稿数，或两次测算结果的建议数：列出不同的项目和合计。",
        "Compare two drafts' final amounts, or two recommendations: the lines and totals that differ.",
    ),
    "draft_compare_drafts": ("两个编制方案", "Two drafts"),
    "draft_compare_recommendations": ("两次测算结果", "Two recommendations"),
    "draft_a": ("甲", "A"),
    "draft_b": ("乙", "B"),
    "draft_same": ("两者一致。", "They are the same."),
    "draft_reproduced": ("可由审计链复核重算，数字一致。", "Reproduced from the audit trail: the figures match."),
    "draft_not_reproduced": ("复核重算不一致：", "Does not reproduce:"),
    "draft_no_drafts": ("还没有编制方案。", "No drafts yet."),
    "draft_created_by": ("编制人", "Made by"),
    "draft_submitted_by": ("提交人", "Submitted by"),
    "draft_approved_by": ("审核人", "Approved by"),
    "draft_open": ("打开", "Open"),
    "draft_yuan": ("元", " yuan"),
    "draft_saved": ("已保存。", "Saved."),
}

# What each audit action is called (service/audit.py records them as codes).
ACTIONS: dict[str, tuple[str, str]] = {
    "recommendation": ("测算", "recommendation run"),
    "replay": ("复核重算", "replay"),
    "dataset.import": ("导入申报数据", "dataset import"),
    "ruleset.install": ("安装随附规则集", "ruleset installed"),
    "ruleset.draft": ("上传规则集版本（草稿）", "ruleset revision uploaded (draft)"),
    "ruleset.proposed": ("上传规则集版本并提交审核", "ruleset revision uploaded and proposed"),
    "ruleset.propose": ("提交审核", "ruleset proposed"),
    "ruleset.approve": ("审核通过", "ruleset approved"),
    "ruleset.return": ("退回", "ruleset returned"),
    "ruleset.activate": ("启用规则集版本", "ruleset activated"),
    "ruleset.retire": ("停用规则集版本", "ruleset retired"),
    "simulation.start": ("启动模拟", "simulation started"),
    "simulation.finish": ("模拟完成", "simulation finished"),
    "simulation.fail": ("模拟失败", "simulation failed"),
    "token.create": ("创建访问令牌", "token created"),
    "token.revoke": ("撤销访问令牌", "token revoked"),
    "user.create": ("开设用户", "user created"),
    "user.disable": ("停用用户", "user disabled"),
    "user.enable": ("启用用户", "user enabled"),
    "user.reset_password": ("重置密码", "password reset"),
    "user.role_change": ("更改角色", "role changed"),
    "user.sign_in": ("登录", "signed in"),
    "user.sign_in_failed": ("登录失败", "sign-in failed"),
    "user.lock": ("账户锁定", "account locked"),
    "user.sign_out": ("退出", "signed out"),
    "draft-create": ("生成编制方案", "draft created"),
    "draft-adjust": ("人工调整", "draft adjusted"),
    "draft-submit": ("编制方案提交审核", "draft submitted"),
    "draft-return": ("编制方案退回", "draft returned"),
    "draft-approve": ("编制方案审核通过（定稿）", "draft approved (final)"),
    "scenario.save": ("保存测算情景", "scenario saved"),
}

# The field names of audit inputs and results, as a person reads them.
FIELDS: dict[str, tuple[str, str]] = {
    "name": ("名称", "name"),
    "role": ("角色", "role"),
    "owner": ("所属用户", "belongs to"),
    "minted_by": ("创建人", "minted by"),
    "expires_at": ("到期时间", "expires"),
    "created": ("已创建", "created"),
    "revoked": ("已撤销", "revoked"),
    "disabled": ("已停用", "disabled"),
    "sessions_ended": ("结束的会话数", "sessions ended"),
    "before": ("原角色", "before"),
    "failures": ("连续失败次数", "failures in a row"),
    "locked_until": ("锁定至", "locked until"),
    "everywhere": ("所有设备", "everywhere"),
    "reason": ("理由", "reason"),
    "ruleset_id": ("规则集", "ruleset"),
    "revision": ("版本", "revision"),
    "state": ("状态", "state"),
    "warnings": ("警告数", "warnings"),
    "proposed_by": ("提交人", "proposed by"),
    "dataset_id": ("数据集编号", "dataset id"),
    "decision_id": ("测算编号", "run id"),
    "fiscal_year": ("预算年度", "fiscal year"),
    "envelope": ("财力可安排数", "envelope"),
    "ruleset": ("规则集", "ruleset"),
    "lines": ("项目行数", "lines"),
    "summary": ("汇总", "summary"),
    "departments": ("部门数", "departments"),
    "projects": ("项目数", "projects"),
    "source": ("来源", "source"),
    "digest": ("校验值", "digest"),
    "identical": ("复核结果一致", "identical"),
    "differences": ("差异", "differences"),
    "scenario": ("情景", "scenario"),
    "scenario_id": ("情景", "scenario"),
    "job_id": ("任务编号", "job id"),
    "error": ("错误", "error"),
    "from_year": ("起始年度", "from year"),
    "to_year": ("截止年度", "to year"),
    "replaces": ("替换的版本", "replaces"),
    "years": ("年度", "years"),
    "rows": ("行数", "rows"),
    "points": ("测算点数", "points"),
    "password": ("密码", "password"),
    "since": ("起始时间", "since"),
    "until": ("截止时间", "until"),
    "offset": ("页码", "page"),
    "file": ("文件", "file"),
    "files": ("文件", "files"),
    "body": ("提交的内容", "body"),
    # the disclosure records' fields (service/web/disclosure.py; the CSV's Chinese headers)
    "department_id": ("部门编码", "department id"),
    "budget_approved_on": ("预算批复日期", "budget approved on"),
    "targets_disclosed_on": ("绩效目标公开日期", "targets disclosed on"),
    "report_formed_on": ("自评报告形成日期", "report formed on"),
    "report_disclosed_on": ("自评报告公开日期", "report disclosed on"),
}
VALUE_WORDS: dict[str, tuple[str, str]] = {"true": ("是", "yes"), "false": ("否", "no"), "—": ("—", "—")}


def translate(lang: str, key: str) -> str:
    pair = T.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def when_text(value: Any, lang: str, zone: str = "Asia/Shanghai") -> str:
    """A stored moment (aware datetime, naive UTC, or ISO text) in ``zone``: 2026年11月29日 14:05 in Chinese."""
    if value is None or value == "":
        return ""
    moment: datetime
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    try:
        local = moment.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        local = moment.astimezone(ZoneInfo("Asia/Shanghai"))
    if lang == "en":
        return local.strftime("%Y-%m-%d %H:%M:%S")
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}"


def action_label(lang: str, action: str) -> str:
    pair = ACTIONS.get(action)
    if pair is None:  # a new action nobody named yet: its words, not its code
        return action.replace(".", " ").replace("_", " ")
    return pair[1] if lang == "en" else pair[0]


def field_label(lang: str, key: str) -> str:
    pair = FIELDS.get(key)
    if pair is None:
        return key.replace("_", " ")
    return pair[1] if lang == "en" else pair[0]


def value_text(lang: str, key: str, value: str, zone: str = "Asia/Shanghai") -> str:
    """A summarized value as a person reads it: roles, states, yes/no and moments in words."""
    if key.endswith("_at") or key.endswith("_until"):
        return when_text(value, lang, zone) or value
    if key == "role" or key == "before":
        return translate(lang, f"role_{value}") if f"role_{value}" in T else value
    if key == "state" and f"state_{value}" in T:
        return translate(lang, f"state_{value}")
    words = VALUE_WORDS.get(value)
    if words is not None:
        return words[1] if lang == "en" else words[0]
    return value


# The codes of results, rulesets and jobs as a person reads them (GLOSSARY.md): ``TERMS[group][code]``.
TERMS: dict[str, dict[str, tuple[str, str]]] = {
    "status": {
        "funded": ("全额安排", "funded"),
        "reduced": ("核减", "reduced"),
        "excluded": ("不予纳入", "excluded"),
        "cancelled": ("取消", "cancelled"),
    },
    "outcome": {
        "applied": ("已适用", "applied"),
        "superseded": ("被在先规则取代", "superseded"),
        "waived": ("保障类豁免", "waived"),
    },
    "action": {
        "cut": ("压减", "cut"),
        "cancel": ("取消", "cancel"),
        "exclude": ("不予纳入", "exclude"),
        "cap": ("只减不增封顶", "cap"),
        "reclaim": ("收回统筹", "reclaim"),
        "protect": ("优先保障", "protect"),
        "performance_share": ("按绩效拨付", "performance share"),
        "flag": ("标记", "flag"),
        "set_tier": ("确定保障档次", "set tier"),
        "allocate_from_pool": ("统筹资金安排", "from the pool"),
        "allocate": ("按档次安排", "allocation"),
    },
    "flag": {
        "improvement-required": ("督促整改", "improvement required"),
        "priority": ("优先保障", "priority"),
        "department-tilt": ("部门倾斜", "department tilt"),
        "possible-duplicate": ("疑似交叉重复", "possible duplicate"),
        "fragmented": ("碎片化", "fragmented"),
        "no-baseline": ("缺上年基数", "no baseline"),
        "no-department-score": ("缺部门整体评价得分", "no department score"),
        "no-target-review": ("未经目标评审", "no target review"),
        "protected-review": ("保障类项目须说明并整改", "protected: explain and improve"),
        "targets-disclosed-late": ("绩效目标公开滞后", "targets disclosed late"),
        "targets-not-disclosed": ("绩效目标未公开", "targets not disclosed"),
        "report-disclosed-late": ("自评报告公开滞后", "report disclosed late"),
        "report-not-disclosed": ("自评报告未公开", "report not disclosed"),
    },
    "kind": {
        "project": ("项目支出", "project"),
        "public_operating": ("公用经费", "public operating"),
        "three_public": ("“三公”经费", "three public"),
    },
    "protection": {
        "basic_livelihood": ("保基本民生", "basic livelihood"),
        "wages": ("保工资", "wages"),
        "operations": ("保运转", "operations"),
        "statutory": ("法定支出", "statutory"),
        "matching": ("上级配套", "matching"),
    },
    "subject": {
        "project_lines": ("项目支出", "project lines"),
        "departments": ("部门", "departments"),
    },
}


def term(group: str, code: Any, lang: str = "zh") -> str:
    """A code in words (``term('flag', 'priority')`` → 优先保障); combined actions joined with 、."""
    if code is None:
        return "—"
    if group == "tier":
        if lang == "en":
            return f"tier {code}"
        return "第0档（基本支出和保障类）" if code == 0 else f"第{code}档"
    text = str(code)
    if group == "action" and "+" in text:
        return ("、" if lang != "en" else " + ").join(term(group, part, lang) for part in text.split("+"))
    pair = TERMS.get(group, {}).get(text)
    if pair is None:
        return text.replace("_", " ").replace("-", " ")
    return pair[1] if lang == "en" else pair[0]


def error_words(lang: str, message: str, code: str | None, status: int) -> tuple[str, bool]:
    """What an error page says, and whether the service's own message must be shown under 技术细节."""
    if message in T:
        return translate(lang, message), False
    if lang == "en":
        return message, False
    for key in (f"err_code_{code}", f"err_status_{status}"):
        if key in T:
            return translate(lang, key), True
    return translate(lang, "err_title"), True


# The service's own actors (not people): named in words where a person reads who did something.
SERVICE_ACTORS: dict[str, tuple[str, str]] = {
    "console": ("服务器命令行", "server console"),
    "cli": ("服务器命令行", "server console"),
    "system": ("系统", "system"),
    "simulation-worker": ("模拟任务进程", "simulation worker"),
}


def who(name: str, lang: str = "zh") -> str:
    pair = SERVICE_ACTORS.get(name)
    if pair is None:
        return name
    return pair[1] if lang == "en" else pair[0]


# Where a dataset came from, when the service (not a file name) says so.
SOURCES: dict[str, tuple[str, str]] = {
    "request body": ("接口提交的数据", "sent over the API"),
    "": ("上传的数据", "uploaded data"),
}


def source_text(source: str | None, lang: str = "zh") -> str:
    pair = SOURCES.get(source or "")
    if pair is None:
        return str(source)
    return pair[1] if lang == "en" else pair[0]
