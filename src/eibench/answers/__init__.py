"""Answering the benchmark: the generation stage over a split (any setting, CFSA included),
the request that `eibench run` builds, and moving answers in and out of the store."""
