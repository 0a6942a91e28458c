"""Pipelines that tie the stages together: offline lip-sync rendering (``lipsync``), and
the real-time ``Stream``/``Scheduler`` (DESIGN.md, "Real time")."""
