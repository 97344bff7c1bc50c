#!/usr/bin/env python3
"""Delay link for the NAT lab: two TAP devices joined by a user-space queue.

The kernel here has no `tc netem`, so a WAN link that must add latency is
built as  router wan0 (TAP) <-> this process <-> TAP on the pub bridge.
Each frame read from one TAP is written to the other after a fixed delay
per direction. Python's stdlib is enough (ioctl on /dev/net/tun).

Both TAPs are created in the namespace this process starts in; the lab then
moves the router-side TAP into the router namespace (the open fd keeps
working across the move). The TAPs are not persistent: when this process
exits they vanish, so a crashed lab cannot leave a half link behind.

Control on stdin, one command per line, each answered by one stdout line:
  delay <a_to_b_ms> <b_to_a_ms>   -> ok delay ...
  stats                           -> {"a_to_b": n, "b_to_a": n, "dropped": n}
EOF on stdin ends the process, which ties its life to the lab's owner.
"""

import argparse
import collections
import errno
import fcntl
import json
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
MAX_QUEUE = 20000  # frames per direction; beyond it the link tail-drops
MAX_FRAME = 65536


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    ifr = struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    return fd


class Direction:
    def __init__(self, src, dst, delay_s):
        self.src = src
        self.dst = dst
        self.delay = delay_s
        self.queue = collections.deque()
        self.last_due = 0.0
        self.forwarded = 0
        self.dropped = 0

    def pull(self, now):
        # Drain what the kernel has ready, bounded so one busy side cannot
        # starve the other.
        for _ in range(256):
            try:
                frame = os.read(self.src, MAX_FRAME)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EINTR):
                    return
                raise
            if not frame:
                return
            if len(self.queue) >= MAX_QUEUE:
                self.dropped += 1
                continue
            # FIFO even when the delay shrinks at run time: a link does not
            # reorder.
            due = max(now + self.delay, self.last_due)
            self.last_due = due
            self.queue.append((due, frame))

    def push(self, now):
        q = self.queue
        while q and q[0][0] <= now:
            _, frame = q.popleft()
            try:
                os.write(self.dst, frame)
                self.forwarded += 1
            except OSError:
                # A full or downed device loses the frame, like a wire would.
                self.dropped += 1

    def next_due(self):
        return self.queue[0][0] if self.queue else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tap-a", required=True)
    ap.add_argument("--tap-b", required=True)
    ap.add_argument("--a-to-b-ms", type=float, default=0.0)
    ap.add_argument("--b-to-a-ms", type=float, default=0.0)
    args = ap.parse_args()

    fa = open_tap(args.tap_a)
    fb = open_tap(args.tap_b)
    ab = Direction(fa, fb, args.a_to_b_ms / 1000.0)
    ba = Direction(fb, fa, args.b_to_a_ms / 1000.0)
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    pending = b""
    print("ready", flush=True)

    while True:
        now = time.monotonic()
        dues = [d for d in (ab.next_due(), ba.next_due()) if d is not None]
        timeout = max(0.0, min(dues) - now) if dues else None
        readable, _, _ = select.select([fa, fb, stdin], [], [], timeout)
        now = time.monotonic()
        if fa in readable:
            ab.pull(now)
        if fb in readable:
            ba.pull(now)
        if stdin in readable:
            try:
                chunk = os.read(stdin, 4096)
            except BlockingIOError:
                chunk = None  # spurious wake-up, not EOF
            if chunk == b"":
                return
            if chunk:
                pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                words = line.decode(errors="replace").split()
                if not words:
                    continue
                if words[0] == "delay" and len(words) == 3:
                    ab.delay = float(words[1]) / 1000.0
                    ba.delay = float(words[2]) / 1000.0
                    print("ok delay %s %s" % (words[1], words[2]), flush=True)
                elif words[0] == "stats":
                    print(json.dumps({
                        "a_to_b": ab.forwarded,
                        "b_to_a": ba.forwarded,
                        "dropped": ab.dropped + ba.dropped,
                    }), flush=True)
                else:
                    print("error unknown command", flush=True)
        ab.push(now)
        ba.push(now)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
