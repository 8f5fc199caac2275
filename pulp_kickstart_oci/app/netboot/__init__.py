"""The netboot file set: names, tree layout, architectures and content checks.

Nothing here talks to a registry or to the database, so every rule about what a
tree looks like lives in one place and is unit-tested on its own.
"""
