"""Decisions (预算建议决定): recommendations, their records, and replays against the recorded ruleset."""
