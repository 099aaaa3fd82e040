"""A concurrent.futures.Future whose condition is made only when someone waits on it or watches it.

A plain Future makes a threading.Condition (an RLock, a deque and five bound methods) at construction: about
ten objects the garbage collector tracks, per task. Most of a client's futures finish before anyone asks for
them, so a future here makes its condition at the first `with future._condition` (a wait, a callback,
concurrent.futures.wait) and a result that comes first is set without one. One lock shared by every future
orders the two: a completion that found no condition has finished the future before any condition exists,
so whoever makes one afterwards sees it finished.
"""

import concurrent.futures
import threading

_base = concurrent.futures._base
_PENDING, _RUNNING, _FINISHED = _base.PENDING, _base.RUNNING, _base.FINISHED
_CANCELLED, _CANCELLED_AND_NOTIFIED = _base.CANCELLED, _base.CANCELLED_AND_NOTIFIED
_ENDED = frozenset((_CANCELLED, _CANCELLED_AND_NOTIFIED, _FINISHED))
_CANCELLED_STATES = frozenset((_CANCELLED, _CANCELLED_AND_NOTIFIED))
_CONDITION_MADE = threading.Lock()


class LazyConditionFuture(concurrent.futures.Future):
    """concurrent.futures.Future with the same behaviour; Future's own methods reach the condition through the
    `_condition` property, which makes it (with the waiter and callback lists) on first use."""

    # Until the condition exists nobody can have appended to these: every append happens under it.
    _waiters = ()
    _done_callbacks = ()

    def __init__(self):  # noqa: D107 - Future.__init__ is left out on purpose: it makes the condition
        self._state = _PENDING
        self._result = None
        self._exception = None

    @property
    def _condition(self):
        condition = self.__dict__.get("_made_condition")
        if condition is None:
            with _CONDITION_MADE:
                condition = self.__dict__.get("_made_condition")
                if condition is None:
                    self._waiters = []
                    self._done_callbacks = []
                    condition = threading.Condition()
                    self.__dict__["_made_condition"] = condition
        return condition

    def set_result(self, result):
        if self._finish_without_condition(result, None):
            return
        super().set_result(result)

    def set_exception(self, exception):
        if self._finish_without_condition(None, exception):
            return
        super().set_exception(exception)

    def _finish_without_condition(self, result, exception) -> bool:
        """Finishes the future and returns True if nobody made its condition yet (no waiter, no callback)."""
        if "_made_condition" in self.__dict__:
            return False
        with _CONDITION_MADE:
            if "_made_condition" in self.__dict__:
                return False
            ended = self._state in _ENDED
            if not ended:
                self._result = result
                self._exception = exception
                self._state = _FINISHED
        if ended:  # outside the lock: repr() makes the condition
            raise concurrent.futures.InvalidStateError(f"{self._state}: {self!r}")
        return True

    # Reading one attribute needs no lock; these are asked far more often than anything waits.
    def done(self):
        return self._state in _ENDED

    def cancelled(self):
        return self._state in _CANCELLED_STATES

    def running(self):
        return self._state == _RUNNING

    def result(self, timeout=None):
        # the state is set last, after the result: finished means the result is there (a raise goes the long way)
        if self._state == _FINISHED and self._exception is None:
            return self._result
        return super().result(timeout)

    def exception(self, timeout=None):
        if self._state == _FINISHED:
            return self._exception
        return super().exception(timeout)
