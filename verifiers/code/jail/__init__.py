"""The jailed side of the code sandbox: files that run inside bubblewrap under Debian's Python
(stdlib only), bound read-only at /run/sbx. The host imports only ``plain`` from here."""
