"""Run folders: atomic writers, the run index, reports."""
