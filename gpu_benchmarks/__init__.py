"""Benchmarks against deface: accuracy on labelled stills, throughput on clips (see RESULTS.md)."""
