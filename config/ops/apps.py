"""The ops app: connects the Celery signals that count tasks and the end-of-request clean-up of the request id."""

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "config.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from . import checks, signals  # noqa: F401  (system checks; Celery task signals)
        from .request_id import forget_request_id

        # After the response is sent (and Django has logged a 4xx/5xx with the id): the next code this thread
        # runs outside a request must not log under this request's id.
        request_finished.connect(forget_request_id, dispatch_uid="ops.forget_request_id")
