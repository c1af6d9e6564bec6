"""Datasets: the standardized HODOR JSON, image ops, the workspace layout, training samples, the synthetic
workspace (raw-format conversion is hodor.convert)."""
