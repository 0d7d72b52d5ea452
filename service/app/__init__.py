"""The application layer: the use cases (recommend and record, datasets, rulesets and their life cycle,
simulations, accounts and tokens, budget drafts) that the HTTP API, the web pages and the command line
share. It imports neither FastAPI nor Starlette; it takes its dependencies (database, settings, engines)
explicitly and raises the errors of :mod:`service.app.errors`, which each adapter maps in one table.
"""
