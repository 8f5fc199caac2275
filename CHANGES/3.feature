Kickstart distributions serve every tree at `<base_path>/<version>/<arch>/` as an Anaconda-ready
tree: the files, a generated productmd `.treeinfo`, and `boot.ipxe`, `grub.cfg` and
`pxelinux.cfg/default` that boot the tree's kernel and initrd with `inst.stage2=<tree URL>`, the
distribution's `kernel_args` and, when set, `inst.ks=<kickstart_url>`. URLs are built from the
client's request. The distribution root has an iPXE menu (`boot.ipxe`) and a `trees.json` index.
HEAD and Range work on every file; content guards protect generated files too.
