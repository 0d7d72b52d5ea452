"""Audit endpoints: verify the chain, read its head."""
