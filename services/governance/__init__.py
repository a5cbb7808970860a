"""Readiness and governance: severity proposed from customer impact, delegations of authority."""
