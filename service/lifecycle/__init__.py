"""Ruleset revisions (规则集版本) and their life cycle: draft → proposed → approved → active → retired.

``revisions`` turns policy and ruleset files into an immutable, content-addressed revision (checked
the way ``budget-rules validate`` checks files) and compiles a stored revision back; ``years`` holds
the effective-year arithmetic. Storage, approval and hot swap live in ``service/api/rulesets`` and
``service/app/engines.py``.
"""
