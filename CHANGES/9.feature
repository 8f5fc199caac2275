New settings: `KICKSTART_BOOT_HOSTS` and `KICKSTART_TRUST_FORWARDED_HEADERS` (where boot configs
may point), and byte caps for every upstream read (`KICKSTART_MAX_*`). New sync option
`allow_empty`: a `mirror` sync that would remove every tree now fails unless it is set.
bzip2, lzma and uncompressed RPM payloads are read too.
