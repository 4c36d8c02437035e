"""Metrics: recall tables, confidence intervals, paired tests, agreement, coherence and
emotion-conditioning sensitivity."""
