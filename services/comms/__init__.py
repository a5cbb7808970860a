"""Communications: templates and channel renderings (templates.py), drafts, approval, sending and the
stakeholder log (service.py), regulatory clocks and escalation paths (regulatory.py). Qt-free."""
