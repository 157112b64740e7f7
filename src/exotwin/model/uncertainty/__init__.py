"""Parameter uncertainty: robustness of checks, global sensitivity, virtual cohorts."""
