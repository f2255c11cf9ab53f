"""QA audit of recorded calls: the replay pipeline per call, pure rule checks, rows, report (docs/audit.md)."""
