"""Simulations (情景模拟): what-if variants and parameter sweeps on a vectorized path, verified on durable-rules.

Entry points: :func:`service.simulation.runner.run_scenario` and the ``simulate`` command in
:mod:`service.simulation.command`. See docs/simulations.md.
"""
