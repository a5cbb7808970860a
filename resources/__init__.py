"""Data shipped with Sitrep (severity matrix, role catalog, templates, styles). Not code."""

from importlib.resources import files


def resource_path(name: str):
    return files(__name__).joinpath(name)
