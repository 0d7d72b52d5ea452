"""The durable-rules adapter under the conditions that crash careless use of the library."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

from service.demo import generate_request
from service.domain.facts import request_facts
from service.domain.records import parse_request
from service.engine.durable import DurableRulesMatcher
from service.engine.plain import PlainMatcher
from service.policyfiles import Catalog

RULESET = Catalog.load().compile("wuding-county")
REQUEST = parse_request(generate_request(300, seed=11))
FACTS = request_facts(REQUEST)
EXPECTED = PlainMatcher(RULESET).match(FACTS)


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def test_rulesets_dropped_without_close_are_freed_safely_even_when_gc_runs_mid_decision():
    old = gc.get_threshold()
    gc.set_threshold(1, 1, 1)  # collect at nearly every allocation: __del__ lands anywhere
    try:
        keep = DurableRulesMatcher(RULESET)
        for _ in range(60):
            dropped = DurableRulesMatcher(RULESET)
            assert dropped.match(FACTS[:20]) == EXPECTED[:20]
            del dropped  # no close(): the handle must be freed later, at a safe point
            assert keep.match(FACTS[:50]) == EXPECTED[:50]
    finally:
        gc.set_threshold(*old)
    keep.close()


def test_concurrent_threads_share_one_engine_without_anomalies():
    matcher = DurableRulesMatcher(RULESET)
    results: list[bool] = []

    def work() -> None:
        for _ in range(5):
            results.append(matcher.match(FACTS) == EXPECTED)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    matcher.close()
    assert results == [True] * 40


def test_memory_stays_flat_over_many_compiled_revisions():
    for _ in range(50):  # warm up allocator pools
        DurableRulesMatcher(RULESET).close()
    before = _rss_mb()
    for _ in range(1000):
        m = DurableRulesMatcher(RULESET)
        m.match(FACTS[:3])
        m.close()
    growth = _rss_mb() - before
    assert growth < 20, f"RSS grew {growth:.1f} MB over 1,000 compile/free cycles"


def test_a_line_that_matches_no_rule_does_not_crash_the_engine():
    """A fresh session that ran no action has an uninitialized context in the C engine; deleting it
    crashed the process (free(): invalid pointer). Runs in a subprocess so a crash fails the test."""
    import subprocess
    import sys

    script = (
        "from service.policyfiles import Catalog\n"
        "from service.engine.durable import DurableRulesMatcher\n"
        "from service.domain.disclosure import parse_disclosure_request, disclosure_facts\n"
        "m = DurableRulesMatcher(Catalog.load().compile('disclosure-compliance'))\n"
        "r = parse_disclosure_request({'fiscal_year': 2021, 'departments': [{'department_id': 'D1', 'name': 'a',"
        " 'budget_approved_on': '2021-02-01', 'targets_disclosed_on': '2021-02-21', 'report_formed_on': '2021-03-01',"
        " 'report_disclosed_on': '2021-03-21'}]})\n"
        "for _ in range(200):\n"
        "    assert m.match([disclosure_facts(d, 2021) for d in r.departments]) == [frozenset()]\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == "ok"


def test_lines_are_decided_in_batches_of_one_session_each_with_the_plain_answers():
    """The batch path (one session per BATCH lines) takes every batch of ordinary lines whole."""
    from service.engine.durable import BATCH

    matcher = DurableRulesMatcher(RULESET)
    try:
        for start in range(0, len(FACTS), BATCH):
            batch = FACTS[start : start + BATCH]
            assert matcher._match_batch(batch) == EXPECTED[start : start + BATCH]
        assert matcher.match(FACTS) == EXPECTED
    finally:
        matcher.close()


def test_a_batch_the_engine_does_not_take_whole_is_decided_again_line_by_line():
    """Two identical facts in one session: the engine takes the second for one already observed (what an
    identity-hash collision does, issue #376). The batch is refused and every line decided on its own."""
    matcher = DurableRulesMatcher(RULESET)
    original = matcher._message
    try:
        matcher._message = lambda facts, sid, n=0: original(facts, sid, 0)  # type: ignore[method-assign]
        assert matcher._match_batch(FACTS[:5]) is None
        assert matcher.match(FACTS[:5]) == EXPECTED[:5]
    finally:
        matcher._message = original  # type: ignore[method-assign]
        matcher.close()
