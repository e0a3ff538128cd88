"""newsingest's pipeline: configuration, the Beam job that wires the transforms, and the CLI.

Kept import-light: importing ``pipeline`` does not import Apache Beam.
"""
