"""Provably offline: the suite runs in a network namespace with only loopback (scripts/offline.sh),
and the whole product (ingest, ask, eval, the chat) is exercised there by the other test files."""
import errno
import os
import socket
import subprocess

import pytest

from conftest import ROOT, is_loopback

in_netns = os.environ.get("NETNS_OFFLINE") == "1"


@pytest.mark.skipif(not in_netns, reason="run through scripts/offline.sh (make test does) to cut the network")
def test_outside_addresses_are_unreachable_here():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(2)
    import _socket

    # _socket's own connect_ex bypasses the in-process guard: this proves the namespace has no route out.
    code = _socket.socket.connect_ex(sock, ("1.1.1.1", 443))
    assert code in (errno.ENETUNREACH, errno.EHOSTUNREACH)


def test_loopback_still_works():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname(), timeout=2)
    client.close()
    server.close()


def test_guard_blocks_outside_connections_in_process(no_network_but_loopback):
    with pytest.raises(OSError, match="must stay offline"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    no_network_but_loopback.clear()  # this attempt was the test's own


@pytest.mark.parametrize("address, loopback", [
    (("127.0.0.1", 80), True), (("::1", 80, 0, 0), True), (("localhost", 1), True),
    (("10.0.0.1", 80), False), (("8.8.8.8", 53), False), ("/tmp/socket", True),
])
def test_is_loopback(address, loopback):
    assert is_loopback(address) is loopback


def test_telemetry_is_off_everywhere():
    import rag  # noqa: F401

    assert os.environ["ANONYMIZED_TELEMETRY"] == "False"
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.mark.parametrize("ci, uid, runs", [("true", "1000", False), ("", "0", False), ("", "1000", True)])
def test_offline_script_without_a_namespace_fails_in_ci_and_as_root(tmp_path, ci, uid, runs):
    """Only a local, unprivileged run may fall back to the network on; in CI or as root that is an error."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name, body in (("unshare", "exit 1"), ("id", f"echo {uid}")):  # no namespace possible; who we are
        (stubs / name).write_text(f"#!/bin/sh\n{body}\n")
        (stubs / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}", "CI": ci}
    run = subprocess.run([str(ROOT / "scripts" / "offline.sh"), "echo", "ran"], env=env, capture_output=True,
                         text=True, timeout=30)
    if runs:
        assert (run.returncode, run.stdout) == (0, "ran\n") and "running with the network on" in run.stderr
    else:
        assert (run.returncode, run.stdout) == (1, "")
        assert run.stderr.count("\n") == 1 and "cannot create a network namespace" in run.stderr, run.stderr
