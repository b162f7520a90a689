"""HTTP routers: native ``/api/v1``, MLflow-compatible tracking, registry and artifacts."""

__all__: list[str] = []
