"""The issue-15 pages without a browser: every page and POST admits its roles only, needs sign-in and CSRF,
and a what-if built from plain form fields becomes a valid scenario (limits enforced as the static checks)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI

from service.app import whatifs
from service.domain.policy import Parameter
from service.policyfiles import Catalog
from tests.web.signin import browser, csrf_of
from tests.web.test_web_pages import ROLES, SECRET, users  # noqa: F401 - fixtures, and the app's audit secret

A = Catalog.load().compile("wuding-county").revision
PAGES = {
    "/ui/rulesets/wuding-county/edit": {"maintainer"},
    f"/ui/rulesets/wuding-county/revisions/{A}/review": {"maintainer", "approver", "auditor", "compiler", "analyst"},
    "/ui/rulesets/wuding-county/history": {"maintainer", "approver", "auditor", "compiler", "analyst"},
    "/ui/whatifs": {"analyst"},
    "/ui/disclosure": {"compiler"},
}
POSTS = {
    "/ui/rulesets/wuding-county/edit": {"maintainer"},
    f"/ui/rulesets/wuding-county/revisions/{A}/review/approve": {"approver"},
    f"/ui/rulesets/wuding-county/revisions/{A}/review/return": {"approver"},
    f"/ui/rulesets/wuding-county/revisions/{A}/review/activate": {"approver"},
    f"/ui/rulesets/wuding-county/revisions/{A}/review/propose": {"maintainer"},
    "/ui/whatifs": {"analyst"},
    "/ui/whatifs/saved/none/run": {"analyst"},
    "/ui/disclosure": {"compiler"},
}


def test_pages_admit_their_roles_only(app: FastAPI, users: dict[str, str]) -> None:  # noqa: F811
    anonymous = browser(app)
    for path in PAGES:
        response = anonymous.get(path)
        assert response.status_code == 303 and "/ui/login" in response.headers["location"], path
    for role in ROLES:
        client = browser(app, users[role])
        for path, allowed in PAGES.items():
            response = client.get(path)
            expected = 200 if role in allowed else 403
            assert response.status_code == expected, (role, path, response.status_code)


def test_posts_refuse_other_roles_and_missing_csrf(app: FastAPI, users: dict[str, str]) -> None:  # noqa: F811
    for role in ROLES:
        client = browser(app, users[role])
        csrf = csrf_of(client.get("/ui/").text)
        for path, allowed in POSTS.items():
            response = client.post(path, data={"csrf": csrf, "reason": "x", "comment": "x"})
            if role in allowed:
                assert response.status_code not in (401, 403) and response.status_code < 500, (role, path)
                missing = client.post(path, data={"reason": "x"})
                assert missing.status_code == 403, (role, path)
            else:
                assert response.status_code == 403, (role, path, response.status_code)


def test_a_maintainer_cannot_approve_and_a_returned_comment_is_required(
    app: FastAPI,
    users: dict[str, str],  # noqa: F811
) -> None:
    maker = browser(app, users["maintainer"])
    form = maker.get("/ui/rulesets/wuding-county/edit")
    csrf = csrf_of(form.text)
    fields = {"csrf": csrf, "base": A, "reason": "测试", "p:cut-inefficient:cut_rate": "12.5", "submit": "propose"}
    fields.update(switched_on(form.text))  # the policies on in the form stay on
    created = maker.post("/ui/rulesets/wuding-county/edit", data=fields)
    assert created.status_code == 303, created.text
    review_url = created.headers["location"].split("?")[0]
    review = maker.get(review_url).text
    assert "压减比例 10% → 12.5%" in review and "停用" not in change_list(review)
    checker = browser(app, users["approver"])
    csrf = csrf_of(checker.get(review_url).text)
    empty = checker.post(f"{review_url}/return", data={"csrf": csrf, "comment": " "})
    assert empty.status_code == 422
    assert checker.post(f"{review_url}/return", data={"csrf": csrf, "comment": "比例请取整"}).status_code == 303
    page = maker.get(review_url).text
    assert "比例请取整" in page and 'data-state="returned"' in page


def switched_on(html: str) -> dict[str, str]:
    """The on/off boxes the form shows ticked, as a browser sends them."""
    return {name: "1" for name in re.findall(r'<input type="checkbox" name="(on:[a-z0-9-]+)"[^>]*\bchecked', html)}


def change_list(html: str) -> str:
    match = re.search(r'<ul class="diff" id="change-list">(.*?)</ul>', html, re.S)
    assert match, "no change list on the review page"
    return match.group(1)


def test_the_protected_kinds_are_boxes_to_tick(app: FastAPI, users: dict[str, str]) -> None:  # noqa: F811
    """A choice_list parameter (protect-essential's categories) is a box per kind, in the glossary's words;
    unticking one proposes a revision whose change reads in those words; an unknown kind is refused."""
    maker = browser(app, users["maintainer"])
    form = maker.get("/ui/rulesets/wuding-county/edit")
    assert form.status_code == 200
    boxes = re.findall(r'name="p:protect-essential:categories" id="[^"]+" value="([a-z_]+)"[^>]*checked', form.text)
    assert boxes == ["basic_livelihood", "wages", "operations", "statutory", "matching"]
    assert "保基本民生" in form.text and "上级配套" in form.text
    fields: dict[str, Any] = {
        "csrf": csrf_of(form.text),
        "base": A,
        "reason": "上级配套不再列入保障",
        "submit": "propose",
    }
    fields.update(switched_on(form.text))
    bad = {**fields, "p:protect-essential:categories": ["", "wages", "bonuses"]}
    refused = maker.post("/ui/rulesets/wuding-county/edit", data=bad)
    assert refused.status_code == 422 and "请从所列选项中选择" in refused.text
    fields["p:protect-essential:categories"] = ["", "basic_livelihood", "wages", "operations", "statutory"]
    created = maker.post("/ui/rulesets/wuding-county/edit", data=fields)
    assert created.status_code == 303, created.text
    changes = change_list(maker.get(created.headers["location"].split("?")[0]).text)
    assert "保基本民生、保工资、保运转、法定支出、上级配套 → 保基本民生、保工资、保运转、法定支出" in changes
    assert "matching" not in changes and "停用" not in changes


def _what(**changes: Any) -> whatifs.WhatIf:
    base: dict[str, Any] = {
        "name": "cut-15",
        "title": "压减15%",
        "ruleset": "wuding-county",
        "dataset_id": "d",
        "params": {},
        "disable": [],
        "envelope_percent": None,
        "score_shifts": {},
        "axes": [],
    }
    return whatifs.WhatIf(**{**base, **changes})


@pytest.fixture(scope="module")
def specs() -> dict[str, dict[str, Parameter]]:
    catalog = Catalog.load()
    return {pid: dict(p.parameters) for pid, p in catalog.policies.items()}


def test_what_if_limits_are_those_of_the_static_checks(specs: dict[str, dict[str, Parameter]]) -> None:
    def locs(what: whatifs.WhatIf) -> list[tuple[Any, ...]]:
        return [p.loc for p in whatifs.check(what, specs)]

    assert locs(_what(params={"cut-inefficient": {"cut_rate": Decimal("0.15")}})) == []
    assert locs(_what(params={"cut-inefficient": {"cut_rate": Decimal("1.5")}})) == [
        ("params", "cut-inefficient", "cut_rate")
    ]
    assert locs(_what(params={"reclaim-idle": {"min_years": 0}})) == [("params", "reclaim-idle", "min_years")]
    assert locs(_what()) == [("params",)]  # nothing changes
    assert locs(_what(name="Bad Name", envelope_percent=Decimal(5))) == [("name",)]
    assert locs(_what(envelope_percent=Decimal(-101))) == [("envelope_percent",)]
    assert locs(_what(score_shifts={"evaluation_score": Decimal(101)})) == [("score_shifts", "evaluation_score")]
    rate = whatifs.Axis("cut-inefficient.cut_rate", Decimal("0.05"), Decimal("1.2"), Decimal("0.05"))
    assert ("sweep", 0, "to") in locs(_what(axes=[rate]))
    many = whatifs.Axis("envelope.percent", Decimal(-100), Decimal(1000), Decimal("0.5"))
    assert locs(_what(axes=[many])) == [("sweep",)]  # 2,201 points: more than a page's 400
    years = whatifs.Axis("reclaim-idle.min_years", Decimal(1), Decimal(4), Decimal("0.5"))
    assert ("sweep", 0, "step") in locs(_what(axes=[years]))


def test_a_what_if_becomes_a_scenario_file(specs: dict[str, dict[str, Parameter]]) -> None:
    from service.simulation.scenario import Scenario

    what = _what(
        params={"cut-inefficient": {"cut_rate": "0.15"}},
        disable=["department-tilt"],
        envelope_percent=Decimal(-5),
        score_shifts={"evaluation_score": Decimal(-5)},
        axes=[whatifs.Axis("cut-inefficient.cut_rate", Decimal("0.05"), Decimal("0.25"), Decimal("0.05"))],
    )
    document = whatifs.scenario_document(what)
    scenario = Scenario.model_validate({**document, "dataset": {"generate": {"projects": 0}}})
    assert scenario.variants[0].params == {"cut-inefficient": {"cut_rate": "0.15"}}
    assert scenario.variants[0].disable == ["department-tilt"]
    assert scenario.sweeps[0].on == "what-if" and len(scenario.sweeps[0].points()) == 5
    text = whatifs.as_yaml(document)
    assert "dataset_id: d" in text and "Decimal" not in text


def test_the_what_if_form_reads_the_kinds_boxes(app: FastAPI, started: Any) -> None:
    """In the what-if form too, the protected kinds are boxes: unticked ones leave the list, an untouched
    list is no change, and a kind that is not offered is a problem at its field."""
    from starlette.datastructures import FormData

    from service.app import ruleset_forms
    from service.web.analyst import parse_form

    view = ruleset_forms.form_of(app.state.budget_rules.db, "wuding-county", A)
    key = "p:protect-essential:categories"
    on = [(f"on:{p.id}", "1") for p in view.policies if p.enabled]
    base = [*on, ("name", "kinds"), ("title", "保障类别"), ("dataset", "d")]
    what, problems = parse_form(FormData([*base, (key, ""), (key, "wages"), (key, "statutory")]), view, "zh")
    assert what.params == {"protect-essential": {"categories": ["wages", "statutory"]}} and key not in problems
    every = [(key, c) for c in ("", "basic_livelihood", "wages", "operations", "statutory", "matching")]
    what, problems = parse_form(FormData([*base, *every]), view, "zh")
    assert "protect-essential" not in what.params and key not in problems
    _, problems = parse_form(FormData([*base, (key, ""), (key, "bonuses")]), view, "zh")
    assert problems[key] == "请从所列选项中选择"
