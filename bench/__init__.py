"""Benchmarks: ``python -m bench.run`` (make bench / make bench-smoke) and the pure-engine bench_engine.py."""
