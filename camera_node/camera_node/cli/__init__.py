"""The package's command-line entry points: ``camera_node``, ``cameras`` and ``snapshot``."""
