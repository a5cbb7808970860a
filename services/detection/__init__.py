"""Detection and triage: alerts in, normalised, correlated, muted for maintenance, triaged into incidents."""
