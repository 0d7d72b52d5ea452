"""Simulation jobs over HTTP (模拟任务): start a scenario, watch its progress, fetch its result and report.

Each job runs in its own process (``python -m service.app.simulation_worker JOB_ID``) that writes its
progress, heartbeat and outputs to the database; the web worker never blocks on it. See
docs/simulations.md, "HTTP API".
"""
