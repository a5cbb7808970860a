"""Reading and writing times and text at the edges: parsing, formatting, valid ranges, size limits."""
