"""Run the simulator as a process: ``python -m tests.simulator --state-dir DIR [options]`` from the repository root.

It writes connection.json and simulator.json into the state dir, prints one line with its URLs and serves until
SIGTERM or SIGINT. The state dir is left in place: tests read it after the process ends.
"""

import argparse
import signal
import threading

from .config import SimulatorConfig
from .server import Simulator


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.simulator",
                                     description="Serve the simulated Defender API and Entra token service until SIGTERM.")
    parser.add_argument("--port", type=int, default=0, help="HTTPS port of the API and token service (0: any free)")
    parser.add_argument("--state-dir", required=True, help="where connection.json, simulator.json and ca.pem go")
    parser.add_argument("--admin-port", type=int, default=0, help="plain-HTTP admin API port (0: any free)")
    parser.add_argument("--clock-speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="extra simulated latency of every API call")
    parser.add_argument("--demo-fleet", action="store_true", help="seed the named demo machines")
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)
    config = SimulatorConfig(clock_speed=arguments.clock_speed, latency_ms=arguments.latency_ms)
    simulator = Simulator(config, arguments.state_dir, arguments.port, arguments.admin_port)
    stop_requested = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop_requested.set())
    if arguments.demo_fleet:
        simulator.defender.seed_demo()      # before start(): a client that sees connection.json sees the machines
    with simulator:
        print("MDE simulator: api %s admin %s state %s" % (simulator.base_url, simulator.admin_url, simulator.state_dir),
              flush=True)
        stop_requested.wait()


if __name__ == "__main__":
    main()
