"""The catalogue of the bureau's words: codes as terms, Beijing time, error pages in Chinese."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from service.settings import Settings
from service.web.i18n import ACTIONS, T, error_words, field_label, term, when_text


def test_times_are_beijing_time_by_default_and_the_zone_is_a_setting() -> None:
    moment = datetime(2026, 11, 29, 22, 5, tzinfo=UTC)
    assert when_text(moment, "zh") == "2026年11月30日 06:05:00"  # the next day in Beijing
    assert when_text("2026-11-29T22:05:00.000000+00:00", "en") == "2026-11-30 06:05:00"
    assert when_text(moment.replace(tzinfo=None), "zh", "Europe/Berlin") == "2026年11月29日 23:05:00"
    assert when_text(None, "zh") == ""
    with pytest.raises(ValidationError, match="time zone"):
        Settings(timezone="Mars/Base")


def test_codes_become_glossary_terms() -> None:
    assert term("status", "reduced") == "核减" and term("status", "excluded") == "不予纳入"
    assert term("outcome", "superseded") == "被在先规则取代"
    assert term("flag", "improvement-required") == "督促整改"
    assert term("kind", "public_operating") == "公用经费"
    assert term("tier", 0) == "第0档（基本支出和保障类）" and term("tier", 2) == "第2档"
    assert term("action", "performance_share+flag") == "按绩效拨付、标记"
    assert term("tier", None) == "—"
    assert term("status", "reduced", "en") == "reduced"
    assert T["replay"][0] == "复核重算" and T["digest"][0] != "摘要" and T["requested"][0] == "申报数"
    assert T["role_approver"][0] == "审核人员" and T["role_admin"][0] == "系统管理员"
    assert all("." not in zh and "_" not in zh for zh, _ in ACTIONS.values())


def test_error_pages_speak_chinese_and_keep_the_service_words_as_details() -> None:
    words, technical = error_words("zh", "alice uploaded it; another token holder must approve", "same_person", 409)
    assert "双人复核" in words and technical
    words, technical = error_words("zh", "something new", "brand_new_code", 409)
    assert words == "当前状态下不能进行此操作。" and technical
    words, technical = error_words("en", "something new", "brand_new_code", 409)
    assert words == "something new" and not technical
    assert error_words("zh", "err_403", None, 403) == ("您的角色不能进行此操作。", False)
    assert field_label("zh", "password") == "密码" and field_label("zh", "fiscal_year") == "预算年度"
