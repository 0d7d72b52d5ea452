"""The queries of each area (decisions, datasets, rulesets, simulations, tokens): SQL only, no rules.

The use cases in ``service/app/`` call them inside the transactions they open.
"""
