"""Figures over many incidents: metric definitions and their SQL, and history imported from other tools."""
