"""The HTTP service (FastAPI). One package per capability, each with endpoints/service/repository/schemas."""

from service.api.app import app_from_environment, create_app

__all__ = ["app_from_environment", "create_app"]
