"""Benchmarks for Purpose Catalog: they print figures, they assert nothing (see README.md).

    ./dev bench [--quick | --large] [--only engine,http,scale,workers]
"""
