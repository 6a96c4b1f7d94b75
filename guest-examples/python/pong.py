"""The `pong` half of ping-pong: answers every ball on `ping` with a ball on
`pong` until `ping` sends STOP. Plays with the Rust or the JavaScript `ping`:

    wasi-eventfd run --eventfd ping=0 --eventfd pong=0 --with pong.wasm ping.wasm [ROUNDS]
"""

from wit_world import exports

from eventfds import Usage, command, preopen

BALL = 1  # `ping` asks for one more round trip
STOP = 2  # `ping` is done


class Run(exports.Run):
    def run(self) -> None:
        with command("pong (Python)"):
            ping, pong = preopen("ping"), preopen("pong")
            rounds = 0
            # `read` blocks (suspends this guest) until `ping` writes.
            while (ball := ping.read()) != STOP:
                if ball != BALL:
                    raise Usage(f"unexpected value {ball} on `ping`")
                pong.write(BALL)
                rounds += 1
            print(f"pong (Python): answered {rounds} balls")
