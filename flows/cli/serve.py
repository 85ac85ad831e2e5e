"""`serve` (the nightly schedule) and `serve-model` (an OpenAI-compatible server of a policy)."""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.app import (
    PolicyOption,
    State,
    app,
    err,
)
from schemas.errors import HardforgeError


@app.command()
def serve(
    ctx: typer.Context,
    port: Annotated[
        int,
        typer.Option(help="Port of the local Prefect server (UI and API on 127.0.0.1) when PREFECT_API_URL is unset."),
    ] = 4200,
) -> None:
    """Schedule the nightly (config: nightly.cron) and run it when due: on the Prefect server of
    PREFECT_API_URL, else on a local one this command starts (its database under the data
    directory) and stops with it. Ctrl-C or SIGTERM stops both."""
    state: State = ctx.obj
    api = os.environ.get("PREFECT_API_URL")
    try:
        if api:
            _serve_nightly(state, api)
            return
        from flows.prefect_server import local_server

        log = Path(os.environ["PREFECT_HOME"]) / "server.log"
        err.print(f"serve: starting a local Prefect server on 127.0.0.1:{port} (log: {log})", highlight=False)
        with local_server(port, log) as api:
            from prefect.settings import PREFECT_API_URL, temporary_settings

            os.environ["PREFECT_API_URL"] = api  # for the flow runs the runner starts as processes
            with temporary_settings(updates={PREFECT_API_URL: api}):
                _serve_nightly(state, api)
    finally:  # whenever the signal came (starting, serving, stopping the server)
        err.print("serve: stopped; the schedule stays registered, and runs again when serve does", highlight=False)


def _serve_nightly(state: State, api: str) -> None:
    import asyncio

    from prefect.runner import Runner

    from flows.pipeline import nightly

    class StoppedBySigterm(Runner):
        """Prefect's runner, whose SIGTERM ends the process with 143 as every hardforge command's
        does (Prefect's own exits 0, which a supervisor reads as a clean finish)."""

        def handle_sigterm(self, *args, **kwargs) -> None:
            self.stop()
            sys.exit(143)

    deployment = nightly.to_deployment(
        name="nightly",
        cron=state.config.nightly.cron,
        parameters={"config": state.config.model_dump(mode="json")},
    )
    ui = api.removesuffix("/api")
    err.print(
        f"serve: nightly scheduled '{state.config.nightly.cron}' on {api} (UI: {ui}); polling for runs (Ctrl-C stops)",
        highlight=False,
    )
    # stopping the runner leaves a coroutine un-awaited (its warning is noise)
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
    runner = StoppedBySigterm(pause_on_shutdown=True)
    runner.add_deployment(deployment)
    asyncio.run(runner.start())  # what prefect.serve does, with this runner


@app.command("serve-model")
def serve_model(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (or --host).")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    policy: PolicyOption = None,
) -> None:
    """Serve a policy with vLLM's OpenAI-compatible server (for engine.backend = "openai"); Ctrl-C stops it."""
    from engines.bundled import resolve_model
    from rollouts.policies import resolve_policy

    state: State = ctx.obj
    python = Path(__file__).resolve().parents[2] / ".venv-vllm" / "bin" / "python"
    if not python.exists():
        raise HardforgeError("serve-model needs the vLLM environment: run `make setup` (it installs .venv-vllm).")
    chosen = resolve_policy(state.warehouse(), state.config, policy)
    model = resolve_model(chosen.model_path, state.config.models_dir)
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", str(state.config.engine.vllm_kvcache_gib)),
    }
    # the module rather than the `vllm` script: vllm-cpu's script looks up the version of "vllm"
    command = [
        str(python),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--host",
        host,
        "--port",
        str(port),
        "--seed",
        "0",
        "--served-model-name",
        chosen.name,
        "--max-model-len",
        "4096",
    ]
    if not (Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi")):
        command += ["--enforce-eager", "--dtype", "bfloat16"]
    err.print(
        f"serve-model: {chosen.name} at http://{host}:{port}/v1 (set engine.backend = 'openai', "
        f"engine.urls = ['http://{host}:{port}/v1'])",
        highlight=False,
    )
    os.execve(command[0], command, env)
