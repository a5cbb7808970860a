"""Dialogs the console opens: each one validates inline and calls one service."""
