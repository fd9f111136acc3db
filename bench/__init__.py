"""Benchmarks: realistic data at scale and server-side timings through the real app."""
