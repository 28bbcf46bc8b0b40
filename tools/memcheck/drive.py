#!/usr/bin/env python3
"""Runs one kiln program (under a memory checker) and drives it to its end.

Used by tools/memcheck.sh; can be run alone:

    drive.py NAME LOG -- COMMAND [ARGS...]

NAME says how to drive the program: `run` runs it to its end; the names of
the rt examples that serve for ever (rt_4, rt_8 to rt_12, rt_14) start it,
wait for the line it prints when it is ready, talk to it like the tests in
rt/tests/ do (fewer clients: the checkers are slow), and stop it with SIGINT
or SIGTERM. The program's arguments are added here (a free port, a temporary
trace file). Its standard output and error go to LOG.

Prints one line, `status: ok` or `status: <what went wrong>`, and exits 0 if
the program ended with status 0 and did what it should, 1 if not, 124 if it
did not end in time (it is then killed).
"""

import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# Under valgrind a program is 20 to 50 times slower; waits are generous.
STEP = float(os.environ.get("MEMCHECK_STEP_TIMEOUT", "120"))
TOTAL = float(os.environ.get("MEMCHECK_TIMEOUT", "900"))


class Failed(Exception):
    pass


# Every program started, killed (if still running) when the drive ends.
RUNNING = []


class Program:
    """The program as a child process; stdout and stderr lines are queued
    (and copied to the log)."""

    def __init__(self, cmd, log_path, env=None):
        RUNNING.append(self)
        self.log = open(log_path, "w", buffering=1, encoding="utf-8", errors="replace")
        self.log.write("$ " + " ".join(cmd) + "\n")
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        self.stdout = queue.Queue()
        self.stderr = queue.Queue()
        self.out_lines = []
        self.err_lines = []
        self.lock = threading.Lock()
        self.readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout, "out"), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr, "err"), daemon=True),
        ]
        for r in self.readers:
            r.start()

    def _read(self, pipe, q, which):
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", "replace")
            with self.lock:
                self.log.write(f"[{which}] {line}" if line.endswith("\n") else f"[{which}] {line}\n")
                (self.out_lines if which == "out" else self.err_lines).append(line)
            q.put(line)
        q.put(None)

    def line(self, q=None, timeout=STEP, what="a line"):
        q = self.stdout if q is None else q
        try:
            line = q.get(timeout=timeout)
        except queue.Empty:
            raise Failed(f"no {what} within {timeout:.0f} s") from None
        if line is None:
            q.put(None)
            raise Failed(f"output ended before {what}")
        return line

    def wait_stderr(self, text, timeout=STEP):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed(f"no line with {text!r} on stderr within {timeout:.0f} s")
            line = self.line(self.stderr, left, f"a stderr line with {text!r}")
            if text in line:
                return line

    def address(self):
        first = self.line(what="the 'listening on' line")
        if not first.startswith("listening on "):
            raise Failed(f"unexpected first line {first!r}")
        host, port = first[len("listening on "):].strip().rsplit(":", 1)
        return host, int(port)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=STEP):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failed(f"did not exit within {timeout:.0f} s") from None

    def rest_of_stdout(self, timeout=STEP):
        for r in self.readers:
            r.join(timeout)
        with self.lock:
            return self.out_lines

    def kill(self):
        """Stops the program if it still runs: SIGINT first (so that the
        checker still writes its report), SIGKILL to its process group 30 s
        later."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
                return
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def expect_stopped(p, sig):
    p.signal(sig)
    status = p.wait()
    lines = p.rest_of_stdout()
    if not lines or lines[-1] != "stopped\n":
        raise Failed(f"last line is not 'stopped': {lines[-1:]!r}")
    return status


def connect(addr):
    s = socket.create_connection(addr, timeout=STEP)
    s.settimeout(STEP)
    return s


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise Failed(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def read_to_end(s):
    buf = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return buf
        if not chunk:
            return buf
        buf += chunk


def check(cond, why):
    if not cond:
        raise Failed(why)


def in_threads(n, fn):
    errors = []

    def run(i):
        try:
            fn(i)
        except Exception as err:  # noqa: BLE001
            errors.append(f"client {i}: {err}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise Failed("; ".join(errors[:3]))


# --- one function per program that needs driving -------------------------

def drive_run(cmd, log):
    p = Program(cmd, log)
    return p, p.wait(TOTAL)


def drive_rt_4(cmd, log):
    p = Program(cmd, log)
    first = p.line(what="the first line")
    check(first.startswith("running"), f"unexpected first line {first!r}")
    return p, expect_stopped(p, signal.SIGINT)


def drive_rt_8(cmd, log):
    p = Program(cmd + ["127.0.0.1:0", "30"], log)
    addr = p.address()

    def client(i):
        with connect(addr) as s:
            msg = f"hello from client {i}\n".encode() * 50
            s.sendall(msg)
            check(read_exact(s, len(msg)) == msg, "wrong echo")

    in_threads(10, client)
    # Stopped with a connection open: served until the client closes it.
    s = connect(addr)
    s.sendall(b"one")
    check(read_exact(s, 3) == b"one", "wrong echo")
    p.signal(signal.SIGTERM)
    time.sleep(1.0)
    s.sendall(b"two")
    check(read_exact(s, 3) == b"two", "no echo after SIGTERM")
    s.close()
    status = p.wait()
    lines = p.rest_of_stdout()
    check(lines and lines[-1] == "stopped\n", f"last line {lines[-1:]!r}")
    return p, status


def drive_rt_9(cmd, log):
    p = Program(cmd + ["127.0.0.1:0"], log)
    addr = p.address()
    socks = [connect(addr) for _ in range(20)]
    for s in socks:
        answer = read_to_end(s)
        s.close()
        check(answer == b"127.0.0.1\n", f"answer {answer!r}")
    return p, expect_stopped(p, signal.SIGINT)


def drive_rt_10(cmd, log):
    p = Program(cmd + ["127.0.0.1:0"], log)
    addr = p.address()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(STEP)
        s.connect(addr)
        for seed, size in enumerate([0, 1, 5, 100, 1472, 9000, 60000, 17, 0, 4096]):
            data = bytes((i * 7 + seed * 13) % 251 for i in range(size))
            s.send(data)
            check(s.recv(65536) == data, f"echo of datagram {seed} differs")
    return p, expect_stopped(p, signal.SIGINT)


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def drive_rt_11(cmd, log):
    p = Program(cmd + ["127.0.0.1:0", "60"], log)
    addr = p.address()

    def call(s, args, expected):
        s.sendall(resp(*args))
        got = read_exact(s, len(expected))
        check(got == expected, f"{args!r}: got {got!r}, expected {expected!r}")

    keeper = connect(addr)
    call(keeper, [b"GET", b"k"], b"$-1\r\n")
    call(keeper, [b"SET", b"k", b"a"], b"+OK\r\n")
    call(keeper, [b"GET", b"k"], b"$1\r\na\r\n")
    call(keeper, [b"DEL", b"k"], b":1\r\n")
    call(keeper, [b"SET", b"bin", bytes(range(256))], b"+OK\r\n")
    call(keeper, [b"GET", b"bin"], b"$256\r\n" + bytes(range(256)) + b"\r\n")
    keeper.sendall(b"PING\r\n")
    check(read_exact(keeper, 7) == b"+PONG\r\n", "inline PING")

    def client(i):
        with connect(addr) as s:
            key = b"key%d" % i
            # Pipelined: 20 commands at once, answered in order.
            s.sendall(b"".join(resp(b"SET", key, b"%d" % j) for j in range(20)))
            check(read_exact(s, 5 * 20) == b"+OK\r\n" * 20, "pipelined SETs")
            call(s, [b"GET", key], b"$2\r\n19\r\n")

    in_threads(4, client)
    # A client closing mid-command, and garbage (a protocol error closes).
    partial = resp(b"SET", b"k", b"after")
    for cut in (1, 13, len(partial) - 1):
        s = connect(addr)
        s.sendall(partial[:cut])
        s.close()
    s = connect(addr)
    s.sendall(resp(b"PING") + b"*abc\r\n")
    expected = b"+PONG\r\n-ERR protocol error: invalid multibulk length\r\n"
    check(read_exact(s, len(expected)) == expected, "protocol error reply")
    check(read_to_end(s) == b"", "not closed after a protocol error")
    s.close()
    # SIGINT with connections open: the server closes them.
    partial = connect(addr)
    partial.sendall(b"*2\r\n$3\r\nGET")
    p.signal(signal.SIGINT)
    check(read_to_end(keeper) == b"", "idle connection not closed on SIGINT")
    check(read_to_end(partial) == b"", "partial connection not closed on SIGINT")
    keeper.close()
    partial.close()
    status = p.wait()
    lines = p.rest_of_stdout()
    check(lines and lines[-1] == "stopped\n", f"last line {lines[-1:]!r}")
    return p, status


def drive_rt_12(cmd, log):
    path = os.path.join(tempfile.mkdtemp(prefix="kiln-memcheck-"), "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
    env.pop("WATCHDOG_PID", None)
    p = Program(cmd, log, env)
    try:
        first = p.line(what="the first line")
        check(first.startswith("running under systemd"), f"unexpected first line {first!r}")
        got = []
        deadline = time.monotonic() + STEP
        sock.settimeout(1.0)
        while got.count("WATCHDOG=1") < 2:
            check(time.monotonic() < deadline, f"no 2 watchdog pings: {got!r}")
            try:
                got.append(sock.recv(4096).decode())
            except socket.timeout:
                pass
        status = expect_stopped(p, signal.SIGTERM)
        sock.settimeout(0.2)
        try:
            while True:
                got.append(sock.recv(4096).decode())
        except socket.timeout:
            pass
        sent = [d for d in got if d != "WATCHDOG=1"]
        check(sent == ["READY=1", "STATUS=working", "STOPPING=1"], f"notifications {got!r}")
        return p, status
    finally:
        sock.close()
        os.unlink(path)
        os.rmdir(os.path.dirname(path))


def drive_rt_13(cmd, log):
    directory = tempfile.mkdtemp(prefix="kiln-memcheck-")
    path = os.path.join(directory, "example.trace")
    try:
        p = Program(cmd + [path], log)
        status = p.wait(TOTAL)
        check(os.path.getsize(path) > 0, "empty trace file")
        return p, status
    finally:
        if os.path.exists(path):
            os.unlink(path)
        os.rmdir(directory)


def drive_rt_14(cmd, log):
    env = dict(os.environ)
    env.pop("RUST_LOG", None)
    p = Program(cmd + ["127.0.0.1:0"], log, env)
    addr = p.address()
    p.wait_stderr("serving metrics at")
    time.sleep(0.5)

    def request(text):
        with connect(addr) as s:
            s.sendall(text)
            return read_to_end(s)

    check(request(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 200 OK\r\n"), "GET /metrics")
    check(request(b"GET /other HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 404"), "GET /other")
    request(b"HELLO\r\n\r\n")
    p.wait_stderr("failed, stopping it")
    p.signal(signal.SIGUSR2)
    p.wait_stderr("kiln_rt::metrics: worker 1: ")
    return p, expect_stopped(p, signal.SIGINT)


DRIVERS = {
    "run": drive_run,
    "rt_4_process_signals": drive_rt_4,
    "rt_8_tcp_echo_server": drive_rt_8,
    "rt_9_my_ip": drive_rt_9,
    "rt_10_udp_echo": drive_rt_10,
    "rt_11_redis_lite": drive_rt_11,
    "rt_12_systemd": drive_rt_12,
    "rt_13_tracing": drive_rt_13,
    "rt_14_metrics": drive_rt_14,
}


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    name, log, cmd = sys.argv[1], sys.argv[2], sys.argv[4:]
    driver = DRIVERS.get(name, drive_run)
    result = {}

    def work():
        try:
            _, status = driver(cmd, log)
            result["status"] = "ok" if status == 0 else f"exit status {status}"
        except Failed as err:
            result["status"] = str(err)
        except Exception as err:  # noqa: BLE001
            result["status"] = f"driver error: {err!r}"

    t = threading.Thread(target=work, daemon=True)
    t.start()
    try:
        t.join(TOTAL)
        if t.is_alive():
            result["status"] = f"timeout: not done within {TOTAL:.0f} s, stopped"
            code = 124
        else:
            code = 0 if result["status"] == "ok" else 1
    finally:
        # A program left running (a failed drive) is stopped.
        for program in RUNNING:
            program.kill()
    print(f"status: {result['status']}")
    return code


if __name__ == "__main__":
    sys.exit(main())
