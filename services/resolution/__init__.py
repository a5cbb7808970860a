"""Fixing without making things worse: resolution checklists that gate risky steps, and the
structured record of each configuration change made under pressure."""
