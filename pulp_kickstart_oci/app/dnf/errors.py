class DnfError(Exception):
    """A dnf tree, its metadata or one of its packages is unusable; the message says which."""
