"""Version of the package and of its bundled rule data."""

__version__ = "0.1.0"
#: bumped whenever bundled rule data (catalogs, profiles, tables) changes
DATA_VERSION = "2026.11.22"
