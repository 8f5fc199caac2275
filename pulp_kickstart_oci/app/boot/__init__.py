"""Boot configuration rendering: .treeinfo, iPXE, GRUB2 and PXELINUX for a served tree.

Pure functions of a tree's metadata and URLs; the content app supplies the URLs
from the request so configs work behind whatever host name a client used.
"""
