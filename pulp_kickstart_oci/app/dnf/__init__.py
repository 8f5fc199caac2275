"""dnf install trees: .treeinfo, repodata, and boot files inside RPMs."""
