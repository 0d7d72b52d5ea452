"""Ruleset revisions over HTTP: propose, check, diff, impact, approve, activate, retire; disclosure reviews."""
