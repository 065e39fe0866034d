# Shared pytest configuration for the benchmarks (pytest-benchmark); intentionally empty.
