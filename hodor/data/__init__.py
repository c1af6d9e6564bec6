"""Datasets: raw-format readers, converters, the standardized HODOR JSON, the synthetic workspace."""
