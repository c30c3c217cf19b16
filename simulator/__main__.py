"""Run the simulator until Ctrl-C.

`python -m simulator --port P [--host H] [--seed FILE] [--profile NAME]`; NAME is one of
`simulator.PROFILES` (default: `SimulatorConfig`'s own profile).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
import signal

from simulator import PROFILES, Simulator, SimulatorConfig, default_seed, load_seed
from simulator.config import LOOPBACK_HOSTS


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="UCWA 2.0 (Skype for Business) server simulator"
    )
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback only: 127.0.0.1, localhost or ::1"
    )
    parser.add_argument("--seed", type=Path, help="JSON seed file (format: simulator/seed.py)")
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        help="pool shape: trace (links as the reference's trace), lenient, or trace plus one knob",
    )
    args = parser.parse_args()
    if args.host not in LOOPBACK_HOSTS:
        parser.error(f"refusing to listen on {args.host}: the simulator binds loopback only")
    return args


async def _serve(args: argparse.Namespace) -> None:
    seed = load_seed(args.seed) if args.seed else default_seed()
    if args.profile is not None:
        config = SimulatorConfig.from_profile(args.profile, host=args.host, port=args.port)
    else:
        config = SimulatorConfig(host=args.host, port=args.port)
    sim = Simulator(config, seed)
    await sim.start()
    print(f"UCWA simulator on {sim.base_url}")
    print(f"  sign-in address: {sim.user.sign_in_address}")
    print(f"  password:        {sim.user.password}")
    print(f"  phone number:    {sim.user.phone_number}")
    print(f"  discovery URL:   {sim.discovery_url}")
    print(f"  profile:         {args.profile or sim.config.profile}")
    print(f"  control API:     {sim.base_url}/_sim/state")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def main() -> None:
    """Parse the arguments and serve until interrupted."""
    args = _arguments()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
