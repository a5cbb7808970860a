"""Export and import of the whole record (versioned JSON), table by table."""
