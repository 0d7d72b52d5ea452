"""The HTTP service (FastAPI): one package per capability (endpoints, schemas) over the use cases of service/app/."""

from service.api.app import app_from_environment, create_app

__all__ = ["app_from_environment", "create_app"]
