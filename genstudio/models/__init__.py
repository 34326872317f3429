"""Qt-free model families, one file each; each ends with ``register(ArchSpec(...))``."""
