"""Boot configuration rendering: .treeinfo, iPXE, GRUB2 and PXELINUX for a served tree.

Pure functions of a tree's metadata and its absolute URL. The content app builds
that URL from CONTENT_ORIGIN, or a host name the admin allows (KICKSTART_BOOT_HOSTS);
request headers alone never decide where a boot config points.
"""
