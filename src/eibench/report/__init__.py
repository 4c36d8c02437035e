"""Reports: the paper's tables, plots, and a self-contained HTML report with a sample browser."""
