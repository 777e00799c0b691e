"""Reporting: episode traces (decoding, JSONL schema, timelines, width-depth pictures),
comparison tables with bootstrap intervals and paired tests, and accuracy-cost frontiers.

Nothing here knows about parse trees: it works on evaluation results and trace events."""
