"""Runnable studies: `python -m experiments.<name>` writes tables (CSV + Markdown) and PNG figures
into results/<name>/."""
