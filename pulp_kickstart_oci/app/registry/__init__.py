"""The OCI distribution protocol: authentication, downloads and the reads a sync needs."""
