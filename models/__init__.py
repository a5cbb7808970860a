"""Stored records and value types. Imports nothing above this layer."""
