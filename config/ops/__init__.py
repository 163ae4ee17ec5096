"""Operations: the request id's plumbing, /healthz, /readyz and the Prometheus metrics (docs/deploy.md)."""
