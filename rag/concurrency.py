"""Taking turns on the model: a lock handed over in arrival order, and answer slots admitted in arrival order.

A llama.cpp model serves one call at a time (FairLock, which the ingest's batches share with the answers); a
model server with N slots serves N answers at once (Slots). Neither may starve the one asking first.
"""
from __future__ import annotations

import threading
from collections import deque


class FairLock:
    """A lock handed over in the order it was asked for, so a question waiting for the model is not starved.

    With a threading.Lock, an ingest that releases it between two batches takes it straight back before
    the waiting question wakes up; here release() hands it to the longest waiter.
    """

    def __init__(self):
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque = deque()  # a locked threading.Lock per waiting thread, first come first

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            if not blocking:
                return False
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(True, timeout):  # release() hands the lock over by releasing our waiter
            return True
        with self._mutex:
            if waiter in self._waiters:  # timed out before our turn
                self._waiters.remove(waiter)
                return False
        return True  # handed over just as we timed out

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # still held: now by the next in line
            else:
                self._held = False

    def locked(self) -> bool:
        return self._held

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class Slots:
    """At most n answers at once, admitted in arrival order (threading.Semaphore promises no order), so a
    question waits behind those asked before it, never behind an evaluation that keeps coming back.

    ``with slots: ...`` holds one; with n=1 and A holding it, B then C asking, B goes next even if A asks again.
    """

    def __init__(self, n: int):
        self.n, self.free, self.waiting = max(int(n), 1), max(int(n), 1), deque()
        self.changed = threading.Condition()

    def __enter__(self) -> "Slots":
        ticket = object()
        with self.changed:
            self.waiting.append(ticket)
            try:
                while self.waiting[0] is not ticket or not self.free:
                    self.changed.wait()
            except BaseException:  # interrupted while waiting: leave the line, or everyone behind would wait forever
                self.waiting.remove(ticket)
                self.changed.notify_all()
                raise
            self.waiting.popleft()
            self.free -= 1
            self.changed.notify_all()  # the next in line may take a second free slot
        return self

    def __exit__(self, *exc) -> None:
        with self.changed:
            self.free += 1
            self.changed.notify_all()
