"""Budget drafts over HTTP (编制方案): ``/v1/drafts`` and ``/v1/compare``; use cases in service/app/drafts.py."""
