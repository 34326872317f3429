"""Import shims that let pip-installed peers of the benchmarks load beside the CPU-only torch here."""
