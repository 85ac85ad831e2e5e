"""Closing the clock of a sealed sandbox worker: its vDSO entry points become real system calls.

Linux answers ``clock_gettime``, ``gettimeofday``, ``time`` and ``getcpu`` (and, on new kernels,
``getrandom``) in the vDSO, code mapped into every process that reads the clock without entering
the kernel, so no seccomp filter ever sees those reads. Before a sealed worker forks anything, the
host (root) overwrites each vDSO entry point of the worker's process, through
``/proc/PID/mem``, with ``mov eax, NR; syscall; ret``: the same call, made for real. Every
process the worker forks inherits the patched pages, and its seccomp filter then decides (a
sealed program's refuses them all: ``jail_common.SEALED_TRAP``). The worker's own processes read
the clock as before, a little slower.

x86-64 only; anything else (another architecture, no /proc, not root) raises ``SealError`` with
why, and the worker runs with the system calls sealed but the vDSO open (``clock_sealed`` false).
"""

from __future__ import annotations

import os
import platform
import struct

# x86-64 system call numbers of the vDSO's functions (both spellings of each symbol)
X86_64_CALLS = {
    "clock_gettime": 228,
    "gettimeofday": 96,
    "time": 201,
    "clock_getres": 229,
    "getcpu": 309,
    "getrandom": 318,
}
_SHT_DYNSYM = 11
_PT_LOAD = 1


class SealError(RuntimeError):
    """Why a worker's clock could not be sealed."""


def vdso_range(pid: int) -> tuple[int, int]:
    try:
        with open(f"/proc/{pid}/maps") as maps:
            for line in maps:
                if line.rstrip().endswith("[vdso]"):
                    low, high = line.split()[0].split("-")
                    return int(low, 16), int(high, 16)
    except OSError as exc:
        raise SealError(f"cannot read the memory map of process {pid} ({exc.strerror})") from None
    raise SealError(f"process {pid} has no vDSO")


def entry_points(image: bytes) -> dict[str, int]:
    """Offsets (from the image's start) of the vDSO functions in ``X86_64_CALLS``, from its
    dynamic symbol table."""
    if image[:4] != b"\x7fELF" or image[4] != 2:
        raise SealError("the vDSO is not a 64-bit ELF image")
    (phoff,) = struct.unpack_from("<Q", image, 0x20)
    (shoff,) = struct.unpack_from("<Q", image, 0x28)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", image, 0x36)
    loads = [
        struct.unpack_from("<IIQQ", image, phoff + i * phentsize)[3]
        for i in range(phnum)
        if struct.unpack_from("<I", image, phoff + i * phentsize)[0] == _PT_LOAD
    ]
    base = min(loads) if loads else 0
    sections = [struct.unpack_from("<IIQQQQIIQQ", image, shoff + i * shentsize) for i in range(shnum)]
    found: dict[str, int] = {}
    for _, kind, _, _, offset, size, link, _, _, entsize in sections:
        if kind != _SHT_DYNSYM or not entsize:
            continue
        strings = sections[link][4]
        for at in range(offset, offset + size, entsize):
            name_at, _, _, _, value, _ = struct.unpack_from("<IBBHQQ", image, at)
            start = strings + name_at
            name = image[start : image.index(b"\0", start)].decode("ascii", "replace").removeprefix("__vdso_")
            if value and name in X86_64_CALLS:
                found[name] = value - base
    return found


def trampoline(number: int) -> bytes:
    """``mov eax, number; syscall; ret``: the vDSO function's arguments are already where the
    system call takes them (rdi, rsi, rdx), and its result (or -errno) comes back in rax."""
    return b"\xb8" + struct.pack("<I", number) + b"\x0f\x05\xc3"


def seal_vdso(pid: int) -> list[str]:
    """Turn every clock (and getrandom, getcpu) entry point of process ``pid``'s vDSO into a
    system call; the names patched. Raises ``SealError``."""
    if platform.machine() not in ("x86_64", "AMD64"):
        raise SealError(f"sealing the vDSO is implemented for x86-64 only, not {platform.machine()}")
    low, high = vdso_range(pid)
    try:
        fd = os.open(f"/proc/{pid}/mem", os.O_RDWR)
    except OSError as exc:
        raise SealError(f"cannot open the memory of process {pid} ({exc.strerror})") from None
    try:
        image = os.pread(fd, high - low, low)
        points = entry_points(image)
        if "clock_gettime" not in points:
            raise SealError("the vDSO exports no clock_gettime")
        for name, offset in points.items():
            code = trampoline(X86_64_CALLS[name])
            if os.pwrite(fd, code, low + offset) != len(code) or os.pread(fd, len(code), low + offset) != code:
                raise SealError(f"could not rewrite the vDSO's {name}")
    except OSError as exc:
        raise SealError(f"cannot rewrite the vDSO of process {pid} ({exc.strerror})") from None
    finally:
        os.close(fd)
    return sorted(points)


def descendant(root: int, inner_pid: int) -> int:
    """The host pid of the process under ``root`` whose pid in its own namespace is ``inner_pid``
    (a bubblewrap worker reports its pid as the jail sees it)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/status") as fh:
                nspid = next((line.split()[1:] for line in fh if line.startswith("NSpid:")), [])
        except OSError:
            nspid = []
        if nspid and int(nspid[-1]) == inner_pid and (pid != root or len(nspid) == 1):
            return pid
        todo.extend(children.get(pid, []))
    raise SealError(f"no process with pid {inner_pid} in its namespace under process {root}")
