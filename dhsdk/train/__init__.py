"""Training scripts for the project's own models (torch needed; never imported at run time)."""
