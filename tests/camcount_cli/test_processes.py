"""The demo's supervision of its worker and API, with real child processes."""

import signal
import sys
import time

from camcount_cli.processes import Supervised


def _check_until(child: Supervised, condition, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        child.check()
        time.sleep(0.05)


def test_a_crashing_child_is_reported_and_restarted_with_a_growing_delay(tmp_path) -> None:
    starts = tmp_path / "starts"
    said: list[str] = []
    # Appends a line per start, then fails.
    command = [sys.executable, "-c", f"open({str(starts)!r}, 'a').write('x\\n'); raise SystemExit(3)"]
    child = Supervised("the crasher", command, said.append, first_delay_s=0.2, max_delay_s=0.4)

    _check_until(child, lambda: starts.exists() and len(starts.read_text().splitlines()) >= 3)

    assert said[:2] == ["the crasher died (exit status 3); restarting in 0 s"] * 2
    assert child.delay_s == 0.4  # doubled, then capped
    child.terminate(grace_s=5)


def test_a_killed_child_is_named_by_its_signal_and_restarted() -> None:
    said: list[str] = []
    child = Supervised("the sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], said.append,
                       first_delay_s=0.1)
    first = child.process
    first.send_signal(signal.SIGKILL)
    _check_until(child, lambda: child.process is not first)

    assert said == ["the sleeper died (killed by SIGKILL); restarting in 0 s"]
    assert child.process.poll() is None  # running again
    child.terminate(grace_s=5)
    assert child.process.poll() == -signal.SIGTERM


def test_a_clean_exit_is_reported_and_left_alone() -> None:
    said: list[str] = []
    child = Supervised("the worker", [sys.executable, "-c", "pass"], said.append, first_delay_s=0.1)
    _check_until(child, lambda: said)
    first = child.process
    time.sleep(0.3)
    child.check()
    assert said == ["the worker stopped (exit status 0); not restarted"]
    assert child.process is first
