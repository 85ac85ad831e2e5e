"""Lean compile backends behind one interface, chosen by ``[lean] backend``:

- ``repl``: the Lean REPL through lean-interact, in a Lean project with pinned Lean and Mathlib
  versions (``lean.project`` = a local Lake project, else a temporary project requiring Mathlib at
  ``lean.lean_version``); needs elan's ``lake`` on the machine;
- ``kimina``: a Kimina Lean Server over HTTP (``POST {lean.kimina_url}/api/check``), which keeps
  REPLs warm per import header;
- ``auto``: Kimina when a URL is configured, else the REPL when ``lake`` is found, else none.

Where no toolchain is found every check says so in one sentence and nothing is recorded as
compiled. LeanDojo is not used: its ``Dojo`` opens tactic states of theorems in traced
repositories; it has no call that compiles an ad-hoc statement, which is what this check needs.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol

from schemas.config import LeanConfig
from verifiers.lean.classify import LeanResult, classify_kimina, classify_repl

NO_TOOLCHAIN = (
    "no Lean 4 toolchain: install elan and a Lean project with Mathlib (docs/lean.md), "
    "or set lean.kimina_url to a Kimina Lean Server"
)


class LeanBackend(Protocol):
    name: str

    def toolchain(self) -> str:
        """What compiles: e.g. "lean-interact repl, Lean v4.19.0", "kimina http://...", "none"."""

    def check(self, codes: list[str]) -> list[LeanResult]: ...

    def close(self) -> None: ...


class NoToolchain:
    name = "none"

    def __init__(self, reason: str = NO_TOOLCHAIN) -> None:
        self.reason = reason

    def toolchain(self) -> str:
        return "none"

    def check(self, codes: list[str]) -> list[LeanResult]:
        return [LeanResult("no toolchain", detail=self.reason) for _ in codes]

    def close(self) -> None:
        pass


class KiminaBackend:
    name = "kimina"

    def __init__(self, config: LeanConfig) -> None:
        self.config = config
        self.url = config.kimina_url.rstrip("/")

    def toolchain(self) -> str:
        return f"kimina {self.url}"

    def check(self, codes: list[str]) -> list[LeanResult]:
        if not codes:
            return []
        payload = {
            "snippets": [{"id": str(i), "code": code} for i, code in enumerate(codes)],
            "timeout": self.config.timeout_s,
            "debug": False,
            "reuse": True,
        }
        request = urllib.request.Request(
            f"{self.url}/api/check",
            data=json.dumps(payload).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                **(
                    {"Authorization": f"Bearer {os.environ['LEAN_SERVER_API_KEY']}"}
                    if os.environ.get("LEAN_SERVER_API_KEY")
                    else {}
                ),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_s * len(codes) + 60) as response:
                answer = json.loads(response.read())
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            why = f"the Kimina Lean Server at {self.url} did not answer ({exc})"
            return [LeanResult("crash", detail=why) for _ in codes]
        by_id = {str(r.get("id", r.get("custom_id"))): r for r in answer.get("results", [])}
        return [
            classify_kimina(by_id[str(i)])
            if str(i) in by_id
            else LeanResult("crash", detail="no result for this snippet")
            for i in range(len(codes))
        ]

    def close(self) -> None:
        pass


class ReplBackend:
    name = "repl"

    def __init__(self, config: LeanConfig) -> None:
        from lean_interact import AutoLeanServer, LeanREPLConfig, LocalProject, TempRequireProject

        self.config = config
        project = (
            LocalProject(directory=str(config.project))
            if config.project
            else TempRequireProject(lean_version=config.lean_version, require="mathlib")
        )
        self._repl_config = LeanREPLConfig(project=project, memory_hard_limit_mb=config.memory_mb)
        self._server = AutoLeanServer(self._repl_config)

    def toolchain(self) -> str:
        version = getattr(self._repl_config, "lean_version", None) or self.config.lean_version
        return f"lean-interact repl, Lean {version}"

    def check(self, codes: list[str]) -> list[LeanResult]:
        from lean_interact import Command
        from lean_interact.interface import LeanError

        results = []
        for code in codes:
            try:
                response = self._server.run(Command(cmd=code), timeout=self.config.timeout_s)
            except TimeoutError:
                results.append(LeanResult("timeout", detail=f"no answer in {self.config.timeout_s} s"))
                continue
            except (ConnectionAbortedError, RuntimeError, OSError) as exc:
                results.append(LeanResult("crash", detail=f"the Lean REPL failed: {exc}"))
                continue
            if isinstance(response, LeanError):
                results.append(classify_repl({"message": response.message}))
            else:
                results.append(classify_repl(response.model_dump(by_alias=True, exclude_none=True)))
        return results

    def close(self) -> None:
        self._server.kill()


def find_lake() -> str | None:
    return shutil.which("lake") or next((str(p) for p in [Path.home() / ".elan" / "bin" / "lake"] if p.exists()), None)


def toolchain_found(config: LeanConfig) -> bool:
    """Whether ``open_backend`` would give a compiler (without starting one)."""
    if config.backend == "none":
        return False
    if config.backend == "kimina" or (config.backend == "auto" and config.kimina_url):
        return bool(config.kimina_url)
    return find_lake() is not None


def open_backend(config: LeanConfig) -> LeanBackend:
    """The configured backend; ``auto`` falls back to NoToolchain with the reason."""
    choice = config.backend
    if choice == "none":
        return NoToolchain("Lean checks are off (lean.backend = 'none')")
    if choice == "kimina" or (choice == "auto" and config.kimina_url):
        if not config.kimina_url:
            return NoToolchain("lean.backend is 'kimina' but lean.kimina_url is not set")
        return KiminaBackend(config)
    if find_lake() is None:
        return NoToolchain()
    return ReplBackend(config)
